"""flink-rollout on the real stack: routing matches the evaluator, and a route change mid-stream
loses and duplicates nothing; a statement Flink rejects leaves the running job alone."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import Counter

import pytest

from filters.evaluator import evaluate_events
from filters.loader import load_pipeline
from environments.factory import build
from pipeline import rollout
from pipeline.errors import FlinkError
from pipeline.paths import FILTERS_FILE
from pipeline.routing import routing_job
from tests.integration.helpers import deploy, ids_by_topic, produce_json

SEED_TOPICS = ["filtered-loan-created-events", "filtered-loan-payment-submitted-events",
               "filtered-service-events", "filtered-car-created-events"]
KINDS = [("LoanCreated", "LoanCreated"), ("LoanPaymentSubmitted", "LoanPaymentSubmitted"),
         ("CarCreated", "CarCreated"), ("CarServiceDone", "CarServiceDone"), ("LoanClosed", "LoanClosed"),
         ("CarServiceDone", "ServiceRecorded"), ("Other", None)]


def raw_event(event_id: str, name: str, etype: str | None, op: str = "c", amount: float = 5000.0) -> dict:
    data = {"eventHeader": {"uuid": event_id, "eventName": name, "eventType": etype},
            "eventBody": {"entities": [{"entityType": "Loan", "entityId": f"loan-{event_id}",
                                        "updatedAttributes": {"loan": {"loanAmount": amount}}}]}}
    import json

    return {"id": event_id, "event_name": name, "event_type": etype, "created_date": "2026-11-24T10:00:00Z",
            "saved_date": "2026-11-24T10:00:01Z", "event_data": json.dumps(data), "__op": op,
            "__table": "business_events", "__ts_ms": int(time.time() * 1000), "__deleted": str(op == "d").lower()}


def wait_for(cfg, topics, prefix, expected: dict[str, set[str]], timeout=90.0) -> dict[str, list[str]]:
    """Poll until every expected id is visible, then one more checkpoint for anything extra to show up."""
    deadline = time.monotonic() + timeout
    got = ids_by_topic(cfg, topics, prefix)
    while time.monotonic() < deadline and any(not expected[t] <= set(got[t]) for t in topics):
        time.sleep(1)
        got = ids_by_topic(cfg, topics, prefix)
    time.sleep(5)  # two checkpoint intervals: late duplicates or extras would now be committed
    return ids_by_topic(cfg, topics, prefix)


@pytest.fixture(scope="module")
def routing(pipeline_ready):
    deploy(pipeline_ready, FILTERS_FILE)
    yield pipeline_ready
    deploy(pipeline_ready, FILTERS_FILE)  # leave the seed job running, whatever a test changed


def test_routes_match_the_evaluator_for_all_routes_and_negatives(routing):
    cfg = routing
    prefix = f"route-{uuid.uuid4().hex[:8]}-"
    events = [raw_event(f"{prefix}{i}", *KINDS[i % len(KINDS)], op="cudr"[(i // len(KINDS)) % 4]) for i in range(56)]
    produce_json(cfg, cfg.raw_topic, events)
    predicted = evaluate_events(load_pipeline(FILTERS_FILE), events)
    expected = {t: {p["id"] for p in predicted if t in p["topics"]} for t in SEED_TOPICS}
    assert all(expected.values()), "every route must have positives"
    assert any(not p["topics"] for p in predicted), "and there must be negatives"
    got = wait_for(cfg, SEED_TOPICS, prefix, expected)
    for topic in SEED_TOPICS:
        assert Counter(got[topic]) == Counter(expected[topic]), topic


def test_route_change_mid_stream_loses_and_duplicates_nothing(routing, tmp_path):
    cfg = routing
    prefix = f"switch-{uuid.uuid4().hex[:8]}-"
    extra_topic = f"filtered-large-loans-{uuid.uuid4().hex[:6]}"
    changed = tmp_path / "filters.yaml"
    changed.write_text(FILTERS_FILE.read_text() + f"""
  - id: large-loans
    outputTopic: {extra_topic}
    operations: [c]
    conditions:
      - field: $.eventBody.entities[0].updatedAttributes.loan.loanAmount
        operator: greaterThan
        value: 40000
        type: number
""")
    events = [raw_event(f"{prefix}{i}", *KINDS[i % 4], amount=float(1000 * (i % 80))) for i in range(2400)]
    done = threading.Event()

    def produce():
        for start in range(0, len(events), 100):  # ~12 s of steady traffic
            produce_json(cfg, cfg.raw_topic, events[start:start + 100])
            time.sleep(0.5)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(4)
    result = deploy(cfg, changed)  # stop-with-savepoint + new job while events keep coming
    producer.join()
    assert result["plan"].action == "replace" and result["plan"].added == ["large-loans"]
    assert result["plan"].unchanged == sorted(["loan-created", "loan-payment-submitted", "car-service-done", "car-created"])

    predicted_old = evaluate_events(load_pipeline(FILTERS_FILE), events)
    expected = {t: {p["id"] for p in predicted_old if t in p["topics"]} for t in SEED_TOPICS}
    got = wait_for(cfg, SEED_TOPICS, prefix, expected, timeout=120)
    for topic in SEED_TOPICS:
        counts = Counter(got[topic])
        missing = expected[topic] - set(counts)
        duplicated = [i for i, n in counts.items() if n > 1]
        assert not missing and not duplicated, f"{topic}: {len(missing)} lost, {len(duplicated)} duplicated"
        assert set(counts) == expected[topic]
    # the new route sees what the new job read: a non-empty suffix of the large loans, each once
    large = Counter(ids_by_topic(cfg, [extra_topic], prefix)[extra_topic])
    assert large and max(large.values()) == 1
    assert set(large) <= {p["id"] for p in evaluate_events(load_pipeline(changed), events) if extra_topic in p["topics"]}


def test_sql_flink_rejects_fails_with_flinks_message_and_keeps_the_old_job(routing):
    with build(routing) as env:
        before = env.routing.running()
        assert len(before) == 1
        job = routing_job(env.routing)
        broken = dataclasses.replace(job, statement_set=job.statement_set.replace("`event_type` =", "`no_such_column` =", 1))
        plan = rollout.Plan("replace", "badbadbadbad", running=[vars(j) for j in before])
        with pytest.raises(FlinkError) as info:
            rollout.apply(plan, broken, env.routing, env.rollout_store)
        assert "no_such_column" in str(info.value) and "\n" not in str(info.value)
        after = env.routing.running()
        assert [j.id for j in after] == [j.id for j in before]
        assert env.routing.rest.job(after[0].id)["state"] == "RUNNING"
