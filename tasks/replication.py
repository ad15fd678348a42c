from __future__ import annotations

from prefect import get_run_logger, task

from pipeline.replication import setup_replication
from pipeline.settings import Settings
from tasks.retry import TRANSIENT_RETRIES


@task(name="setup-replication", **TRANSIENT_RETRIES)
def setup_replication_task(cfg: Settings) -> dict:
    summary = setup_replication(cfg.database)
    get_run_logger().info("replication ready; changed: %s", ", ".join(summary["changed"]) or "nothing")
    return summary
