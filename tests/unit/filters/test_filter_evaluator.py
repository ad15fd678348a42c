"""The local evaluator: Flink SQL's three-valued logic and value conversions."""

import json

import pytest

from filters.evaluator import comparison_truth, condition_truth, evaluate_event, evaluate_events, typed_value
from filters.flink_semantics import dead_letter_reason
from filters.loader import load_pipeline_text
from filters.model import AllOf, AnyOf, Comparison, Not

AMOUNT = "$.eventBody.entities[0].updatedAttributes.loan.loanAmount"


def event(data=None, **columns):
    base = {"id": "e1", "event_name": "LoanCreated", "event_type": "LoanCreated", "__op": "c",
            "__table": "business_events", "__ts_ms": 1705312205000}
    base.update(columns)
    if data is not None:
        base["event_data"] = data if isinstance(data, str) else json.dumps(data)
    return base


def loan(amount_json: str) -> str:
    return '{"eventBody":{"entities":[{"updatedAttributes":{"loan":{"loanAmount":%s}}}]}}' % amount_json


def truth(cond, ev):
    return condition_truth(cond, ev)


def cmp(field, operator, value=None, values=None, type="string"):
    kwargs = {"field": field, "operator": operator, "type": type}
    if value is not None:
        kwargs["value"] = value
    if values is not None:
        kwargs["values"] = values
    return Comparison(**kwargs)


def test_seed_pipeline_routes_creates_only():
    p = load_pipeline_text(open("filters/filters.yaml", encoding="utf-8").read())
    assert evaluate_event(p, event()) == ["filtered-loan-created-events"]
    assert evaluate_event(p, event(__op="u")) == []
    assert evaluate_event(p, event(__op=None)) == []  # NULL __op: IN is NULL, not routed
    assert evaluate_event(p, event(event_name="CarServiceDone", event_type="Other")) == ["filtered-service-events"]
    assert evaluate_event(p, {"id": "x"}) == []


def test_missing_values_are_null_and_comparisons_on_null_are_unknown():
    ev = event(data={"a": 1})
    for op, value, values in [("equals", "x", None), ("notEquals", "x", None), ("in", None, ["x"]),
                              ("notIn", None, ["x"]), ("matches", ".*", None), ("greaterThan", "a", None),
                              ("between", None, ["a", "z"])]:
        assert comparison_truth(cmp("$.missing", op, value, values), ev) is None, op
    assert comparison_truth(cmp("$.missing", "isNull"), ev) is True
    assert comparison_truth(cmp("$.missing", "isNotNull"), ev) is False
    assert comparison_truth(cmp("event_type", "notEquals", "x"), event(event_type=None)) is None


def test_kleene_logic_in_groups():
    ev = event(data={"a": "x"})
    true, false, null = cmp("$.a", "equals", "x"), cmp("$.a", "equals", "y"), cmp("$.none", "equals", "x")
    assert truth(AllOf(all=(true, null)), ev) is None
    assert truth(AllOf(all=(false, null)), ev) is False
    assert truth(AnyOf(any=(true, null)), ev) is True
    assert truth(AnyOf(any=(false, null)), ev) is None
    assert truth(Not(**{"not": null}), ev) is None
    assert truth(Not(**{"not": false}), ev) is True


def test_route_only_when_whole_condition_is_true():
    p = load_pipeline_text("""
version: 1
source: {topic: raw}
filters:
  - id: not-test
    outputTopic: t
    conditions:
      - not: {field: $.name, operator: matches, value: '^Test'}
""")
    assert evaluate_event(p, event(data={"name": "Real"})) == ["t"]
    assert evaluate_event(p, event(data={"name": "Testing"})) == []
    assert evaluate_event(p, event(data={})) == []  # NOT(NULL) is NULL


def test_numbers_follow_flink_text_to_double():
    c = cmp(AMOUNT, "greaterThan", 10000.0, type="number")
    for literal, expected in [("10001", True), ("10000", False), ("1e5", True), ('"20000"', True), ('" 12 "', False),
                              ('"1e5"', True), ('"0x1p14"', True), ('"20000d"', True), ('"abc"', None), ('""', None),
                              ('"NaN"', None), ('"Infinity"', True), ('"-Infinity"', False), ("true", None),
                              ("null", None), ("{}", None), ("[20000]", None), ('"1_000_000"', None)]:
        assert comparison_truth(c, event(data=loan(literal))) is expected, literal


def test_nan_is_not_a_number_even_under_not():
    # Flink rewrites NOT(x > 1) into x <= 1; a text containing 'NaN' is NULL, so both forms stay equal.
    c = Not(**{"not": cmp("$.v", "greaterThan", 1.0, type="number")})
    for text in ("NaN", "-NaN", " NaN ", "NNaNaN", "NaNNaN"):
        assert truth(c, event(data={"v": text})) is None, text
    between = Not(**{"not": cmp("$.v", "between", values=[0.0, 1e-05], type="number")})
    assert truth(between, event(data={"v": "NNaNaN"})) is None


@pytest.mark.parametrize("text", ["1NaN2", "12NaN", "-NaN5", "1e3NaN", "NaNInfinity", "NNaNaN", "NaN", "+NaN"])
def test_texts_containing_nan_are_not_numbers(text):
    # The documented meaning: a text that is not a number is NULL (the old REPLACE read '1NaN2' as 12).
    assert comparison_truth(cmp("$.v", "isNotNull", type="number"), event(data={"v": text})) is False
    assert comparison_truth(cmp("$.v", "isNull", type="number"), event(data={"v": text})) is True
    assert comparison_truth(cmp("event_name", "isNull", type="number"), event(event_name=text)) is True


def test_texts_without_nan_keep_their_number():
    for text, number in [("12", 12.0), (" 1e3 ", 1000.0), ("-0", 0.0), ("0x1p3", 8.0), ("12d", 12.0)]:
        assert comparison_truth(cmp("$.v", "equals", number, type="number"), event(data={"v": text})) is True, text
    assert comparison_truth(cmp("$.v", "greaterThan", 1e308, type="number"), event(data={"v": "Infinity"})) is True


def test_negative_zero_equals_zero():
    assert comparison_truth(cmp("$.v", "equals", 0.0, type="number"), event(data='{"v":-0.0}')) is True
    assert comparison_truth(cmp("$.v", "in", values=[0.0], type="number"), event(data='{"v":"-0"}')) is True


def test_json_value_text_rendering_for_string_comparisons():
    def text(doc):
        return typed_value(cmp("$.v", "isNull"), event(data=doc))

    assert text('{"v":10000}') == "10000"
    assert text('{"v":1.5}') == "1.5"
    assert text('{"v":1e3}') == "1E+3"
    assert text('{"v":-0.0}') == "0.0"
    assert text('{"v":1e-5}') == "0.00001"
    assert text('{"v":12345678901234567890}') == "12345678901234567890"
    assert text('{"v":true}') == "true"
    assert text('{"v":"x\\ny"}') == "x\ny"
    assert text('{"v":{"a":1}}') is None and text('{"v":[1]}') is None and text('{"v":null}') is None
    assert text('{"v":1} trailing text') == "1"
    assert text("not json") is None and text("") is None and text('{"v":NaN}') is None and text('{"v":01}') is None
    assert text('{"v":1,"v":2}') == "2"


def test_booleans_accept_only_true_and_false():
    c = cmp("$.v", "equals", True, type="boolean")
    assert comparison_truth(c, event(data={"v": True})) is True
    assert comparison_truth(c, event(data={"v": "true"})) is True
    assert comparison_truth(c, event(data={"v": False})) is False
    for other in ("TRUE", "True", 1, "yes", None, [True]):
        assert comparison_truth(c, event(data={"v": other})) is None, other
    assert comparison_truth(cmp("$.v", "isNull", type="boolean"), event(data={"v": "yes"})) is True


def test_in_and_not_in():
    ev = event(data={"v": "b"})
    assert comparison_truth(cmp("$.v", "in", values=["a", "b"]), ev) is True
    assert comparison_truth(cmp("$.v", "notIn", values=["a", "b"]), ev) is False
    assert comparison_truth(cmp("$.v", "notIn", values=["a"]), ev) is True


def test_between_is_inclusive_and_strings_compare_by_utf16_code_unit():
    assert comparison_truth(cmp("$.v", "between", values=[1.0, 2.0], type="number"), event(data={"v": 2})) is True
    assert comparison_truth(cmp("$.v", "between", values=["a", "b"]), event(data={"v": "b"})) is True
    assert comparison_truth(cmp("$.v", "greaterThan", "Z"), event(data={"v": "a"})) is True
    assert comparison_truth(cmp("$.v", "greaterThan", "z"), event(data={"v": "é"})) is True
    assert comparison_truth(cmp("$.v", "equals", "abc"), event(data={"v": "abc "})) is False  # no blank padding


def test_text_order_is_the_deployed_jobs_utf16_order():
    # '😀' is U+1F600 but the units D83D DE00 in Java: it sorts before U+E000..U+FFFF (the cases)
    emoji = "\U0001F600"
    assert comparison_truth(cmp("$.a", "greaterThan", "\uff11\uff12"), event(data={"a": emoji})) is False
    assert comparison_truth(cmp("event_type", "lessThan", "\ufffd"), event(event_type=emoji)) is True
    assert comparison_truth(cmp("$.a", "between", values=["a", "\ue000"]), event(data={"a": emoji})) is True
    assert comparison_truth(cmp("event_name", "greaterThanOrEqual", "\ud7ff"), event(event_name=emoji)) is True
    assert comparison_truth(cmp("$.a", "lessThanOrEqual", "\U0001F601"), event(data={"a": "\uffff"})) is False
    # equality is unaffected
    assert comparison_truth(cmp("$.a", "in", values=[emoji]), event(data={"a": emoji})) is True


def test_between_bounds_are_validated_in_the_same_order():
    Comparison(field="$.a", operator="between", values=["\U0001F600", "\ufffd"])  # low <= high in UTF-16
    with pytest.raises(ValueError, match="UTF-16 code units"):
        Comparison(field="$.a", operator="between", values=["\ufffd", "\U0001F600"])


def test_text_values_cannot_hold_lone_surrogates():
    # a YAML "\\ud800" escape makes one; no SQL literal can hold it, so it is an error, not a crash
    with pytest.raises(ValueError, match="lone UTF-16 surrogate"):
        Comparison(field="$.a", operator="equals", value="a\ud800")


def test_regex_over_characters_above_uffff_is_javas():
    # find() may start between the two halves of a pair, where Java sees a lone low surrogate
    assert comparison_truth(cmp("$.v", "matches", "(?<!^)."), event(data={"v": "\U0001F600"})) is True
    assert comparison_truth(cmp("$.v", "matches", "^.$"), event(data={"v": "\U0001F600"})) is True
    assert comparison_truth(cmp("$.v", "matches", "[^\\x{1F600}]"), event(data={"v": "\U0001F600"})) is False


def test_flat_columns():
    assert comparison_truth(cmp("__ts_ms", "greaterThan", 1.0, type="number"), event()) is True
    # number fields are read as text and cast: a number given as text is that number
    assert comparison_truth(cmp("__ts_ms", "equals", 123.0, type="number"), event(__ts_ms="123")) is True
    assert comparison_truth(cmp("__ts_ms", "isNull", type="number"), event(__ts_ms=None)) is True
    assert comparison_truth(cmp("id", "greaterThan", 5.0, type="number"), event(id=" 7 ")) is True
    assert comparison_truth(cmp("id", "equals", "7"), event(id=7)) is True  # json format: number read as text


def test_event_data_given_as_an_object_is_read_as_its_json_text():
    assert comparison_truth(cmp("$.v", "equals", "1.5"), {"event_data": {"v": 1.5}}) is True


def test_regex_is_java_find():
    c = cmp("$.v", "matches", "^Test$")
    assert comparison_truth(c, event(data={"v": "Test\n"})) is True  # $ before a final line terminator
    assert comparison_truth(c, event(data={"v": "Test\u2028"})) is True
    assert comparison_truth(c, event(data={"v": "Test\n\n"})) is False
    assert comparison_truth(cmp("$.v", "matches", "Test."), event(data={"v": "Test\u0085"})) is False
    assert comparison_truth(cmp("$.v", "matches", "(?i)k"), event(data={"v": "\u212a"})) is False
    assert comparison_truth(cmp("$.v", "matches", "\\w"), event(data={"v": "é"})) is False
    assert comparison_truth(cmp("$.v", "matches", "b"), event(data={"v": "abc"})) is True


def test_match_any_and_operations():
    p = load_pipeline_text("""
version: 1
source: {topic: raw}
filters:
  - id: a
    outputTopic: t
    operations: [u, d]
    match: any
    conditions:
      - {field: event_type, operator: equals, value: X}
      - {field: $.n, operator: greaterThan, value: 5, type: number}
""")
    assert evaluate_event(p, event(data={"n": 6}, __op="u")) == ["t"]
    assert evaluate_event(p, event(data={"n": 6}, __op="c")) == []
    assert evaluate_event(p, event(data={}, __op="d", event_type="X")) == ["t"]
    assert evaluate_event(p, event(data={}, __op="d")) == []


def test_evaluate_events_and_disabled_filters():
    p = load_pipeline_text("""
version: 1
source: {topic: raw, cdcMetadata: false}
filters:
  - {id: all, outputTopic: b-all}
  - {id: off, outputTopic: off, enabled: false}
  - {id: loans, outputTopic: a-loans, conditions: [{field: event_type, operator: equals, value: LoanCreated}]}
""")
    assert evaluate_events(p, [event(), {"id": "2", "event_type": "Other"}]) == [
        {"id": "e1", "topics": ["a-loans", "b-all"]},
        {"id": "2", "topics": ["b-all"]},
    ]


@pytest.mark.parametrize("text,expected", [("10000", 10000.0), ("1e3", 1000.0), ("1E+3", 1000.0)])
def test_number_equality_ignores_spelling(text, expected):
    c = cmp("$.v", "equals", expected, type="number")
    assert comparison_truth(c, event(data='{"v":%s}' % text)) is True


def test_records_the_job_dead_letters_are_routed_nowhere():
    p = load_pipeline_text("version: 1\nsource: {topic: raw}\nfilters:\n  - {id: a, outputTopic: ta}\n")
    assert evaluate_event(p, event()) == ["ta"]
    for bad in ("abc", "1e3", True, {"a": 1}, 1.5e300):
        assert evaluate_event(p, event(__ts_ms=bad)) == [], bad
    assert evaluate_event(p, event(__lsn="12.7")) == ["ta"]  # Flink's cast drops the fraction
    assert dead_letter_reason(event(__lsn="x"), ("__ts_ms", "__lsn")) == "__lsn is not a whole number"
    assert dead_letter_reason([1], ("__ts_ms",)) == "not a JSON object"
    no_cdc = load_pipeline_text("version: 1\nsource: {topic: raw, cdcMetadata: false}\nfilters:\n  - {id: a, outputTopic: ta}\n")
    assert evaluate_event(no_cdc, event(__ts_ms="abc")) == ["ta"]  # not read at all without CDC metadata
