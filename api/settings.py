"""The producer API's settings: where its database is (through the pooler), its limits, its activity file,
and how it asks for a database start (`api.start_on_demand`).

`local`: the stack's PgBouncer (`CDC_PGBOUNCER_PORT`, default 26432) in front of the local PostgreSQL, the
stack's generated password, activity in `.state/api/activity.json`, start on demand by running the
database-autostart flow. A cloud environment (the Lambda): `CDC_API_DB_HOST` (the RDS Proxy endpoint; default
`CDC_DB_HOST`), `CDC_DB_USER`, `CDC_DB_PASSWORD` or `CDC_DB_SECRET_ARN` (read from Secrets Manager once per
Lambda instance), `CDC_AWS_REGION` and `CDC_AURORA_CLUSTER_ID` (to start the cluster on demand), optional
`CDC_AURORA_AUTOSTART_FUNCTION`, `CDC_AWS_ENDPOINT_URL`, `CDC_DB_PORT`, `CDC_DB_NAME`, `CDC_DB_SSLMODE` (default
verify-full), `CDC_RDS_CA_BUNDLE`; its activity is API Gateway's CloudWatch `Count`, so no file. For both:
`CDC_API_MAX_BODY_BYTES` (default 262144), `CDC_API_POOL_MAX` (default 40 locally, 2 on Lambda: one request
at a time per instance), `CDC_API_POOL_TIMEOUT` seconds (default 5), `CDC_API_START_WITH` (flow | function |
rds | none; default flow locally, function in the cloud when the function is set, else rds),
`CDC_API_START_COOLDOWN` seconds between two asks of one API process (default 60).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr

from environments.aws.credentials import AwsSettings
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
    #: how a start is asked for when the database cannot be reached (api.start_on_demand)
    start_with: str = "none"
    start_cooldown: float = Field(60.0, ge=0)
    #: local: where the database-autostart process keeps its lock and log
    start_state: Path | None = None
    #: cloud: the cluster to start, the auto-start function, the database secret
    aws: AwsSettings | None = None


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
              "pool_timeout": _number(environ, "CDC_API_POOL_TIMEOUT", 5.0, float),
              "start_cooldown": _number(environ, "CDC_API_START_COOLDOWN", 60.0, float)}
    if name == "local":
        from environments.settings import load_local_settings
        from stack.settings import api_activity_file, local_ports

        db = load_local_settings(environ).database.model_copy(update={"port": local_ports()["pgbouncer"]})
        return ApiSettings(environment=name, database=db, pool_max=_number(environ, "CDC_API_POOL_MAX", 40),
                           activity_file=api_activity_file(), start_with=_start_with(environ, "flow"),
                           start_state=api_activity_file().parent, **limits)
    secret_arn = environ.get("CDC_DB_SECRET_ARN") or None
    start_with = _start_with(environ, "function" if environ.get("CDC_AURORA_AUTOSTART_FUNCTION") else "rds")
    missing = [v for v in ("CDC_DB_USER",) if not environ.get(v)]
    host = environ.get("CDC_API_DB_HOST") or environ.get("CDC_DB_HOST")
    if not host:
        missing.insert(0, "CDC_API_DB_HOST (or CDC_DB_HOST)")
    if not environ.get("CDC_DB_PASSWORD") and not secret_arn:
        missing.append("CDC_DB_PASSWORD (or CDC_DB_SECRET_ARN)")
    needs_aws = secret_arn and not environ.get("CDC_DB_PASSWORD") or start_with in ("function", "rds")
    if needs_aws:
        missing += [v for v in ("CDC_AWS_REGION", "CDC_AURORA_CLUSTER_ID") if not environ.get(v)]
    if missing:
        raise ConfigError(f"the producer API for {name!r} is missing {len(missing)} setting(s): {', '.join(missing)}",
                          fix="set them in the function's environment")
    aws = None
    if needs_aws:
        aws = AwsSettings(region=environ["CDC_AWS_REGION"], aurora_cluster_id=environ["CDC_AURORA_CLUSTER_ID"],
                          endpoint_url=environ.get("CDC_AWS_ENDPOINT_URL") or None, db_secret_arn=secret_arn,
                          autostart_function=environ.get("CDC_AURORA_AUTOSTART_FUNCTION") or None)
    if environ.get("CDC_DB_PASSWORD"):
        password = SecretStr(environ["CDC_DB_PASSWORD"])
    else:  # once per Lambda instance (module import), never logged
        from environments.aws.aurora import AuroraCluster

        password = AuroraCluster.from_settings(aws).db_password()
    db = DatabaseSettings(host=host, port=_number(environ, "CDC_DB_PORT", 5432), dbname=environ.get("CDC_DB_NAME", "cdc"),
                          user=environ["CDC_DB_USER"], password=password,
                          sslmode=environ.get("CDC_DB_SSLMODE", "verify-full"),
                          sslrootcert=environ.get("CDC_RDS_CA_BUNDLE") or None)
    return ApiSettings(environment=name, database=db, pool_min=0, pool_max=_number(environ, "CDC_API_POOL_MAX", 2),
                       start_with=start_with, aws=aws, **limits)


def _start_with(environ, default: str) -> str:
    from api.start_on_demand import START_WITH

    value = (environ.get("CDC_API_START_WITH") or default).strip()
    if value not in START_WITH:
        raise ConfigError(f"CDC_API_START_WITH={value!r} is not one of {', '.join(START_WITH)}",
                          fix="flow (run database-autostart), function (the auto-start Lambda), rds "
                              "(StartDBCluster) or none")
    return value
