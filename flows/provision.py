"""provision: the environment's servers up (local) or checked (cloud), raw-business-events, its schema."""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.provision import ensure_infrastructure, ensure_raw_topic, register_raw_schema


@flow(name="provision", log_prints=True)
def provision(environment: str = "local") -> dict:
    cfg = settings_for(environment)
    resources = ensure_infrastructure(cfg)
    topic = ensure_raw_topic(cfg)
    schema = register_raw_schema(cfg)
    rows = [(r["resource"], f"{r['outcome']} ({r['seconds']}s) {r['detail']}".strip()) for r in resources]
    rows += [(cfg.raw_topic, topic), (f"{cfg.raw_topic}-value schema", schema)]
    publish_summary("provision", f"provision ({environment})", rows)
    return {"resources": resources, "raw_topic": topic, "schema": schema}


if __name__ == "__main__":
    main(provision)
