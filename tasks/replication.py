from __future__ import annotations

from prefect import get_run_logger, task

from pipeline.errors import DatabaseError
from pipeline.replication import setup_replication
from tasks.env import Settings, environment
from tasks.retry import TRANSIENT_RETRIES


@task(name="setup-replication", **TRANSIENT_RETRIES)
def setup_replication_task(cfg: Settings) -> dict:
    with environment(cfg) as env:
        problems = env.infrastructure.replication_problems()
        if problems:
            raise DatabaseError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        summary = setup_replication(env.database, cfg.database.slot_name, cfg.database.publication)
    get_run_logger().info("replication ready; changed: %s", ", ".join(summary["changed"]) or "nothing")
    return summary
