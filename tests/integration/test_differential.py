"""The evaluator and real Flink route the same events identically, event by event.

Events: filters.edge_events (hand-picked edge cases + seeded random events). Filters:
filters/differential.yaml (every operator, type and nested group). The job runs on the local Flink
cluster through the SQL Gateway with exactly the SQL the compiler generates (only the source is bounded).
"""

from __future__ import annotations

import json

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
