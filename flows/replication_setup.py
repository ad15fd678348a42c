"""replication-setup: check the server for logical replication, then table, publication, identity, slot."""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.replication import setup_replication_task


@flow(name="replication-setup", log_prints=True)
def replication_setup(environment: str = "local") -> dict:
    cfg = settings_for(environment)
    summary = setup_replication_task(cfg)
    rows = [(k, v) for k, v in summary["settings"].items()] + [("changed", ", ".join(summary["changed"]) or "nothing")]
    publish_summary("replication-setup", f"replication-setup ({environment})", rows)
    return summary


if __name__ == "__main__":
    main(replication_setup)
