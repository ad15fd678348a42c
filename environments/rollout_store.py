"""`RolloutStore` adapters: where the record of submitted routing jobs lives.

Locally a folder of JSON files under the state folder. For cloud environments the record must outlive
the worker machine, so it is kept in Prefect Variables (one per fingerprint), in the Prefect API the
flows already depend on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from pathlib import Path

from pipeline.errors import PipelineError, TransientError


class FileRolloutStore:
    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, fingerprint: str, record: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{fingerprint}.json.tmp"
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(self.folder / f"{fingerprint}.json")

    def load(self, fingerprint: str) -> dict | None:
        path = self.folder / f"{fingerprint}.json"
        return json.loads(path.read_text()) if path.exists() else None


class PrefectVariableRolloutStore:
    """One Prefect Variable per fingerprint, named `cdc_<environment>_rollout_<fingerprint>`.

    A Prefect Variable holds at most 5,000 characters, and a routing job's statements outgrow that with a
    few filters: a larger record is compressed (zlib, base64) and kept in parts `<name>_part<i>`, written
    before the head variable that names their count and checksum, so a save interrupted half-way leaves the
    previous record readable, never a torn one.
    """

    #: below Prefect's MAX_VARIABLE_VALUE_LENGTH (5,000, counted on the value's JSON text)
    PART = 4000

    def __init__(self, environment: str):
        self.prefix = f"cdc_{re.sub(r'[^a-z0-9_]', '_', environment.lower())}_rollout_"

    def _name(self, fingerprint: str) -> str:
        return self.prefix + re.sub(r"[^a-z0-9_]", "_", fingerprint.lower())

    def save(self, fingerprint: str, record: dict) -> None:
        name, text = self._name(fingerprint), json.dumps(record)
        if len(json.dumps(text)) <= self.PART:
            self._set(name, text)
            return
        packed = base64.b64encode(zlib.compress(text.encode(), 9)).decode()
        parts = [packed[i:i + self.PART] for i in range(0, len(packed), self.PART)]
        for i, part in enumerate(parts):
            self._set(f"{name}_part{i}", part)
        self._set(name, json.dumps({CHUNKED: len(parts), "sha256": hashlib.sha256(packed.encode()).hexdigest()}))

    def load(self, fingerprint: str) -> dict | None:
        name = self._name(fingerprint)
        value = self._get(name)
        if value is None:
            return None
        head = json.loads(value)
        if not (isinstance(head, dict) and CHUNKED in head):
            return head
        packed = "".join(self._get(f"{name}_part{i}") or "" for i in range(int(head[CHUNKED])))
        if hashlib.sha256(packed.encode()).hexdigest() != head.get("sha256"):
            raise PipelineError(f"the rollout record {name} in Prefect is incomplete (its parts do not match "
                                "their checksum)", fix="roll out again: the record is written anew")
        return json.loads(zlib.decompress(base64.b64decode(packed)))

    @staticmethod
    def _set(name: str, value: str) -> None:
        from prefect.variables import Variable

        try:
            Variable.set(name, value, overwrite=True)
        except Exception as err:  # the API is down: worth retrying, never silently lost
            raise TransientError(f"cannot save the rollout record in Prefect ({type(err).__name__})") from None

    @staticmethod
    def _get(name: str) -> str | None:
        from prefect.variables import Variable

        try:
            return Variable.get(name, default=None)
        except Exception as err:
            raise TransientError(f"cannot read the rollout record from Prefect ({type(err).__name__})") from None


#: the head variable of a record kept in parts
CHUNKED = "__parts__"
