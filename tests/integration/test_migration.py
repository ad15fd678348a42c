"""migrate-connector on the real stack.

Events are written continuously while the connector is switched v2-debezium -> cdc-source-basic -> v2-debezium:
every database change reaches raw-business-events exactly once, in the shape of the variant that captured
it, and every raw record reaches exactly the topics that its variant's routing says, exactly once. A failure
injected at each step leaves a recoverable state, reported in one line.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from connectors.migration import MigrationError, migrate
from connectors.variants import get_variant, local_variant_for
from environments.factory import build
from environments.kafka import KafkaClients
from filters.evaluator import evaluate_event
from flows.migrate_connector import migrate_connector
from pipeline import rollout
from pipeline.business_events import CDC_FIELDS, COLUMNS, Change, load_sample, row_from_event
from pipeline.errors import TransientError
from pipeline.paths import FILTERS_FILE, ROOT
from pipeline.polling import holds_within
from pipeline.routing import routing_job
from pipeline.smoke import run_smoke
from tasks.migration import build_switch, routing_pipeline, shape_for
from tests.integration.helpers import deploy, wait_for

V2 = local_variant_for(get_variant("v2-debezium"))
BASIC = local_variant_for(get_variant("cdc-source-basic"))
SAMPLES = ["loan-created", "loan-payment-submitted", "car-created", "car-service-done"]


@pytest.fixture(scope="module")
def migrating(pipeline_ready, env):
    cfg = pipeline_ready
    deploy(cfg, FILTERS_FILE)
    env.consumers.deploy()
    yield cfg
    migrate_connector(environment="local", target="v2-debezium")  # whatever happened: the default variant again


class Writer(threading.Thread):
    """Inserts (and now and then updates) business events until stopped; remembers every committed change."""

    def __init__(self, env, prefix: str, per_second: float = 25.0):
        super().__init__(daemon=True)
        self.env, self.prefix, self.pause = env, prefix, 1.0 / per_second
        self.stop_flag = threading.Event()
        self.changes: list[Change] = []
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            i = 0
            while not self.stop_flag.is_set():
                sample = SAMPLES[i % len(SAMPLES)]
                event_id = f"{self.prefix}{i}"
                change = Change(event_id, "c", row_from_event(load_sample(sample), event_id))
                if i % 5 == 4:  # an update of an earlier row: routed as a create only under the basic variant
                    earlier = self.changes[-2]
                    change = Change(earlier.id, "u", dict(earlier.row, saved_date=f"{UPDATED_AT}{i % 60:02d}Z"))
                self.env.database.apply_changes([change])
                self.changes.append(change)
                i += 1
                time.sleep(self.pause)
        except Exception as err:  # surfaced by the test
            self.error = err


def _raw_records(cfg, prefix: str) -> list[dict]:
    return [r for r in KafkaClients(cfg.kafka).read_to_end(cfg.raw_topic) if str(r.get("id", "")).startswith(prefix)]


def _shape_of(record: dict) -> str:
    keys = set(record)
    if keys == set(COLUMNS):
        return BASIC.name
    if keys == set(COLUMNS) | set(CDC_FIELDS):
        return V2.name
    return f"unexpected shape {sorted(keys)}"


def test_back_and_forth_under_continuous_writes_loses_and_duplicates_nothing(migrating, env):
    cfg = migrating
    prefix = f"mig-{uuid.uuid4().hex[:8]}-"
    writer = Writer(env, prefix)
    writer.start()
    wait_for(lambda: len(writer.changes) >= 50, 30, "the writer's first changes")
    t0 = time.monotonic()
    to_basic = migrate_connector(environment="local", target="cdc-source-basic")
    to_v2 = migrate_connector(environment="local", target="v2-debezium")
    migration_seconds = time.monotonic() - t0
    time.sleep(3)  # a few more changes after the second switch (traffic, not a wait for a condition)
    writer.stop_flag.set()
    writer.join(10)
    assert writer.error is None, writer.error
    assert to_basic["applied"] and to_v2["applied"]

    # capture: every change exactly once in the raw topic, in the shape of the variant that captured it
    changes = writer.changes
    want = Counter(key(c.row) for c in changes)
    wait_for(lambda: Counter(key(r) for r in _raw_records(cfg, prefix)) == want, 90, "every change in the raw topic",
             every=1)
    raw = _raw_records(cfg, prefix)
    got = Counter(key(r) for r in raw)
    assert got == want, f"lost {sorted((want - got).elements())[:5]}, duplicated {sorted((got - want).elements())[:5]}"
    shapes = [_shape_of(r) for r in raw]
    assert set(shapes) == {V2.name, BASIC.name}, set(shapes)
    # the shapes follow the switches: v2 ... basic ... v2, never interleaved, in commit order per partition
    order = {key(c.row): n for n, c in enumerate(changes)}
    by_commit = [s for _, s in sorted(zip((order[key(r)] for r in raw), shapes))]
    runs = [s for n, s in enumerate(by_commit) if n == 0 or by_commit[n - 1] != s]
    assert runs == [V2.name, BASIC.name, V2.name], runs

    # routing: each raw record to exactly the topics its variant's routing says, exactly once
    pipelines = {V2.name: routing_pipeline(V2), BASIC.name: routing_pipeline(BASIC)}
    expected: dict[str, Counter] = {f.output_topic: Counter() for f in pipelines[V2.name].enabled_filters}
    for record, shape in zip(raw, shapes):
        for topic in evaluate_event(pipelines[shape], record):
            expected[topic][key(record)] += 1
    assert sum(sum(c.values()) for c in expected.values()) > 0

    def routed() -> dict[str, Counter]:
        kafka = KafkaClients(cfg.kafka)
        return {t: Counter(key(r) for r in kafka.read_to_end(t) if str(r.get("id", "")).startswith(prefix))
                for t in expected}

    holds_within(lambda: routed() == expected, 90, every=1)
    time.sleep(5)  # two checkpoints: a late duplicate would now be committed and visible
    final = routed()
    lost = sum(sum((expected[t] - final[t]).values()) for t in expected)
    duplicated = sum(sum((final[t] - expected[t]).values()) for t in expected)
    assert (lost, duplicated) == (0, 0), {t: {"lost": sorted((expected[t] - final[t]).elements())[:6],
                                              "extra": sorted((final[t] - expected[t]).elements())[:6]}
                                          for t in expected}
    updates_routed = sum(1 for r, s in zip(raw, shapes) if s == BASIC.name and key(r)[1] == "u"
                         and any(key(r) in expected[t] for t in expected))
    figures = {
        "events_written": len(changes), "updates": sum(c.op == "u" for c in changes),
        "captured_as_basic": shapes.count(BASIC.name), "basic_updates_routed_as_creates": updates_routed,
        "lost": lost, "duplicated": duplicated, "both_migrations_seconds": round(migration_seconds, 1),
        "to_basic_steps_s": to_basic["step_seconds"], "to_v2_steps_s": to_v2["step_seconds"],
        "routing_gap_to_basic_s": _gap(to_basic), "routing_gap_to_v2_s": _gap(to_v2),
    }
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "migration-figures.json").write_text(json.dumps(figures, indent=1))
    print("migration figures:", json.dumps(figures))


def _gap(result: dict) -> float:
    """Seconds during which no routing job ran: from the old job's stop to the new one running."""
    s = result["step_seconds"]
    return round(s["stop-routing"] + s["switch-connector"] + s["start-routing"], 1)


UPDATED_AT = "2026-11-25T10:00:"


def key(record: dict) -> tuple[str, str]:
    """One database change: its row id and whether it was the insert or the (single) update of that row."""
    return record["id"], "u" if str(record["saved_date"]).startswith(UPDATED_AT) else "c"


class FailOnce:
    """Delegates to a real adapter; the first call of `method` raises a transient error instead."""

    def __init__(self, target, method: str):
        self._target, self._method, self.failed = target, method, False

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name != self._method or self.failed:
            return attr

        def fail(*args, **kwargs):
            self.failed = True
            raise TransientError(f"injected failure in {name}")

        return fail


FAULTS = [  # step, which port, which call
    ("pause-connector", "connect", "pause"),
    ("drain-routing", "kafka", "wait_group_caught_up"),
    ("stop-routing", "routing", "stop"),
    ("switch-connector", "connect", "put_config"),
    ("start-routing", "routing", "start"),
    ("resume-connector", "connect", "resume"),
    ("verify", "verify", None),
]


@pytest.mark.parametrize("step,port,call", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_failure_at_each_step_leaves_a_recoverable_reported_state(migrating, step, port, call):
    cfg = migrating
    with build(cfg) as env:
        switch = build_switch(env, cfg, "cdc-source-basic", smoke_copies=1)
        before = env.routing.running()
        ports = {"connect": env.connect, "routing": env.routing, "kafka": env.kafka}
        if call:
            ports[port] = FailOnce(ports[port], call)
        else:
            def failing_verify():
                raise TransientError("injected failure in verify")
            switch.verify = failing_verify
        with pytest.raises(MigrationError) as info:
            migrate(switch, connect=ports["connect"], routing=ports["routing"], kafka=ports["kafka"],
                    store=env.rollout_store, log=lambda _: None)
        line = str(info.value)
        assert "\n" not in line and f"{step} failed (injected failure" in line

        if step in ("resume-connector", "verify"):
            # forward state, named in the line; a re-run finishes the migration
            assert ("PAUSED" in line) if step == "resume-connector" else ("runs variant local-cdc-source-basic" in line)
            done = migrate_connector(environment="local", target="cdc-source-basic")
            assert done["applied"] and done["steps"][-1] == "verify"
            migrate_connector(environment="local", target="v2-debezium")
            return

        # undone: the previous variant captures and the previous routing job runs again
        assert "undone" in line
        name, v2_config = env.connector_config(V2.name)
        assert {k: v for k, v in env.connect.config(name).items() if k != "name"} == v2_config
        env.connect.wait_running(name)
        after = env.routing.running()
        assert [j.fingerprint for j in after] == [j.fingerprint for j in before]
        result = run_smoke(env, routing_pipeline(V2), copies=1, timeout=60, settle=2, shape=shape_for(V2))
        assert result.problems() == []
        assert rollout.fingerprint(routing_job(env.routing)) == after[0].fingerprint  # the seed job, as before
