"""The fuzz generator (filters/fuzz.py): deterministic, covering, and its shrinking keeps what matters."""

import json

from filters import fuzz
from filters.evaluator import evaluate_events, filter_truth
from filters.model import AllOf, AnyOf, Comparison, Filter, Not, iter_comparisons


def test_same_seed_same_filters_and_events():
    a, b = fuzz.generate_pipeline(5, 40), fuzz.generate_pipeline(5, 40)
    assert a.pipeline == b.pipeline
    assert fuzz.generate_events(5, 200) == fuzz.generate_events(5, 200)
    assert fuzz.generate_events(5, 50) != fuzz.generate_events(6, 50)
    assert len({e["id"] for e in fuzz.generate_events(5, 300)}) == 300


def test_filters_cover_every_operator_type_and_nesting():
    pipeline = fuzz.generate_pipeline(1, 300).pipeline
    combos = set()
    kinds = set()

    def walk(cond, depth):
        kinds.add((type(cond).__name__, min(depth, 3)))
        if isinstance(cond, Not):
            walk(cond.not_, depth + 1)
        elif isinstance(cond, (AllOf, AnyOf)):
            for c in (cond.all if isinstance(cond, AllOf) else cond.any):
                walk(c, depth + 1)

    for f in pipeline.filters:
        for _, leaf in iter_comparisons(f.conditions):
            combos.add((leaf.operator, leaf.type, leaf.json_path is None))
        for c in f.conditions:
            walk(c, 0)
    for operator in ("equals", "notEquals", "in", "notIn", "isNull", "isNotNull"):
        for type_ in ("string", "number", "boolean"):
            assert (operator, type_, False) in combos, (operator, type_)
    for operator in ("greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual", "between"):
        for type_ in ("string", "number"):
            assert (operator, type_, False) in combos and (operator, type_, True) in combos, (operator, type_)
    assert ("matches", "string", False) in combos and ("matches", "string", True) in combos
    assert {("Not", 0), ("AllOf", 1), ("AnyOf", 1), ("Comparison", 3)} <= kinds
    assert any(f.match == "any" for f in pipeline.filters) and any(f.operations for f in pipeline.filters)
    assert any(not f.conditions for f in pipeline.filters)


def test_events_are_full_of_edge_values():
    events = fuzz.generate_events(1, 2000)
    blob = json.dumps(events, ensure_ascii=False)
    for needle in ("NNaNaN", "1NaN2", "Infinity", "\U0001F600", "\\u2028", "\u2028", "1e400", "-0.0", "0x1p3",
                   "\\\\ud83d", "not json", '\\"k\\":{}', "null"):
        assert needle in blob, needle
    data = [e.get("event_data") for e in events]
    assert None in data and any(d == "{" for d in data)
    assert any("__op" not in e for e in events) and any(e["__ts_ms"] is None for e in events)


def test_the_evaluator_routes_a_fair_share():
    generated = fuzz.generate_pipeline(2, 60)
    events = fuzz.generate_events(2, 500)
    routed = sum(len(r["topics"]) for r in evaluate_events(generated.pipeline, events))
    decisions = 60 * 500
    assert decisions * 0.05 < routed < decisions * 0.7


def test_compare_lists_each_differing_decision():
    generated = fuzz.generate_pipeline(3, 3)
    events = fuzz.generate_events(3, 2)
    topics = [f.output_topic for f in generated.pipeline.filters]
    expected = {events[0]["id"]: {topics[0]}, events[1]["id"]: set()}
    flink = {events[0]["id"]: {topics[1]}}
    found = fuzz.compare(generated.pipeline, events, expected, flink)
    assert [(d.filter.output_topic, d.event["id"], d.evaluator, d.flink) for d in found] == [
        (topics[0], events[0]["id"], True, False), (topics[1], events[0]["id"], False, True)]


def _filter(conditions, **extra):
    return Filter.model_validate({"id": "x", "outputTopic": "t", "conditions": conditions, **extra})


def test_shrink_candidates_are_smaller_and_keep_the_event_parts_read():
    f = _filter([{"any": [{"field": "$.n", "operator": "greaterThan", "value": 1, "type": "number"},
                          {"not": {"field": "event_type", "operator": "equals", "value": "a"}}]}], operations=["c"])
    event = {"id": "e", "event_type": "b", "event_name": "zz", "__op": "c",
             "event_data": '{"n": 1e3, "s":"x", "o":{"k":1}}'}
    candidates = fuzz.shrink_candidates(f, event)
    assert all(fuzz.size(cf, ce) < fuzz.size(f, event) for cf, ce in candidates)
    specs = [json.dumps(fuzz.filter_spec(cf)) for cf, _ in candidates]
    assert len(specs) == len(set(specs)) and specs.count(json.dumps(fuzz.filter_spec(f))) == 1  # + slimmer event
    slim = [ce for cf, ce in candidates if cf == f][0]
    assert slim == {"id": "e", "event_type": "b", "__op": "c", "event_data": '{"n": 1e3}'}  # spelling kept
    assert filter_truth(f, slim, True) == filter_truth(f, event, True)


def test_event_data_that_cannot_be_sliced_is_kept_whole():
    f = _filter([{"field": "$.s", "operator": "isNull"}])
    for data in ('{"s":1,"s":2}', '{"s":1} trailing', "not json", '[{"s":1}]'):
        candidates = fuzz.shrink_candidates(f, {"id": "e", "event_data": data, "event_name": "n"})
        assert [ce["event_data"] for _, ce in candidates] == [data]


def test_random_regexes_are_mostly_valid_and_varied():
    import random

    from filters.javaregex import JavaRegexError, translate

    rng = random.Random(1)
    patterns = [fuzz.random_regex(rng) for _ in range(400)]
    valid = 0
    for p in patterns:
        try:
            translate(p)
            valid += 1
        except JavaRegexError:
            pass
    assert valid > 250 and len(set(patterns)) > 350
    assert any("(?<=" in p for p in patterns) and any("\U0001F600" in p for p in patterns)


def test_comparison_leaves_are_valid_models():
    import random

    rng = random.Random(7)
    for _ in range(200):
        leaf = fuzz.random_comparison(rng)
        try:
            Comparison.model_validate(leaf)
        except ValueError as exc:  # only between bounds out of UTF-16 order or a rejected regex may fail
            assert "between" in str(exc) or "regular expression" in str(exc), (leaf, exc)


def test_reproductions_show_invisible_characters_escaped_and_stay_json():
    value = {"a": "\uffff\U0001F600x\u2028\ufffd\ud83d", "b": "é"}
    text = fuzz.visible_json(value)
    assert text == '{"a": "\\uffff\U0001F600x\\u2028\\ufffd\\ud83d", "b": "é"}'
    assert json.loads(text) == value
