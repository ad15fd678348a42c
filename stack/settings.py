"""The local stack's own settings: its state folder, its ports and its generated secrets.

Ports are chosen away from the engines' defaults so that a system PostgreSQL or Kafka on the same machine
does not clash; each is overridable as CDC_<NAME>_PORT. Secrets are generated once into the git-ignored
state folder (0600) so that no literal secret is ever committed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from pipeline.errors import ConfigError
from pipeline.paths import ROOT

#: below 32768 on purpose: Linux hands out 32768-60999 as ephemeral source ports, and a listener on a port in
#: that range fails to bind when some connection (e.g. the broker's own to its controller) happens to hold it
PORT_DEFAULTS = {
    "postgres": 25432,
    "pgbouncer": 26432,
    "api": 28000,  # the producer API (./run api)
    "kafka": 29092,
    "kafka_controller": 29093,
    "kafka_sasl": 29094,
    "connect": 28083,
    "flink": 28081,
    "sql_gateway": 28090,
    "flink_rpc": 26123,
}


def state_dir() -> Path:
    """Git-ignored folder for engine data, logs, pids, jars and generated local secrets."""
    return Path(os.environ.get("CDC_STATE_DIR", ROOT / ".state")).resolve()


def api_activity_file() -> Path:
    """Where the local producer API counts its accepted requests (read by database-autostop)."""
    return state_dir() / "api" / "activity.json"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number", fix=f"set {name} to an integer") from None


def local_ports() -> dict[str, int]:
    """Local ports, each overridable as CDC_<NAME>_PORT (e.g. CDC_POSTGRES_PORT)."""
    return {name: env_int(f"CDC_{name.upper()}_PORT", default) for name, default in PORT_DEFAULTS.items()}


#: the local Flink cluster's checkpoint interval. Exactly-once sinks make records visible when a checkpoint
#: commits, so it bounds the latency: measured p50 at 1,000 events/s 1.1 s at 2 s, 0.62 s at 1 s, 0.42 s at
#: 500 ms (docs/figures.md, "End to end"), at the price of more checkpoints while idle.
CHECKPOINT_INTERVAL_DEFAULT = "500ms"


def checkpoint_interval(environ=None) -> str:
    """CDC_CHECKPOINT_INTERVAL (e.g. 500ms, 2s; at least 100ms), read when the cluster starts."""
    import re

    raw = (os.environ if environ is None else environ).get("CDC_CHECKPOINT_INTERVAL", "").strip()
    value = raw or CHECKPOINT_INTERVAL_DEFAULT
    found = re.fullmatch(r"(\d+)(ms|s)", value)
    if not found or int(found.group(1)) * (1 if found.group(2) == "ms" else 1000) < 100:
        raise ConfigError(f"CDC_CHECKPOINT_INTERVAL={raw!r} is not a duration of at least 100ms",
                          fix="write it like 500ms or 2s; the Flink cluster reads it when it starts")
    return value


def write_secret_file(path: Path, content: str) -> Path:
    """Write a secret atomically with mode 0600 (folder 0700); unchanged content is not rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    if path.exists() and path.read_text() == content:
        return path
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.replace(tmp, path)
    return path


def generated_secret(name: str) -> SecretStr:
    """A secret generated once under the state folder's secrets/ (read back on later calls)."""
    path = state_dir() / "secrets" / name
    if not path.exists():
        write_secret_file(path, secrets.token_urlsafe(24))
    return SecretStr(path.read_text().strip())


def local_password() -> SecretStr:
    """The local database password: `CDC_DB_PASSWORD`, else generated once under the state folder."""
    if os.environ.get("CDC_DB_PASSWORD"):
        return SecretStr(os.environ["CDC_DB_PASSWORD"])
    return generated_secret("db-password")
