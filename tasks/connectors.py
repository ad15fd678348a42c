from __future__ import annotations

from prefect import get_run_logger, task

from connectors.register import register_local_connector
from pipeline.settings import Settings
from tasks.retry import TRANSIENT_RETRIES


@task(name="register-local-connector", **TRANSIENT_RETRIES)
def register_local_connector_task(cfg: Settings) -> dict:
    result = register_local_connector(cfg)
    get_run_logger().info("connector %s %s: %s, tasks %s", result["connector"], result["outcome"],
                          result["state"], result["tasks"])
    return result
