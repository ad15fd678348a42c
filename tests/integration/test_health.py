"""pipeline-health against the real local stack: a healthy pipeline reads all ok; a dead engine, a failed
connector task, a lost routing job and a dead consumer are each healed by one run, and what the routing job
had not committed is neither lost nor routed twice."""

from __future__ import annotations

import os
import signal
import uuid
from collections import Counter

import pytest

from connectors.config import LOCAL_CONNECTOR_NAME
from flows.pipeline_health import pipeline_health
from pipeline.business_events import Change, load_sample, row_from_event
from pipeline.errors import Unhealthy
from pipeline.paths import FILTERS_FILE
from stack.process import gone, pid_alive
from tests.integration.helpers import deploy


@pytest.fixture(scope="module")
def deployed(pipeline_ready, env):
    deploy(pipeline_ready, FILTERS_FILE)
    env.consumers.deploy()
    return pipeline_ready


def _states(result: dict) -> dict[str, str]:
    return {r["component"]: r["state"] for r in result["rows"]}


def test_a_healthy_pipeline_reads_ok_everywhere(deployed):
    result = pipeline_health(environment="local", heal=False)
    states = _states(result)
    assert set(states.values()) <= {"ok"}, states
    assert {"engine connect", f"connector {LOCAL_CONNECTOR_NAME}", "consumer car",
            "replication slot business_events_cdc_slot"} <= set(states)
    assert result["healed"] == []


def test_without_healing_a_dead_consumer_fails_the_run_with_one_line_naming_it(deployed, env):
    victim = next(p for p in env.consumers.processes() if p.spec.name == "car")
    pid = victim.pid()
    os.kill(pid, signal.SIGKILL)
    assert gone(pid, 30)
    with pytest.raises(Unhealthy) as caught:
        pipeline_health(environment="local", heal=False)
    assert "consumer car is not running" in str(caught.value)
    result = pipeline_health(environment="local", heal=True)
    assert "consumer car restarted" in result["healed"]
    assert _states(result)["consumer car"] == "ok"


def test_a_killed_connect_worker_is_started_again(deployed, stack):
    pid = stack.connect.pid()
    os.killpg(pid, signal.SIGKILL)
    assert gone(pid, 30)
    result = pipeline_health(environment="local", heal=True)
    assert any(h.startswith("engine connect started again") for h in result["healed"]), result["healed"]
    assert _states(result)[f"connector {LOCAL_CONNECTOR_NAME}"] == "ok"


def test_a_killed_jobmanager_starts_the_taskmanager_over_before_the_routing_job_is_restored(deployed, stack):
    """Without it the TaskManager would run the lost job's tasks beside the restored job's until its heartbeat
    to the dead JobManager timed out (stack/flink.py says why that matters)."""
    jm, tm = (next(e for e in stack.engines if e.name == n) for n in ("flink-jobmanager", "flink-taskmanager"))
    jm_pid, tm_pid = jm.pid(), tm.pid()
    os.killpg(jm_pid, signal.SIGKILL)
    assert gone(jm_pid, 30)
    result = pipeline_health(environment="local", heal=True)
    healed = result["healed"]
    order = [next((i for i, h in enumerate(healed) if h.startswith(p)), None) for p in (
        "engine flink-jobmanager started again", "engine flink-taskmanager started over", "routing job restored from")]
    assert None not in order and order == sorted(order), healed
    assert not pid_alive(tm_pid) and tm.pid() not in (None, tm_pid), (tm_pid, tm.pid())


def test_a_lost_routing_job_is_restored_from_its_checkpoint_and_routes_each_event_once(deployed, env):
    """The job is cancelled mid-stream (what a JobManager crash does to it, without the wait): the health run
    starts it from its newest retained checkpoint, so what it had read but not committed is routed once."""
    run = uuid.uuid4().hex[:8]
    base = load_sample("loan-created")
    changes = [Change(f"hl-{run}-{i}", "c", row_from_event(base, f"hl-{run}-{i}")) for i in range(400)]
    ids = {c.id for c in changes}
    watcher = env.kafka.watch("filtered-loan-created-events")
    try:
        for i in range(0, 200, 10):
            env.database.apply_changes(changes[i:i + 10])
        (job,) = env.routing.running()
        env.routing.cancel(job.id)
        for i in range(200, 400, 10):
            env.database.apply_changes(changes[i:i + 10])
        result = pipeline_health(environment="local", heal=True)
        assert any(h.startswith("routing job restored from") for h in result["healed"]), result["healed"]
        got = watcher.collect(ids, timeout=120)
        late = watcher.collect(ids, timeout=3, min_per_id=10**9)
    finally:
        watcher.close()
    counts = Counter({i: len(got.get(i, [])) + len(late.get(i, [])) for i in ids})
    assert sorted(i for i, n in counts.items() if n == 0) == []
    assert sorted(i for i, n in counts.items() if n > 1) == []
