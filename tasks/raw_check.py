from __future__ import annotations

import time
import uuid

from prefect import get_run_logger, task

from pipeline.errors import PipelineError
from pipeline.events import TopicWatcher, insert_rows, load_sample, row_from_event, without_meta
from pipeline.settings import Settings


@task(name="raw-cdc-check")
def raw_cdc_check(cfg: Settings, sample: str = "loan-created", timeout: float = 60.0) -> dict:
    """Insert one sample event and wait for it in the raw topic; prints it as it arrives."""
    event_id = f"{sample}-{uuid.uuid4().hex[:12]}"
    row = row_from_event(load_sample(sample), event_id)
    watcher = TopicWatcher(cfg.kafka_bootstrap, cfg.raw_topic)
    try:
        t0 = time.monotonic()
        insert_rows(cfg.database, [row])
        got = watcher.collect({event_id}, timeout=timeout).get(event_id)
    finally:
        watcher.close()
    if not got:
        raise PipelineError(f"event {event_id} was committed to business_events but did not reach "
                            f"{cfg.raw_topic} within {timeout:.0f}s",
                            fix="check the connector status (GET /connectors/<name>/status) and the Connect log")
    record = without_meta(got[0])
    latency = time.monotonic() - t0
    get_run_logger().info("event %s arrived in %s after %.2fs: %s", event_id, cfg.raw_topic, latency, record)
    print(f"{cfg.raw_topic} <- {record}")
    return {"id": event_id, "seconds": round(latency, 2), "op": record.get("__op")}
