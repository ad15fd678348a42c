"""The `SchemaRegistry` port on Confluent Cloud Schema Registry (JSON Schema subjects).

`ensure_schema(subject, schema)`:
1. `GET /subjects/{s}/versions/latest`: when its schema (parsed) and type equal ours -> "unchanged";
2. `POST /compatibility/subjects/{s}/versions/latest?verbose=true`: not compatible -> `ConfigError` with
   the registry's messages (404 = no subject or version yet: nothing to be compatible with, fine);
3. `POST /subjects/{s}/versions` -> "registered". A 409 there is an incompatible schema too (decided on
   the HTTP status, not on `error_code`, which is 409 in older registries and 40901 in newer ones).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import quote

from pydantic import SecretStr

from environments.http import RestClient, one_line
from pipeline.errors import ConfigError, PipelineError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(PipelineError):
    """The registry refused a request (an incompatible or invalid schema is a ConfigError instead)."""


class ConfluentSchemaRegistry:
    def __init__(self, *, url: str, api_key: str, api_secret: SecretStr,
                 key_variable: str = "CDC_SCHEMA_REGISTRY_API_KEY", timeout: float = 30.0, transport=None,
                 sleep: Callable[[float], None] = time.sleep):
        self.http = RestClient(url, service="Confluent Cloud Schema Registry", auth=(api_key, api_secret),
                               key_variable=key_variable, credential="Schema Registry API key", timeout=timeout,
                               transport=transport, sleep=sleep,
                               headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE})

    def close(self) -> None:
        self.http.close()

    def latest(self, subject: str) -> dict | None:
        """The latest version of `subject` ({subject, version, id, schemaType?, schema}), or None."""
        resp = self.http.get(f"/subjects/{_seg(subject)}/versions/latest")
        if resp.status_code == 404:
            return None
        self.http.expect(resp, (200,), SchemaRegistryError, f"Schema Registry could not read subject {subject!r}")
        return self.http.json(resp, SchemaRegistryError, f"reading subject {subject!r}")

    def ensure_schema(self, subject: str, schema: dict) -> str:
        """Register `schema` (a JSON Schema as a dict) under `subject`: registered | unchanged."""
        latest = self.latest(subject)
        if latest is not None and _same(latest, schema):
            return "unchanged"
        body = {"schemaType": "JSON", "schema": json.dumps(schema, separators=(",", ":"))}

        resp = self.http.post(f"/compatibility/subjects/{_seg(subject)}/versions/latest",
                              params={"verbose": "true"}, json=body)
        if resp.status_code == 422:
            self.http.fail(resp, ConfigError, f"Schema Registry rejected the schema for {subject!r} as invalid")
        if resp.status_code != 404:  # 404 (40401/40402): nothing registered yet, nothing to be compatible with
            self.http.expect(resp, (200,), SchemaRegistryError,
                             f"Schema Registry could not check compatibility for {subject!r}")
            verdict = self.http.json(resp, SchemaRegistryError, f"checking compatibility for {subject!r}")
            if not verdict.get("is_compatible", False):
                messages = "; ".join(one_line(str(m)) for m in verdict.get("messages") or []) or "no details given"
                version = latest.get("version") if latest else "latest"
                raise ConfigError(f"the new schema for {subject!r} is incompatible with version {version}: "
                                  f"{self.http.scrub(messages)}",
                                  fix="make the change compatible with the subject's compatibility level, "
                                      "or register it under a new subject")

        resp = self.http.post(f"/subjects/{_seg(subject)}/versions", json=body)
        if resp.status_code == 409:
            self.http.fail(resp, ConfigError, f"Schema Registry refused the schema for {subject!r} as incompatible",
                           fix="make the change compatible with the subject's compatibility level")
        if resp.status_code == 422:
            self.http.fail(resp, ConfigError, f"Schema Registry rejected the schema for {subject!r} as invalid")
        self.http.expect(resp, (200,), SchemaRegistryError, f"Schema Registry did not register {subject!r}")
        return "registered"


def _same(latest: dict, schema: dict) -> bool:
    if (latest.get("schemaType") or "AVRO") != "JSON" or latest.get("references"):
        return False
    try:
        return json.loads(latest.get("schema") or "null") == schema
    except ValueError:
        return False


def _seg(value: str) -> str:
    return quote(str(value), safe="")
