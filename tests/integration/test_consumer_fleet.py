"""deploy-consumers restarts a consumer that died; the smoke test names what a missing consumer did not do."""

from __future__ import annotations

import os
import signal

from consumers.output import read_processed
from filters.loader import load_pipeline
from pipeline.paths import FILTERS_FILE
from pipeline.smoke import run_smoke
from tests.integration.helpers import deploy


def test_dead_consumer_is_restarted_and_smoke_test_names_the_gap(pipeline_ready, env):
    cfg = pipeline_ready
    deploy(cfg, FILTERS_FILE)
    fleet = env.consumers
    assert {r["outcome"] for r in fleet.deploy()} <= {"started", "reused"}
    service = next(p for p in fleet.processes() if p.spec.name == "service")
    service.stop()

    result = run_smoke(env, load_pipeline(FILTERS_FILE), copies=2, timeout=25, settle=1)
    problems = result.problems()
    assert problems == [f"filtered-service-events (consumer service): missing "
                        f"{sorted(result.expected['filtered-service-events'].elements())}"]

    victim = next(p for p in fleet.processes() if p.spec.name == "car")
    os.kill(victim.pid(), signal.SIGKILL)
    rows = {r["consumer"]: r["outcome"] for r in fleet.deploy()}
    assert rows == {"loan": "reused", "loan-payment": "reused", "service": "started", "car": "restarted"}
    # the restarted consumers catch up: nothing was lost while they were down
    again = run_smoke(env, load_pipeline(FILTERS_FILE), copies=2, timeout=60)
    assert again.problems() == []
    late = {r.id for r in read_processed(fleet.processed_path()) if r.consumer == "service"}
    assert set(result.expected["filtered-service-events"]) <= late
