"""Register the local Debezium connector: secrets file, Connect validation, PUT, wait for RUNNING."""

from __future__ import annotations

import os

from connectors.config import LOCAL_CONNECTOR_NAME, PASSWORD_KEY, local_debezium_config
from connectors.connect_client import ConnectClient
from pipeline.errors import ConnectorError
from pipeline.settings import Settings, state_dir


def write_connect_secrets(cfg: Settings) -> str:
    """The properties file Connect's FileConfigProvider reads (0600, under the git-ignored state folder)."""
    path = state_dir() / "secrets" / "connect-secrets.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    content = f"{PASSWORD_KEY}={cfg.database.password.get_secret_value()}\n"
    if not path.exists() or path.read_text() != content:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        os.replace(tmp, path)
    return str(path)


def register_local_connector(cfg: Settings, name: str = LOCAL_CONNECTOR_NAME,
                             overrides: dict[str, str] | None = None, timeout: float = 90.0) -> dict:
    client = ConnectClient(cfg.connect_url)
    config = local_debezium_config(cfg, write_connect_secrets(cfg))
    config.update(overrides or {})
    errors = client.validate(name, config)
    if errors:
        raise ConnectorError(f"Kafka Connect rejected the config of {name!r}: " + "; ".join(errors),
                             fix=f"correct the field(s) in connectors/config.py or the overrides")
    outcome = client.put_config(name, config)
    status = client.wait_running(name, timeout=timeout)
    return {"connector": name, "outcome": outcome, "state": status["connector"]["state"],
            "tasks": [t["state"] for t in status["tasks"]]}
