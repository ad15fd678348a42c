"""Where the flows act: one environment setting selects every endpoint.

`local` endpoints are the engines started by `stack/` on loopback; ports are chosen away from the
defaults so that a system PostgreSQL or Kafka on the same machine does not clash. Every value can be
overridden with a `CDC_*` environment variable. Secrets are `SecretStr` and never printed.
"""

from __future__ import annotations

import os
from enum import Enum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr

from pipeline.base import StrictModel

ROOT = Path(__file__).resolve().parent.parent


class Environment(str, Enum):
    local = "local"
    dev = "dev"
    staging = "staging"
    prod = "prod"


def state_dir() -> Path:
    """Git-ignored folder for engine data, logs, pids, jars and generated local secrets."""
    return Path(os.environ.get("CDC_STATE_DIR", ROOT / ".state")).resolve()


class DatabaseSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = 55432
    dbname: str = "cdc"
    user: str = "cdc"
    password: SecretStr
    slot_name: str = "business_events_cdc_slot"
    publication: str = "business_events_publication"

    def conninfo(self, **overrides) -> dict:
        """Keyword arguments for psycopg.connect (kept as a dict so the password never lands in a DSN string)."""
        params = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "password": self.password.get_secret_value(),
            "connect_timeout": 5,
            "application_name": "cdc-pipeline",
        }
        params.update(overrides)
        return params


class Settings(StrictModel):
    environment: Environment = Environment.local
    database: DatabaseSettings
    kafka_bootstrap: str = "127.0.0.1:59092"
    connect_url: str = "http://127.0.0.1:58083"
    flink_rest_url: str = "http://127.0.0.1:58081"
    sql_gateway_url: str = "http://127.0.0.1:58090"
    raw_topic: str = "raw-business-events"
    raw_topic_partitions: int = 3


def local_password() -> SecretStr:
    """The local database password: `CDC_DB_PASSWORD`, else generated once under the state folder.

    Generated rather than written in the repository so that no literal secret is ever committed.
    """
    if os.environ.get("CDC_DB_PASSWORD"):
        return SecretStr(os.environ["CDC_DB_PASSWORD"])
    path = state_dir() / "secrets" / "db-password"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return SecretStr(path.read_text().strip())


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        from pipeline.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a port number", fix=f"set {name} to an integer") from None


def load_settings(environment: str | None = None) -> Settings:
    env = Environment(environment or os.environ.get("CDC_ENV", "local"))
    if env is not Environment.local:
        from pipeline.errors import ConfigError

        raise ConfigError(
            f"environment {env.value!r} targets Confluent Cloud and Aurora, which this build cannot reach yet",
            fix="run with environment=local",
        )
    ports = local_ports()
    db = DatabaseSettings(
        host=os.environ.get("CDC_DB_HOST", "127.0.0.1"),
        port=ports["postgres"],
        dbname=os.environ.get("CDC_DB_NAME", "cdc"),
        user=os.environ.get("CDC_DB_USER", "cdc"),
        password=local_password(),
    )
    return Settings(
        environment=env,
        database=db,
        kafka_bootstrap=f"127.0.0.1:{ports['kafka']}",
        connect_url=f"http://127.0.0.1:{ports['connect']}",
        flink_rest_url=f"http://127.0.0.1:{ports['flink']}",
        sql_gateway_url=f"http://127.0.0.1:{ports['sql_gateway']}",
    )


PORT_DEFAULTS = {
    "postgres": 55432,
    "kafka": 59092,
    "kafka_controller": 59093,
    "kafka_sasl": 59094,
    "connect": 58083,
    "flink": 58081,
    "sql_gateway": 58090,
    "flink_rpc": 56123,
}


def local_ports() -> dict[str, int]:
    """Local ports, each overridable as CDC_<NAME>_PORT (e.g. CDC_POSTGRES_PORT)."""
    return {name: _env_int(f"CDC_{name.upper()}_PORT", default) for name, default in PORT_DEFAULTS.items()}


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
