"""register-connectors: PUT the Debezium connector config through Connect's REST API, wait for RUNNING."""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.connectors import register_connector_task


@flow(name="register-connectors", log_prints=True)
def register_connectors(environment: str = "local") -> dict:
    cfg = settings_for(environment)
    result = register_connector_task(cfg)
    publish_summary("register-connectors", f"register-connectors ({environment})",
                    [(result["connector"], f"{result['outcome']}, {result['state']}, tasks {result['tasks']}")])
    return result


if __name__ == "__main__":
    main(register_connectors)
