"""provision: bring the environment's engines up and create raw-business-events."""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.provision import ensure_raw_topic, start_local_stack


@flow(name="provision", log_prints=True)
def provision(environment: str = "local") -> dict:
    cfg = settings_for(environment)
    engines = start_local_stack(cfg)
    topic = ensure_raw_topic(cfg)
    rows = [(e["engine"], f"{e['outcome']} ({e['seconds']}s)") for e in engines] + [(cfg.raw_topic, topic)]
    publish_summary("provision", f"provision ({environment})", rows)
    return {"engines": engines, "raw_topic": topic}


if __name__ == "__main__":
    main(provision)
