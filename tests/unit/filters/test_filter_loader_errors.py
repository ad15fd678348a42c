"""Every mistake is reported as file:line:col with what would be valid; all of a file's mistakes at once."""

import textwrap

import pytest

from filters.loader import FilterConfigError, load_pipeline, load_pipeline_text
from filters.model import Comparison, Pipeline
from pipeline.errors import ConfigError

HEAD = """\
version: 1
source:
  topic: raw-business-events
filters:
"""


def errors_of(text: str, head: str = HEAD) -> list[str]:
    with pytest.raises(FilterConfigError) as info:
        load_pipeline_text(head + textwrap.dedent(text), "f.yaml")
    assert isinstance(info.value, ConfigError)
    return str(info.value).splitlines()


def one_error(text: str, head: str = HEAD) -> str:
    errors = errors_of(text, head)
    assert len(errors) == 1, errors
    return errors[0]


LEAF = """\
  - id: a
    outputTopic: t
    conditions:
      - field: {field}
        operator: {operator}
{rest}"""


def leaf(field="event_type", operator="equals", rest="        value: x\n"):
    return LEAF.format(field=field, operator=operator, rest=rest)


def test_valid_file_loads():
    p = load_pipeline_text(HEAD + leaf(), "f.yaml")
    assert isinstance(p, Pipeline) and p.filters[0].conditions[0] == Comparison(field="event_type", operator="equals", value="x")


def test_unknown_operator_names_valid_ones_and_suggests():
    assert one_error(leaf(operator="equal")) == (
        "f.yaml:9:17: unknown operator 'equal'; valid: equals, notEquals, in, notIn, greaterThan, lessThan, "
        "greaterThanOrEqual, lessThanOrEqual, between, matches, isNull, isNotNull (did you mean 'equals'?)"
    )


def test_unknown_key_in_filter_and_comparison():
    errors = errors_of("""\
      - id: a
        outputtopic: t
        conditions:
          - field: event_type
            operater: equals
            value: x
    """)
    assert errors == [
        "f.yaml:5:3: a filter is missing required key 'outputTopic'",
        "f.yaml:6:3: unknown key 'outputtopic' in a filter; valid: id, name, outputTopic, consumerGroup, enabled, "
        "operations, match, conditions (did you mean 'outputTopic'?)",
        "f.yaml:8:7: a comparison is missing required key 'operator'",
        "f.yaml:9:7: unknown key 'operater' in a comparison; valid: field, operator, value, values, type "
        "(or a group: all, any, not) (did you mean 'operator'?)",
    ]


def test_unknown_field_and_bad_json_paths():
    assert one_error(leaf(field="event_typ")).startswith("f.yaml:8:14: unknown field 'event_typ'; valid: id, event_name,")
    assert "did you mean 'event_type'?" in one_error(leaf(field="event_typ"))
    assert one_error(leaf(field="$.a[*].b")) == (
        "f.yaml:8:14: invalid JSON path '$.a[*].b' at character 5: wildcard [*] is not allowed (it can select several values)"
    )
    assert one_error(leaf(field="$..b")).startswith("f.yaml:8:14: invalid JSON path '$..b' at character 2: recursive descent")
    assert "filter expressions" in one_error(leaf(field="'$.a[?(@.x)]'"))
    assert "negative array indexes" in one_error(leaf(field="$.a[-1]"))
    assert "functions such as length()" in one_error(leaf(field="$.a.length()"))
    assert "must name a value" in one_error(leaf(field="$"))


def test_value_arity_and_types():
    assert one_error(leaf(operator="in")) == "f.yaml:10:14: operator 'in' takes 'values' (a list), not 'value'"
    assert one_error(leaf(operator="equals", rest="        values: [a, b]\n")) == (
        "f.yaml:10:15: operator 'equals' takes one 'value', not 'values'; for several values use 'in' with 'values'"
    )
    assert one_error(leaf(operator="equals", rest="")) == "f.yaml:8:7: operator 'equals' needs a 'value'"
    assert one_error(leaf(operator="between", rest="        values: [1, 2, 3]\n        type: number\n")) == (
        "f.yaml:10:15: operator 'between' takes exactly two values [low, high], got 3"
    )
    assert one_error(leaf(operator="between", rest="        values: [9, 2]\n        type: number\n")) == (
        "f.yaml:10:15: between needs [low, high]; 9 is above 2"
    )
    assert one_error(leaf(operator="isNull")) == "f.yaml:10:14: operator 'isNull' takes no value; remove 'value'"
    assert one_error(leaf(operator="in", rest="        values: []\n")) == "f.yaml:10:15: operator 'in' needs at least one value"
    assert one_error(leaf(rest="        value: 10000\n")) == (
        "f.yaml:10:14: expected text for type string, got number 10000; quote it ('10000') or set type: number / boolean"
    )
    assert one_error(leaf(field="$.n", operator="greaterThan", rest="        value: '10'\n        type: number\n")) == (
        "f.yaml:10:14: expected a number for type number, got text '10'"
    )
    assert one_error(leaf(field="$.b", rest="        value: 'yes'\n        type: boolean\n")) == (
        "f.yaml:10:14: expected true or false for type boolean, got text 'yes'"
    )
    assert "quote it ('2024-01-15')" in one_error(leaf(rest="        value: 2024-01-15\n"))
    assert one_error(leaf(field="$.n", rest="        value: .nan\n        type: number\n")) == (
        "f.yaml:10:14: numbers must be finite (no .nan or .inf)"
    )
    assert "cannot be represented exactly" in one_error(leaf(field="$.n", rest="        value: 12345678901234567891\n        type: number\n"))


def test_null_values_are_rejected_with_the_null_operators_named():
    assert one_error(leaf(rest="        value: null\n")) == (
        "f.yaml:10:14: null is not a value; use operator isNull or isNotNull to test for a missing value"
    )
    assert one_error(leaf(operator="in", rest="        values: [a, null]\n")) == (
        "f.yaml:10:19: null is not a value; use operator isNull or isNotNull to test for a missing value"
    )


def test_type_rules():
    assert one_error(leaf(rest="        value: x\n        type: text\n")) == (
        "f.yaml:11:13: unknown type 'text'; valid: string, number, boolean"
    )
    assert one_error(leaf(field="__ts_ms", rest="        value: x\n        type: string\n")) == (
        "f.yaml:11:13: field '__ts_ms' is a number column; type must be number"
    )
    assert one_error(leaf(field="event_type", rest="        value: true\n        type: boolean\n")) == (
        "f.yaml:11:13: field 'event_type' is a text column; type must be string or number"
    )
    assert one_error(leaf(field="$.n", operator="matches", rest="        value: 1\n        type: number\n")) == (
        "f.yaml:9:17: operator 'matches' works on text; use type string"
    )
    assert one_error(leaf(field="$.b", operator="greaterThan", rest="        value: true\n        type: boolean\n")) == (
        "f.yaml:9:17: operator 'greaterThan' does not apply to booleans; valid: equals, notEquals, in, notIn, isNull, isNotNull"
    )
    assert one_error(leaf(field="__op", rest="        value: create\n")) == "f.yaml:10:14: __op is one of c, u, d, r; got 'create'"


def test_bad_regular_expressions_point_at_the_value():
    assert one_error(leaf(operator="matches", rest="        value: 'a++'\n")) == (
        "f.yaml:10:14: regular expression 'a++' rejected at character 3: possessive quantifiers (*+, ++, ?+, {n}+) are not supported"
    )
    assert "unclosed group" in one_error(leaf(operator="matches", rest="        value: '(ab'\n"))
    assert "\\p{...}" in one_error(leaf(operator="matches", rest="        value: '\\p{L}'\n"))
    assert "pattern is empty" in one_error(leaf(operator="matches", rest="        value: ''\n"))


def test_filter_scalar_types():
    errors = errors_of("""\
      - id: a
        outputTopic: t
        enabled: 'yes'
        match: every
        operations: [c, create]
        conditions: {field: id, operator: isNull}
    """)
    assert errors == [
        "f.yaml:7:12: enabled must be true or false; got text 'yes'",
        "f.yaml:8:10: unknown match 'every'; valid: all, any",
        "f.yaml:9:19: unknown operation 'create'; valid: c, u, d, r (create, update, delete, snapshot read)",
        "f.yaml:10:15: conditions must be a list of conditions; got a mapping",
    ]


def test_filter_field_checks():
    errors = errors_of("""\
      - id: Loan_Created
        outputTopic: bad topic
        consumerGroup: 'my group'
        operations: [c, u, c]
        name: "two\\nlines"
    """)
    assert errors == [
        "f.yaml:5:7: invalid id 'Loan_Created'; use lowercase letters, digits and '-' ([a-z0-9-]+)",
        "f.yaml:6:16: invalid Kafka topic name 'bad topic'; use 1-249 characters from letters, digits, '.', '_', '-'",
        "f.yaml:7:18: invalid consumer group 'my group'; use letters, digits, '.', '_', '-'",
        "f.yaml:8:22: operation 'c' is listed twice",
        "f.yaml:9:9: name must be non-empty text on one line (no control characters)",
    ]


def test_duplicates_and_loops_across_filters():
    errors = errors_of("""\
      - id: a
        outputTopic: t1
      - id: a
        outputTopic: t1
      - id: b
        outputTopic: raw-business-events
    """)
    assert errors == [
        "f.yaml:7:7: duplicate filter id 'a' (also filter #1); ids must be unique",
        "f.yaml:8:16: outputTopic 't1' is already used by filter #1; each filter needs its own topic "
        "(combine the conditions with match: any instead)",
        "f.yaml:10:16: outputTopic is the source topic; routing into it would loop",
    ]


def test_cdc_metadata_false_forbids_operations_and_cdc_fields():
    head = "version: 1\nsource:\n  topic: raw-business-events\n  cdcMetadata: false\nfilters:\n"
    errors = errors_of("""\
      - id: a
        outputTopic: t
        operations: [c]
        conditions:
          - any:
              - {field: __op, operator: equals, value: c}
              - {field: __ts_ms, operator: greaterThan, value: 1}
    """, head)
    assert errors[0] == (
        "f.yaml:8:15: operations needs CDC metadata (__op), but source.cdcMetadata is false; remove operations "
        "or use a connector with ExtractNewRecordState and set cdcMetadata: true"
    )
    assert errors[1].startswith("f.yaml:11:19: field '__op' needs CDC metadata, but source.cdcMetadata is false; valid fields: id,")
    assert errors[2].startswith("f.yaml:12:19: field '__ts_ms' needs CDC metadata")
    assert len(errors) == 3


def test_group_shape_errors():
    errors = errors_of("""\
      - id: a
        outputTopic: t
        conditions:
          - not:
              - {field: id, operator: isNull}
          - any: []
          - all: {field: id, operator: isNull}
          - any: [{field: id, operator: isNull}]
            field: id
          - just text
    """)
    assert errors == [
        "f.yaml:9:9: not takes one condition, not a list; wrap several in all: or any:",
        "f.yaml:10:12: any needs at least one condition",
        "f.yaml:11:12: all takes a list of conditions; got a mapping",
        "f.yaml:13:7: a group has exactly one key (all, any, not); found any, field — put comparisons inside "
        "the group's list or wrap the group in another",
        "f.yaml:14:7: a condition must be a mapping: a comparison (field, operator, ...) or a group (all, any, not); "
        "got text 'just text'",
    ]


def test_top_level_errors():
    assert errors_of("", "") == ["f.yaml:1:1: the file is empty; expected keys version, source, filters"]
    assert errors_of("version: 2\nsource: {topic: t}\nfilters: []\nextra: 1\n", "") == [
        "f.yaml:1:10: unsupported version 2; valid: 1",
        "f.yaml:3:10: filters is empty; add at least one filter",
        "f.yaml:4:1: unknown key 'extra' in the file; valid: version, source, filters",
    ]
    assert errors_of("version: 1\nsource: {topic: 'a b', cdc: true}\nfilters: [{id: a, outputTopic: t}]\n", "") == [
        "f.yaml:2:17: invalid Kafka topic name 'a b'; use 1-249 characters from letters, digits, '.', '_', '-'",
        "f.yaml:2:24: unknown key 'cdc' in source; valid: topic, cdcMetadata",
    ]
    assert errors_of("version: 1\nsource: {topic: t}\nfilters: [{id: a, outputTopic: u, enabled: false}]\n", "") == [
        "f.yaml:3:10: no filter is enabled; the routing job needs at least one enabled filter",
    ]


def test_yaml_syntax_and_duplicate_keys():
    assert errors_of("version: 1\nsource: [a\nfilters: x\n", "") == [
        "f.yaml:3:8: YAML syntax error: expected ',' or ']', but got ':'",
    ]
    dup = errors_of("version: 1\nversion: 1\n", "")
    assert len(dup) == 1 and dup[0].startswith("f.yaml:2:1: YAML syntax error: found duplicate key \"version\"")


def test_all_errors_are_collected_and_sorted():
    errors = errors_of(leaf(field="nope", operator="equal") + leaf(field="$.x", operator="in").replace("id: a", "id: b").replace("outputTopic: t", "outputTopic: u"))
    assert [e.split(":")[1] for e in errors] == ["8", "9", "16"]
    with pytest.raises(FilterConfigError) as info:
        load_pipeline_text(HEAD + leaf(field="nope", operator="equal"), "f.yaml")
    assert [e.line for e in info.value.errors] == [8, 9] and info.value.exit_code == 1
    assert "\n" not in info.value.one_line()


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read filter file"):
        load_pipeline(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"version: 1\nname: \xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_pipeline(bad)


def test_models_enforce_the_same_rules_in_code():
    with pytest.raises(ValueError, match="Input should be 'equals'"):
        Comparison(field="id", operator="equal", value="x")
    with pytest.raises(ValueError, match="unknown field"):
        Comparison(field="nope", operator="equals", value="x")
    with pytest.raises(ValueError, match="possessive"):
        Comparison(field="id", operator="matches", value="a*+")
    assert Comparison(field="__ts_ms", operator="greaterThan", value=5).type == "number"
    with pytest.raises(ValueError, match="duplicate filter id"):
        Pipeline.model_validate({"version": 1, "source": {"topic": "raw"}, "filters": [
            {"id": "a", "outputTopic": "t"}, {"id": "a", "outputTopic": "u"}]})
