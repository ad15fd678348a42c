"""The producer API's settings: where its database is (through the pooler), its limits, its activity file.

`local`: the stack's PgBouncer (`CDC_PGBOUNCER_PORT`, default 26432) in front of the local PostgreSQL, the
stack's generated password, activity in `.state/api/activity.json`. A cloud environment (the Lambda):
`CDC_API_DB_HOST` (the RDS Proxy endpoint; default `CDC_DB_HOST`), `CDC_DB_USER`, `CDC_DB_PASSWORD`,
optional `CDC_DB_PORT`, `CDC_DB_NAME`, `CDC_DB_SSLMODE` (default verify-full), `CDC_RDS_CA_BUNDLE`; its
activity is API Gateway's CloudWatch `Count`, so no file. Limits for both: `CDC_API_MAX_BODY_BYTES`
(default 262144), `CDC_API_POOL_MAX` (default 40 locally, 2 on Lambda: one request at a time per instance),
`CDC_API_POOL_TIMEOUT` seconds (default 5).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr

from pipeline.base import StrictModel
from pipeline.database_settings import DatabaseSettings
from pipeline.errors import ConfigError

DEFAULT_MAX_BODY_BYTES = 256 * 1024
RETRY_AFTER_SECONDS = 120


class ApiSettings(StrictModel):
    environment: str = "local"
    database: DatabaseSettings
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, gt=0)
    pool_min: int = Field(1, ge=0)
    pool_max: int = Field(40, ge=1)
    pool_timeout: float = Field(5.0, gt=0)
    retry_after: int = RETRY_AFTER_SECONDS
    activity_file: Path | None = None


def _number(environ, name: str, default, kind=int):
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number", fix=f"set {name} to a {kind.__name__}") from None


def load_api_settings(environment: str | None = None, environ=None) -> ApiSettings:
    environ = os.environ if environ is None else environ
    name = environment or environ.get("CDC_ENV", "local")
    limits = {"max_body_bytes": _number(environ, "CDC_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
              "pool_timeout": _number(environ, "CDC_API_POOL_TIMEOUT", 5.0, float)}
    if name == "local":
        from environments.settings import load_local_settings
        from stack.settings import local_ports, state_dir

        db = load_local_settings(environ).database.model_copy(update={"port": local_ports()["pgbouncer"]})
        return ApiSettings(environment=name, database=db, pool_max=_number(environ, "CDC_API_POOL_MAX", 40),
                           activity_file=state_dir() / "api" / "activity.json", **limits)
    missing = [v for v in ("CDC_DB_USER", "CDC_DB_PASSWORD") if not environ.get(v)]
    host = environ.get("CDC_API_DB_HOST") or environ.get("CDC_DB_HOST")
    if not host:
        missing.insert(0, "CDC_API_DB_HOST (or CDC_DB_HOST)")
    if missing:
        raise ConfigError(f"the producer API for {name!r} is missing {len(missing)} setting(s): {', '.join(missing)}",
                          fix="set them in the function's environment")
    db = DatabaseSettings(host=host, port=_number(environ, "CDC_DB_PORT", 5432), dbname=environ.get("CDC_DB_NAME", "cdc"),
                          user=environ["CDC_DB_USER"], password=SecretStr(environ["CDC_DB_PASSWORD"]),
                          sslmode=environ.get("CDC_DB_SSLMODE", "verify-full"),
                          sslrootcert=environ.get("CDC_RDS_CA_BUNDLE") or None)
    return ApiSettings(environment=name, database=db, pool_min=0, pool_max=_number(environ, "CDC_API_POOL_MAX", 2),
                       **limits)
