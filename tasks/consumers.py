from __future__ import annotations

from prefect import get_run_logger, task

from pipeline.consumer_fleet import deploy_consumers
from pipeline.settings import Settings
from tasks.retry import TRANSIENT_RETRIES


@task(name="deploy-consumers", **TRANSIENT_RETRIES)
def deploy_consumers_task(cfg: Settings) -> list[dict]:
    rows = deploy_consumers(cfg)
    log = get_run_logger()
    for r in rows:
        log.info("consumer %s %s (pid %s, group %s active on %s)", r["consumer"], r["outcome"], r["pid"], r["group"], r["topic"])
    return rows
