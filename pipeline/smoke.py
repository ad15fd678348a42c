"""End-to-end smoke test: business_events -> Debezium -> Kafka -> Flink routing -> consumers.

Inserts the sample events for every route plus negatives (another event type, an update, a delete) with
ids unique to the run, predicts with the filter evaluator exactly which ids each filtered topic and each
consumer must see, and compares with what arrives: nothing missing, nothing extra, nothing twice.
Latency is measured from the database commit to the consumer having processed the event.

The delivery mode decides what "twice" means: in exactly-once nothing may appear twice anywhere; in
low-latency a filtered topic may hold a record twice (at-least-once sinks), but each consumer must still
process every event exactly once (its duplicate filter drops the second copy). The topics are read as the
mode's consumers read them (`Environment.kafka` is built with the mode's isolation level).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from filters.evaluator import evaluate_event
from filters.model import Pipeline
from pipeline.business_events import Change, load_sample, raw_shape, row_from_event
from pipeline.errors import PipelineError
from pipeline.polling import holds_within
from pipeline.ports import Environment

ROUTED_SAMPLES = ["loan-created", "loan-payment-submitted", "car-created", "car-service-done"]


@dataclass
class SmokeResult:
    run: str
    expected: dict[str, Counter]            # topic -> ids
    delivered: dict[str, Counter]           # topic -> ids
    processed: dict[str, Counter]           # topic -> ids processed by that topic's consumer
    latencies_ms: dict[str, list[int]] = field(default_factory=dict)  # topic -> commit->processed
    consumers: dict[str, str] = field(default_factory=dict)  # topic -> the consumer that reads it
    mode: str = "exactly-once"  # the delivery mode the run measured

    def problems(self) -> list[str]:
        out = []
        for topic, want in self.expected.items():
            for what, got in (("topic", self.delivered.get(topic, Counter())),
                              (f"consumer {self.consumers.get(topic, 'none')}", self.processed.get(topic, Counter()))):
                missing = sorted((want - got).elements())
                if what == "topic" and self.mode == "low-latency":
                    extra = sorted(set(got) - set(want))  # at-least-once sinks: a second copy is allowed here
                else:
                    extra = sorted((got - want).elements())
                if missing:
                    out.append(f"{topic} ({what}): missing {missing}")
                if extra:
                    out.append(f"{topic} ({what}): extra or duplicated {extra}")
        return out


def plan_changes(run: str, copies: int = 10) -> list[Change]:
    """The run's writes, in order: `copies` creates of each routed sample (enough for latency percentiles),
    then negatives: another event type, an update of a routed row, a delete of a routed row."""
    changes = []
    for i in range(copies):
        for sample in ROUTED_SAMPLES:
            event_id = f"{run}-{sample}-{i}"
            changes.append(Change(event_id, "c", row_from_event(load_sample(sample), event_id)))
    other = load_sample("loan-created")
    other["eventHeader"].update(eventName="LoanClosed", eventType="LoanClosed")
    changes.append(Change(f"{run}-loan-closed", "c", row_from_event(other, f"{run}-loan-closed")))
    updated = dict(changes[0].row, saved_date="2026-11-20T09:20:00Z")
    changes.append(Change(changes[0].id, "u", updated))
    changes.append(Change(changes[3].id, "d", changes[3].row))
    return changes


def expected_routing(pipeline: Pipeline, changes: list[Change],
                     shape: Callable[[Change], dict | None] = raw_shape) -> dict[str, Counter]:
    """Topic -> ids each change must reach; `shape` is what the running connector variant writes for a change
    (None: the variant drops it, e.g. deletes without CDC metadata)."""
    expected: dict[str, Counter] = {f.output_topic: Counter() for f in pipeline.enabled_filters}
    for change in changes:
        record = shape(change)
        if record is None:
            continue
        for topic in evaluate_event(pipeline, record):
            expected[topic][change.id] += 1
    return expected


def run_smoke(env: Environment, pipeline: Pipeline, copies: int = 10, timeout: float = 90.0,
              settle: float = 5.0, shape: Callable[[Change], dict | None] = raw_shape) -> SmokeResult:
    run = f"smoke-{uuid.uuid4().hex[:10]}"
    changes = plan_changes(run, copies)
    expected = expected_routing(pipeline, changes, shape)
    if not any(expected.values()):
        raise PipelineError("the smoke test's sample events match no route in the filters; nothing would be checked")
    watchers = {topic: env.kafka.watch(topic) for topic in expected}
    ids = {c.id for c in changes}
    delivered: dict[str, Counter] = {t: Counter() for t in expected}
    try:
        env.database.apply_changes(changes)
        settled_at: list[float] = []

        def settled() -> bool:
            for topic, watcher in watchers.items():
                for records in watcher.collect(ids, timeout=0.3, min_per_id=10**9).values():
                    for record in records:
                        delivered[topic][record["id"]] += 1
            processed = _processed(env.consumers.processed(), ids)
            complete = all(expected[t] <= delivered[t] and expected[t] <= processed.get(t, Counter()) for t in expected)
            if complete and not settled_at:
                settled_at.append(time.monotonic())  # keep watching a little: late extras or duplicates must show
            return bool(settled_at) and time.monotonic() - settled_at[0] >= settle

        holds_within(settled, timeout, every=0)  # not settled in time: the comparison below names the gap
    finally:
        for watcher in watchers.values():
            watcher.close()
    processed_records = [r for r in env.consumers.processed() if r.id in ids]
    committed = {c.id: c.committed_ms for c in changes if c.op == "c"}
    latencies: dict[str, list[int]] = {t: [] for t in expected}
    for r in processed_records:
        if r.topic in latencies and r.id in committed:
            latencies[r.topic].append(r.processed_at_ms - committed[r.id])
    return SmokeResult(run, expected, delivered, _processed(processed_records, ids), latencies,
                       {t: env.consumers.consumer_for(t) for t in expected}, env.delivery.name)


def _processed(records, ids: set[str]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for r in records:
        if r.id in ids:
            out.setdefault(r.topic, Counter())[r.id] += 1
    return out


def latency_summary(values: list[int]) -> dict[str, int | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": int(statistics.median(ordered)), "p95": p95, "max": ordered[-1]}


def report_rows(result: SmokeResult, pipeline: Pipeline) -> list[dict]:
    rows = []
    for f in pipeline.enabled_filters:
        t = f.output_topic
        lat = latency_summary(result.latencies_ms.get(t, []))
        rows.append({"route": f.id, "topic": t, "consumer": result.consumers.get(t, "none"),
                     "expected": sum(result.expected[t].values()), "in_topic": sum(result.delivered[t].values()),
                     "processed": sum(result.processed.get(t, Counter()).values()),
                     "latency_p50_ms": lat["p50"], "latency_p95_ms": lat["p95"], "latency_max_ms": lat["max"]})
    return rows
