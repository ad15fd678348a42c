"""Poison records in the raw topic are never silent: real Flink, the compiler's SQL, a bounded copy of the topic.

Every record is either routed (the pipeline has a route for every event) or in the dead-letter topic, once,
with its reason and source coordinates in headers, and routing goes on past it. The Python mirror of the
job's rule (filters.flink_semantics.dead_letter_reason) is held to what Flink does, record by record.
"""

from __future__ import annotations

import json

import pytest

from environments.local.bounded_run import run_through_flink
from filters.flink_semantics import dead_letter_reason
from filters.loader import load_pipeline_text
from pipeline.business_events import NUMBER_FIELDS

PIPELINE = load_pipeline_text(
    "version: 1\nsource: {topic: raw}\nfilters:\n"
    "  - {id: every, outputTopic: every-event}\n"
    "  - {id: recent, outputTopic: recent-events, conditions: [{field: __ts_ms, operator: greaterThan, value: 100, type: number}]}\n"
)


def event(i: str, **fields) -> dict:
    base = {"id": i, "event_name": "LoanCreated", "event_type": "LoanCreated", "created_date": "2026-01-01",
            "saved_date": "2026-01-01", "event_data": "{}", "__op": "c", "__table": "business_events",
            "__ts_ms": 1705312205000, "__deleted": "false", "__lsn": 1000}
    return {**base, **fields}


def as_bytes(record: dict) -> bytes:
    return json.dumps(record).encode()


#: (label, value as written, the reason the job must give; None: routed)
CASES = [
    ("good-1", as_bytes(event("good-1")), None),
    ("text", b"not json at all", "not a JSON object"),
    ("array", b"[1, 2, 3]", "not a JSON object"),
    ("number", b"42", "not a JSON object"),
    ("empty", b"", "not a JSON object"),
    ("truncated", b'{"id": "truncated", "event_name": ', "not a JSON object"),
    ("ts-text", as_bytes(event("ts-text", __ts_ms="yesterday")), "__ts_ms is not a whole number"),
    ("ts-object", as_bytes(event("ts-object", __ts_ms={"ms": 1})), "__ts_ms is not a whole number"),
    ("ts-bool", as_bytes(event("ts-bool", __ts_ms=True)), "__ts_ms is not a whole number"),
    ("ts-exp", as_bytes(event("ts-exp", __ts_ms=1.5e300)), "__ts_ms is not a whole number"),
    ("lsn-text", as_bytes(event("lsn-text", __lsn="0/16B3748")), "__lsn is not a whole number"),
    ("ts-as-text", as_bytes(event("ts-as-text", __ts_ms="1705312205000")), None),
    ("ts-null", as_bytes(event("ts-null", __ts_ms=None)), None),
    ("lsn-fraction", as_bytes(event("lsn-fraction", __lsn=12.5)), None),
    # both tables read the first JSON value and ignore what follows (as JSON_VALUE does, docs/filters.md)
    ("trailing", b'{"id": "trailing"} and more', None),
    # the JSON source skips invalid UTF-8; decoded as text it would still look like JSON
    ("bad-utf8", b'{"id": "bad-utf8", "event_name": "\xff\xfe"}', "not UTF-8"),
    ("good-2", as_bytes(event("good-2")), None),
]


@pytest.fixture(scope="module")
def run(cfg, stack):
    return run_through_flink(cfg, PIPELINE, [], raw_values=[value for _, value, _ in CASES])


def test_each_record_is_routed_or_dead_lettered_exactly_once_with_its_reason(run):
    letters = {int(r.headers["dlq.source.offset"]): r for r in run.dead_letters}
    assert len(letters) == len(run.dead_letters), "a record was dead-lettered twice"
    outcome = {}
    for offset, (label, value, want) in enumerate(CASES):
        routed = "every-event" in run.routed.get(label, set())
        lettered = offset in letters
        assert routed or lettered, f"{label} was dropped silently"
        assert not (routed and lettered), f"{label} was routed and dead-lettered"
        if want is not None:
            assert lettered, f"{label} was routed; expected a dead letter ({want})"
            assert letters[offset].headers["dlq.reason"].decode() == want, label
        else:
            assert routed, f"{label} was dead-lettered: {letters[offset].headers['dlq.reason']!r}"
        outcome[label] = letters[offset].headers["dlq.reason"].decode() if lettered else "routed"
    print(f"\ndead letters: {outcome}")


def test_a_dead_letter_carries_the_record_and_where_it_came_from(run):
    letters = {int(r.headers["dlq.source.offset"]): r for r in run.dead_letters}
    labels = [label for label, _, _ in CASES]
    text = letters[labels.index("text")]
    assert text.value == b"not json at all" and text.key == b"k1"  # unchanged, key included
    assert text.headers["dlq.source.partition"] == b"0" and text.headers["dlq.job"] == b"business-events-routing"
    assert text.headers["dlq.source.topic"].decode().endswith("-raw")
    typed = letters[labels.index("ts-text")]
    assert json.loads(typed.value)["__ts_ms"] == "yesterday" and typed.key == b"ts-text"


def test_the_python_mirror_agrees_with_flink_on_every_json_record(run):
    """dead_letter_reason is what the evaluator (and so the smoke test's expectations) relies on."""
    letters = {int(r.headers["dlq.source.offset"]): r for r in run.dead_letters}
    for offset, (label, value, _) in enumerate(CASES):
        try:
            parsed = json.loads(value)
        except ValueError:
            continue  # not JSON for Python either; the reasons above cover these
        want = dead_letter_reason(parsed, NUMBER_FIELDS)
        got = letters[offset].headers["dlq.reason"].decode() if offset in letters else None
        assert got == want, f"{label}: Flink says {got!r}, the mirror {want!r}"


def test_routing_goes_on_past_poison_and_types_the_fields_it_routes(run):
    assert {"good-1", "good-2", "ts-as-text", "lsn-fraction"} <= set(run.routed)
    assert "recent-events" in run.routed["ts-as-text"]  # '1705312205000' as text is that number
    assert "recent-events" not in run.routed["ts-null"]  # NULL compares to nothing
