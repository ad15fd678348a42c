"""`RolloutStore` adapters: where the record of submitted routing jobs lives.

Locally a folder of JSON files under the state folder. For cloud environments the record must outlive
the worker machine, so it is kept in Prefect Variables (one per fingerprint), in the Prefect API the
flows already depend on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.errors import TransientError


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
    """One Prefect Variable per fingerprint, named `cdc-<environment>-rollout-<fingerprint>`."""

    def __init__(self, environment: str):
        self.prefix = f"cdc_{re.sub(r'[^a-z0-9_]', '_', environment.lower())}_rollout_"

    def _name(self, fingerprint: str) -> str:
        return self.prefix + re.sub(r"[^a-z0-9_]", "_", fingerprint.lower())

    def save(self, fingerprint: str, record: dict) -> None:
        from prefect.variables import Variable

        try:
            Variable.set(self._name(fingerprint), json.dumps(record), overwrite=True)
        except Exception as err:  # the API is down: worth retrying, never silently lost
            raise TransientError(f"cannot save the rollout record in Prefect ({type(err).__name__})") from None

    def load(self, fingerprint: str) -> dict | None:
        from prefect.variables import Variable

        try:
            value = Variable.get(self._name(fingerprint), default=None)
        except Exception as err:
            raise TransientError(f"cannot read the rollout record from Prefect ({type(err).__name__})") from None
        return None if value is None else json.loads(value)
