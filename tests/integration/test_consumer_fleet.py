"""deploy-consumers restarts a consumer that died; the smoke test names what a missing consumer did not do."""

from __future__ import annotations

import os
import signal

from consumers.output import read_processed
from filters.loader import load_pipeline
from pipeline.consumer_fleet import deploy_consumers, fleet, processed_output
from pipeline.routing import FILTERS_FILE, local_job
from pipeline.smoke import run_smoke
from pipeline.topics import ensure_topic


def _ready(cfg):
    from tests.integration.test_rollout import deploy

    for route in local_job(cfg).routes:
        ensure_topic(cfg.kafka_bootstrap, route.output_topic, cfg.raw_topic_partitions)
    deploy(cfg, FILTERS_FILE)


def test_dead_consumer_is_restarted_and_smoke_test_names_the_gap(pipeline_ready):
    cfg = pipeline_ready
    _ready(cfg)
    assert {r["outcome"] for r in deploy_consumers(cfg)} <= {"started", "reused"}
    service = next(p for p in fleet(cfg) if p.spec.name == "service")
    service.stop()

    result = run_smoke(cfg, load_pipeline(FILTERS_FILE), processed_output(), copies=2, timeout=25, settle=1)
    problems = result.problems()
    assert problems == [f"filtered-service-events (consumer service): missing "
                        f"{sorted(result.expected['filtered-service-events'].elements())}"]

    victim = next(p for p in fleet(cfg) if p.spec.name == "car")
    os.kill(victim.pid(), signal.SIGKILL)
    rows = {r["consumer"]: r["outcome"] for r in deploy_consumers(cfg)}
    assert rows == {"loan": "reused", "loan-payment": "reused", "service": "started", "car": "restarted"}
    # the restarted consumers catch up: nothing was lost while they were down
    again = run_smoke(cfg, load_pipeline(FILTERS_FILE), processed_output(), copies=2, timeout=60)
    assert again.problems() == []
    late = {r.id for r in read_processed(processed_output()) if r.consumer == "service"}
    assert set(result.expected["filtered-service-events"]) <= late
