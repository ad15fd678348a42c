"""The evaluator and real Flink route the same events identically, event by event.

Events: filters.edge_events (hand-picked edge cases + seeded random events). Filters:
filters/differential.yaml (every operator, type and nested group). The job runs on the local Flink
cluster through the SQL Gateway with exactly the SQL the compiler generates (only the source is bounded).
"""

from __future__ import annotations

import json

import pytest

from filters.edge_events import generate_events
from filters.evaluator import evaluate_events
from filters.loader import load_pipeline
from environments.local.bounded_run import run_through_flink
from pipeline.paths import ROOT

EVENTS = 1500


def test_evaluator_agrees_with_flink_on_every_event(cfg, stack):
    pipeline = load_pipeline(ROOT / "filters" / "differential.yaml")
    events = generate_events(EVENTS, seed=20261124)
    expected = {r["id"]: set(r["topics"]) for r in evaluate_events(pipeline, events)}
    run = run_through_flink(cfg, pipeline, events)

    by_id = {e["id"]: e for e in events}
    assert set(run.routed) <= set(by_id), "Flink emitted ids that were never sent"
    mismatches = []
    for event_id, want in expected.items():
        got = run.routed.get(event_id, set())
        if got != want:
            mismatches.append({"id": event_id, "only_evaluator": sorted(want - got), "only_flink": sorted(got - want),
                               "event": by_id[event_id]})
    routed_pairs = sum(len(t) for t in expected.values())
    print(f"\ndifferential: {len(events)} events x {len(pipeline.enabled_filters)} filters = "
          f"{len(events) * len(pipeline.enabled_filters)} decisions, {routed_pairs} routed; "
          f"Flink job {run.job_id} took {run.seconds:.1f}s; mismatches: {len(mismatches)}")
    assert routed_pairs > len(events) // 2, "the fixture routes too little to prove anything"
    assert not mismatches, "evaluator and Flink disagree:\n" + "\n".join(
        json.dumps(m, ensure_ascii=False)[:1500] for m in mismatches[:15])


# The minimal reproductions of issue 13, each with what the deployed job does (Flink 2.2.1, chained job):
# (filter id, condition, event_data or columns, routed by Flink)
EMOJI = "\U0001F600"
ISSUE_13 = [
    # 1. a text containing 'NaN' is not a number: NULL, as documented (REPLACE read '1NaN2' as 12)
    *[(f"nan-text-{i}", {"field": "$.a", "operator": "isNotNull", "type": "number"}, {"a": text}, False)
      for i, text in enumerate(["1NaN2", "12NaN", "-NaN5", "1e3NaN", "NaNInfinity"])],
    ("number-text", {"field": "$.a", "operator": "isNotNull", "type": "number"}, {"a": " 12 "}, True),
    # 2. still NaN after removing 'NaN' once: NOT (x > 1) is rewritten by Flink to x <= 1
    ("not-gt-nan", {"not": {"field": "$.a", "operator": "greaterThan", "value": 1, "type": "number"}}, {"a": "NNaNaN"}, False),
    ("not-between-nan", {"not": {"field": "$.a", "operator": "between", "values": [0, 1e-5], "type": "number"}},
     {"a": "NNaNaN"}, False),
    ("not-gt-zero", {"not": {"field": "$.a", "operator": "greaterThan", "value": 1, "type": "number"}}, {"a": "0"}, True),
    # 3. text order is UTF-16 code units: U+1F600 is D83D DE00, below U+E000..U+FFFF
    ("gt-fullwidth", {"field": "$.a", "operator": "greaterThan", "value": "\uff11\uff12"}, {"a": EMOJI}, False),
    ("lt-fffd-column", {"field": "event_type", "operator": "lessThan", "value": "\ufffd"}, {"event_type": EMOJI}, True),
    ("between-e000", {"field": "$.a", "operator": "between", "values": ["a", "\ue000"]}, {"a": EMOJI}, True),
    ("gte-d7ff-column", {"field": "event_name", "operator": "greaterThanOrEqual", "value": "\ud7ff"},
     {"event_name": EMOJI}, True),
    # 4. Java regex over UTF-16 units (the issue's lookbehinds are rejected; these are accepted and reproduced)
    ("re-mid-pair", {"field": "$.a", "operator": "matches", "value": "(?<!^)."}, {"a": EMOJI}, True),
    ("re-one-char", {"field": "$.a", "operator": "matches", "value": "^.$"}, {"a": EMOJI}, True),
    ("re-not-emoji", {"field": "$.a", "operator": "matches", "value": "[^\\x{1F600}]"}, {"a": EMOJI}, False),
    ("re-behind-bmp", {"field": "$.a", "operator": "matches", "value": "(?<![a-z])x"}, {"a": EMOJI + "x"}, True),
    ("re-behind-digit", {"field": "$.a", "operator": "matches", "value": "(?<=\\d)x"}, {"a": EMOJI + "x"}, False),
]


def test_issue_13_reproductions_route_as_the_deployed_job_does(cfg, stack):
    from filters.model import Pipeline

    for pattern in ("(?<=^.)x", "(?<=..)$", "(?<=\\x{1F600})x"):
        with pytest.raises(ValueError, match="Java measures lookbehinds in UTF-16 units"):
            Pipeline.model_validate({"version": 1, "source": {"topic": "raw"}, "filters": [
                {"id": "r", "outputTopic": "t", "conditions": [{"field": "$.a", "operator": "matches", "value": pattern}]}]})
    pipeline = Pipeline.model_validate({"version": 1, "source": {"topic": "raw-business-events"}, "filters": [
        {"id": fid, "outputTopic": f"issue13-{fid}", "conditions": [cond]} for fid, cond, _, _ in ISSUE_13]})
    events = []
    for fid, _, values, _ in ISSUE_13:
        data = {k: v for k, v in values.items() if k == "a"}
        columns = {k: v for k, v in values.items() if k != "a"}
        events.append({"id": fid, "event_name": "x", "event_type": "x", "event_data": json.dumps(data, ensure_ascii=False),
                       "__op": "c", "__table": "business_events", "__ts_ms": 1, **columns})
    expected = {r["id"]: set(r["topics"]) for r in evaluate_events(pipeline, events)}
    run = run_through_flink(cfg, pipeline, events)

    for fid, _, _, routed in ISSUE_13:  # the filter made for each event says what the issue expects
        topic = f"issue13-{fid}"
        assert (topic in run.routed.get(fid, set())) is routed, f"Flink: {fid}"
        assert (topic in expected[fid]) is routed, f"evaluator: {fid}"
    disagreements = [(eid, sorted(expected[eid] ^ run.routed.get(eid, set()))) for eid in expected
                     if expected[eid] != run.routed.get(eid, set())]
    assert not disagreements, f"evaluator and Flink disagree on {len(disagreements)} events: {disagreements[:5]}"
