"""deploy-consumers: the four consumers running as managed processes, each group active on its topic."""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.consumers import deploy_consumers_task


@flow(name="deploy-consumers", log_prints=True)
def deploy_consumers(environment: str = "local") -> list[dict]:
    cfg = settings_for(environment)
    rows = deploy_consumers_task(cfg)
    publish_summary("deploy-consumers", f"deploy-consumers ({environment})",
                    [(r["consumer"], f"{r['outcome']}, pid {r['pid']}, {r['group']} on {r['topic']}") for r in rows])
    return rows


if __name__ == "__main__":
    main(deploy_consumers)
