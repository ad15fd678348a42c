"""Chaos: each engine SIGKILLed mid-stream, healed by pipeline-health alone, and every event checked.

A round writes EVENTS changes (the four sample kinds, so every route is exercised) at about RATE per second.
A third of the way in the victim's process group is killed. pipeline-health then runs (healing) every few
seconds — as its schedule would, only more often — and nothing else is done by hand. The round passes when
health reads all ok, and every event reached exactly the filtered topics the filters say, exactly once
(read_committed, as the consumers read in the default delivery mode), within BOUND seconds.

The writer keeps writing while the victim is down: a write that fails (the database killed) is retried for
the rows that did not commit, so each change is written once. Out of scope: a full disk under the broker.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from filters.loader import load_pipeline
from flows.pipeline_health import pipeline_health
from pipeline.business_events import Change, load_sample, row_from_event
from pipeline.errors import PipelineError, Unhealthy
from pipeline.paths import FILTERS_FILE
from pipeline.smoke import expected_routing
from stack.process import gone
from tests.integration.chaos.conftest import ROUNDS
from tests.integration.helpers import deploy

pytestmark = pytest.mark.integration

EVENTS = int(os.environ.get("CDC_CHAOS_EVENTS", "3000"))
RATE = 300
ROUND_COUNT = int(os.environ.get("CDC_CHAOS_ROUNDS", "3"))
BOUND = 240.0  # seconds from the kill to every event checked
DOWNTIME = 5.0  # seconds the database is down in the postgres-stop case
KINDS = ("loan-created", "loan-payment-submitted", "car-service-done", "car-created")
VICTIMS = ("postgres", "kafka", "connect", "flink-jobmanager", "flink-taskmanager", "consumer", "postgres-stop")


@pytest.fixture(scope="module")
def deployed(pipeline_ready, env):
    deploy(pipeline_ready, FILTERS_FILE)
    env.consumers.deploy()
    _until_healthy(time.monotonic() + 120)
    return pipeline_ready


def _until_healthy(deadline: float) -> float | None:
    """Run pipeline-health (healing) until it reads all ok; the monotonic time it did, or None."""
    while time.monotonic() < deadline:
        try:
            pipeline_health(environment="local", heal=True)
            return time.monotonic()
        except (Unhealthy, PipelineError):
            time.sleep(3)
    return None


def _kill(victim: str, stack, env) -> None:
    if victim == "postgres-stop":
        # a clean stop (fast shutdown: clients disconnected, committed data and the slot on disk), then a
        # start DOWNTIME later, as the inactivity shutdown and start-on-demand do
        env.infrastructure.stop_database()
        time.sleep(DOWNTIME)  # the outage's length, not a wait for a condition
        env.infrastructure.start_database()
        return
    if victim == "consumer":
        pid = next(p for p in env.consumers.processes() if p.spec.name == "loan").pid()
        os.kill(pid, signal.SIGKILL)
    else:
        pid = next(e for e in stack.engines if e.name == victim).pid()
        for victim_pid in [pid, *_descendants(pid)]:  # the engine and anything it started
            try:
                os.kill(victim_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert gone(pid, 30), f"{victim} (pid {pid}) survived SIGKILL"


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (an engine restarted by pipeline-health is not a process-group leader)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Writer(threading.Thread):
    """Writes the changes in transactions of 10 at about RATE/s; a failed transaction is retried (after a
    pause) for the rows that did not commit."""

    def __init__(self, env, changes: list[Change]):
        super().__init__(daemon=True)
        self.env, self.changes, self.written, self.failure = env, changes, 0, None

    def run(self) -> None:
        try:
            for i in range(0, len(self.changes), 10):
                batch = self.changes[i:i + 10]
                started = time.monotonic()
                while True:
                    try:
                        self.env.database.apply_changes(batch)
                        break
                    except PipelineError:
                        time.sleep(0.5)
                        batch = self._not_committed(batch)
                        if not batch:
                            break
                self.written = i + 10
                time.sleep(max(0.0, 10 / RATE - (time.monotonic() - started)))
        except BaseException as err:  # noqa: BLE001 — surfaced by the test
            self.failure = err

    def _not_committed(self, batch: list[Change]) -> list[Change]:
        while True:
            try:
                rows = self.env.database.query("SELECT id FROM business_events WHERE id = ANY(%s)", ([c.id for c in batch],))
                done = {r[0] for r in rows}
                return [c for c in batch if c.id not in done]
            except PipelineError:
                time.sleep(0.5)


def _duplicate_detail(ids: list[str], got: dict, late: dict, killed_index: int) -> dict:
    """Where the copies of twice-routed events sit: which events (by write order, against the one written when
    the victim was killed) and the offsets of each copy; what tells a restore from an old checkpoint (copies
    far apart) from two jobs writing at once (copies interleaved)."""
    order = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    copies = [sorted((r["_partition"], r["_offset"]) for r in got.get(i, []) + late.get(i, [])) for i in ids]
    return {"ids": len(ids), "events": [order[0], order[-1]], "killed_at_event": killed_index,
            "first_copies": [min(c[0] for c in copies), max(c[0] for c in copies)],
            "second_copies": [min(c[1] for c in copies), max(c[1] for c in copies)]}


def _consumed(env, expected: dict[str, Counter], deadline: float) -> Counter:
    """(topic, id) -> times a consumer processed it, once every expected pair was processed or at the deadline."""
    want = {(t, i) for t, ids in expected.items() if env.consumers.consumer_for(t) != "none" for i in ids}
    counts: Counter = Counter()
    while True:
        counts = Counter((r.topic, r.id) for r in env.consumers.processed() if (r.topic, r.id) in want)
        if set(counts) >= want or time.monotonic() >= deadline:
            return Counter({k: counts.get(k, 0) for k in want})
        time.sleep(0.5)


@pytest.mark.parametrize("round_no", range(1, ROUND_COUNT + 1))
@pytest.mark.parametrize("victim", VICTIMS)
def test_killed_mid_stream_healed_by_pipeline_health_alone_loses_and_duplicates_nothing(
        victim, round_no, deployed, env, stack):
    run = f"chaos-{victim}-{round_no}-{uuid.uuid4().hex[:6]}"
    samples = [load_sample(k) for k in KINDS]
    changes = [Change(f"{run}-{i}", "c", row_from_event(samples[i % len(samples)], f"{run}-{i}")) for i in range(EVENTS)]
    expected = {t: c for t, c in expected_routing(load_pipeline(FILTERS_FILE), changes).items() if c}
    watchers = {t: env.kafka.watch(t) for t in expected}
    writer = Writer(env, changes)
    heal_seconds = None
    try:
        writer.start()
        while writer.written < EVENTS // 3 and writer.is_alive():
            time.sleep(0.05)
        killed_at, killed_index = time.monotonic(), writer.written
        _kill(victim, stack, env)
        healed_at = _until_healthy(killed_at + BOUND)
        heal_seconds = None if healed_at is None else healed_at - killed_at
        writer.join(BOUND)
        assert writer.failure is None, writer.failure
        assert not writer.is_alive(), f"the writer is stuck at {writer.written} of {EVENTS}"
        deadline = max(time.monotonic() + 5.0, killed_at + BOUND)
        got = {t: w.collect(set(expected[t]), timeout=deadline - time.monotonic()) for t, w in watchers.items()}
        # anything routed twice arrives close behind the first copy: read on a little
        late = {t: w.collect(set(expected[t]), timeout=3, min_per_id=10**9) for t, w in watchers.items()}
        consumed = _consumed(env, expected, max(time.monotonic() + 5.0, deadline))
    finally:
        for w in watchers.values():
            w.close()
    lost = dup = 0
    duplicates = {}
    for topic, want in expected.items():
        counts = Counter({i: len(got[topic].get(i, [])) + len(late[topic].get(i, [])) for i in want})
        lost += sum(1 for n in counts.values() if n == 0)
        dup += sum(n - 1 for n in counts.values() if n > 1)
        twice = [i for i, n in counts.items() if n > 1]
        if twice:
            duplicates[topic] = _duplicate_detail(twice, got[topic], late[topic], killed_index)
    consumer_lost = sum(1 for n in consumed.values() if n == 0)
    reprocessed = sum(n - 1 for n in consumed.values() if n > 1)
    ROUNDS.append({"victim": victim, "round": round_no, "events": EVENTS, "routed": sum(len(w) for w in expected.values()),
                   "lost": lost, "duplicated": dup, "consumer_lost": consumer_lost, "reprocessed": reprocessed,
                   "heal_seconds": None if heal_seconds is None else round(heal_seconds, 1),
                   **({"duplicates": duplicates} if duplicates else {})})
    assert heal_seconds is not None, f"pipeline-health did not read healthy within {BOUND:.0f}s of killing {victim}"
    assert (lost, dup) == (0, 0), (f"{victim}, round {round_no}: {lost} lost, {dup} duplicated in the filtered topics"
                                   + (f"; duplicates: {duplicates}" if duplicates else ""))
    # consumers are at-least-once (consumers/runtime.py): a crash may re-process what was not committed yet,
    # which is counted and reported; a consumer never skips an event
    assert consumer_lost == 0, f"{victim}, round {round_no}: {consumer_lost} events never processed by a consumer"
