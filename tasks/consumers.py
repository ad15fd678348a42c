from __future__ import annotations

from prefect import get_run_logger, task

from tasks.env import Settings, environment
from tasks.retry import TRANSIENT_RETRIES


@task(name="deploy-consumers", **TRANSIENT_RETRIES)
def deploy_consumers_task(cfg: Settings) -> list[dict]:
    with environment(cfg) as env:
        rows = env.consumers.deploy()
    log = get_run_logger()
    for r in rows:
        log.info("consumer %s %s (pid %s, group %s active on %s)", r["consumer"], r["outcome"], r["pid"], r["group"], r["topic"])
    return rows
