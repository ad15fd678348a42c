"""Register the capture connector on any `Connect`: Connect's validation, create-or-update, wait for RUNNING."""

from __future__ import annotations

from connectors.config import redacted
from pipeline.errors import ConnectorError
from pipeline.ports import Connect


def register_connector(connect: Connect, name: str, config: dict[str, str], timeout: float = 90.0) -> dict:
    errors = connect.validate(name, config)
    if errors:
        raise ConnectorError(f"Kafka Connect rejected the config of {name!r}: " + "; ".join(errors),
                             fix="correct the field(s) in connectors/config.py (or the variant's overrides)")
    outcome = connect.put_config(name, config)
    state = connect.wait_running(name, timeout=timeout)
    return {"connector": name, "outcome": outcome, "state": state.state, "tasks": [t.state for t in state.tasks],
            "config": redacted(config)}
