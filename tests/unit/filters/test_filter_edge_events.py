"""The differential fixtures: deterministic edge events and a pipeline covering every operator and type."""

from pathlib import Path

from filters.edge_events import OPERATIONS, generate_events
from filters.evaluator import evaluate_events
from filters.loader import load_pipeline
from filters.model import OPERATORS, AllOf, AnyOf, Not, iter_comparisons

REPO = Path(__file__).resolve().parents[3]


def test_events_are_deterministic_and_unique():
    a, b = generate_events(500, seed=1), generate_events(500, seed=1)
    assert a == b and a != generate_events(500, seed=2)
    ids = [e["id"] for e in a]
    assert len(set(ids)) == len(ids) and all(ids)


def test_events_cover_the_edge_cases():
    events = generate_events(600)
    ops = {e.get("__op") for e in events}
    assert set(OPERATIONS) | {None} <= ops
    assert any("__op" not in e for e in events)
    assert any(e["event_type"] is None for e in events) and any(e["event_data"] is None for e in events)
    data = "\n".join(e["event_data"] or "" for e in events)
    for needle in ('"loanAmount":1e3', '"loanAmount":-0.0', '"loanAmount":12345678901234567890', '"loanAmount":" 12 "',
                   '"probe":"NaN"', '"probe":{}', "\u2028", "😀", '"active":"TRUE"'):
        assert needle in data, needle


def test_differential_pipeline_covers_every_operator_and_type_and_group():
    p = load_pipeline(REPO / "filters" / "differential.yaml")
    leaves = [leaf for f in p.filters for _, leaf in iter_comparisons(f.conditions)]
    assert {leaf.operator for leaf in leaves} == set(OPERATORS)
    assert {(leaf.operator, leaf.type) for leaf in leaves} >= {
        (op, t) for op in OPERATORS for t in ("string", "number") if (op, t) != ("matches", "number")} | {
        (op, "boolean") for op in ("equals", "notEquals", "in", "notIn", "isNull")}

    def kinds(conds):
        for c in conds:
            yield type(c)
            if isinstance(c, AllOf):
                yield from kinds(c.all)
            elif isinstance(c, AnyOf):
                yield from kinds(c.any)
            elif isinstance(c, Not):
                yield from kinds((c.not_,))

    found = {k for f in p.filters for k in kinds(f.conditions)}
    assert {AllOf, AnyOf, Not} <= found
    assert any(f.match == "any" for f in p.filters) and any(not f.enabled for f in p.filters)


def test_every_event_evaluates():
    p = load_pipeline(REPO / "filters" / "differential.yaml")
    results = evaluate_events(p, generate_events(600))
    assert len(results) == 600
    routed = {t for r in results for t in r["topics"]}
    assert "differential-route-everything" in routed and "differential-disabled" not in routed
