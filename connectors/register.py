"""Register the capture connector on any `Connect`: Connect's validation, create-or-update, wait for RUNNING."""

from __future__ import annotations

from connectors.config import redacted
from pipeline.errors import ConnectorError
from pipeline.ports import Connect, RolloutStore


def register_connector(connect: Connect, name: str, config: dict[str, str], *, store: RolloutStore | None = None,
                       timeout: float = 90.0) -> dict:
    """Validate, create-or-update, wait for RUNNING. Where Connect masks secrets, "unchanged" also needs the
    fingerprint of what we deployed last (kept in `store`): a rotated secret is redeployed, never skipped."""
    errors = connect.validate(name, config)
    if errors:
        raise ConnectorError(f"Kafka Connect rejected the config of {name!r}: " + "; ".join(errors),
                             fix="correct the field(s) in connectors/config.py (or the variant's overrides)")
    record_key = f"connector-{name}"
    previous = store.load(record_key) if store is not None and connect.MASKS_SECRETS else None
    outcome = connect.put_config(name, config, deployed_fingerprint=previous["fingerprint"] if previous else None)
    state = connect.wait_running(name, timeout=timeout)
    if store is not None and connect.MASKS_SECRETS and outcome != "unchanged":
        store.save(record_key, {"fingerprint": connect.fingerprint(name, config)})
    return {"connector": name, "outcome": outcome, "state": state.state, "tasks": [t.state for t in state.tasks],
            "config": redacted(config)}
