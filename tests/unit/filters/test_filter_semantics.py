"""Value rules observed on Flink 2.2.1 (see docs/filters.md, "To verify against Flink")."""

import math

import pytest

from filters.flink_semantics import (
    java_double_to_string,
    java_parse_double,
    json_value,
    string_column_text,
    text_order_key,
    text_to_number,
)

# TRY_CAST(s AS DOUBLE) results recorded from Flink 2.2.1
OBSERVED_TRY_CAST = {
    "1e3": 1000.0, " 12 ": 12.0, "": None, "abc": None, "10000": 10000.0, "+5": 5.0, "-0": -0.0, "0x10": None,
    "0x1p3": 8.0, "1d": 1.0, "1f": 1.0, "1_000": None, ".5": 0.5, "5.": 5.0, "1e": None, "1e+3": 1000.0,
    "Infinity": math.inf, "-Infinity": -math.inf, "inf": None, "nan": None, "\t12\n": 12.0, "\u00a012": None,
    "１２": None, "007": 7.0, "1,5": None, "1E400": math.inf, "-1e-400": -0.0, "4.9e-324": 5e-324,
    "12345678901234567890": 1.2345678901234567e19, "infinity": None, "+Infinity": math.inf, "1.0E10": 1e10,
}


@pytest.mark.parametrize("text", sorted(OBSERVED_TRY_CAST))
def test_try_cast_to_double(text):
    expected = OBSERVED_TRY_CAST[text]
    got = java_parse_double(text)
    assert got == expected and (expected is None or math.copysign(1, got) == math.copysign(1, expected))


def test_nan_is_parsed_but_null_as_a_number():
    assert math.isnan(java_parse_double("NaN")) and math.isnan(java_parse_double(" NaN"))
    assert text_to_number("NaN") is None and text_to_number("-NaN") is None and text_to_number(None) is None
    for text in ("1NaN2", "12NaN", "-NaN5", "1e3NaN", "NaNInfinity", "NNaNaN"):
        assert java_parse_double(text) is None and text_to_number(text) is None, text


@pytest.mark.parametrize("text", sorted(OBSERVED_TRY_CAST))
def test_number_conversion_is_try_cast_for_texts_without_nan(text):
    expected = OBSERVED_TRY_CAST[text]
    got = text_to_number(text)
    assert got == expected and (expected is None or math.copysign(1, got) == math.copysign(1, expected))


def test_compiled_number_conversion_nulls_nan_texts_and_casts_the_rest():
    from filters.compiler import comparison_sql
    from filters.model import Comparison

    sql = comparison_sql(Comparison(field="$.a", operator="isNotNull", type="number"))
    assert sql == ("CASE WHEN POSITION('NaN' IN JSON_VALUE(`event_data`, '$.a')) > 0 THEN CAST(NULL AS DOUBLE) "
                   "ELSE TRY_CAST(JSON_VALUE(`event_data`, '$.a') AS DOUBLE) END IS NOT NULL")
    assert "REPLACE" not in sql


def test_text_order_key_is_utf16_code_units():
    words = ["\U0001F600", "\uffff", "\ue000", "\ud7ff", "a", "", "\U00010000", "\U0010FFFF", "\uff11\uff12"]
    assert sorted(words, key=text_order_key) == ["", "a", "\ud7ff", "\U00010000", "\U0001F600", "\U0010FFFF",
                                                 "\ue000", "\uff11\uff12", "\uffff"]
    assert text_order_key("\ud83d") < text_order_key("\U0001F600")  # a lone surrogate is one unit


# JSON_VALUE(doc, '$.v') results recorded from Flink 2.2.1
OBSERVED_JSON_VALUE = {
    '{"v":10000}': "10000", '{"v":1.5}': "1.5", '{"v":1e3}': "1E+3", '{"v":1E+3}': "1E+3", '{"v":1.0}': "1.0",
    '{"v":-0}': "0", '{"v":-0.0}': "0.0", '{"v":12345678901234567890}': "12345678901234567890", '{"v":1e400}': "1E+400",
    '{"v":true}': "true", '{"v":"true"}': "true", '{"v":null}': None, '{"v":{"a":1}}': None, '{"v":[1,2]}': None,
    "{}": None, "not json": None, '{"v":1} trailing': "1", '{"v":0.1}': "0.1", '{"v":1e-5}': "0.00001",
    '{"v":123456789012.5}': "123456789012.5", '{"v":1e7}': "1E+7", '{"v":0.001}': "0.001", '{"v":1,"v":2}': "2",
    "[1,2]": None, '{"v":NaN}': None, '{"v":"x\\ny"}': "x\ny", "{'v':1}": None, '{"v":2e-3}': "0.002",
    '{"v":1.0E23}': "1.0E+23", '{"v": 9007199254740993}': "9007199254740993",
    '{"v":100000000000000000000.0}': "100000000000000000000.0", "": None, '  {"v":5}  ': "5", '{"v":5}{"v":6}': "5",
    '{"v":01}': None, '{"v":"a\\u00e9\\ud83d\\ude00"}': "aé😀",
}


@pytest.mark.parametrize("doc", sorted(OBSERVED_JSON_VALUE))
def test_json_value_rendering(doc):
    assert json_value(doc, ("v",)) == OBSERVED_JSON_VALUE[doc]


def test_json_value_paths():
    doc = '{"a-b":1,"a b":2,"a.b":3,"a\'b":4,"é":5,"a\\\\b":6,"$":7,"0":8,"a":{"b":[10,{"c":11}]}}'
    assert json_value(doc, ("a-b",)) == "1"
    assert json_value(doc, ("a b",)) == "2"
    assert json_value(doc, ("a.b",)) == "3"
    assert json_value(doc, ("a'b",)) == "4"
    assert json_value(doc, ("é",)) == "5"
    assert json_value(doc, ("a\\b",)) == "6"
    assert json_value(doc, ("a", "b", 1, "c")) == "11"
    assert json_value(doc, ("a", "b", 5)) is None
    assert json_value(doc, ("a", 0)) is None
    assert json_value("[1,2]", (0,)) == "1"
    assert json_value(None, ("a",)) is None


def test_text_of_non_string_columns():
    assert string_column_text(7) == "7"
    assert string_column_text(True) == "true"
    assert string_column_text(1.5) == "1.5"
    assert string_column_text({"x": 1, "y": "é", "z": [1.5, True, None]}) == '{"x":1,"y":"é","z":[1.5,true,null]}'


@pytest.mark.parametrize("value,text", [(1.0, "1.0"), (1e7, "1.0E7"), (0.001, "0.001"), (9.999e-4, "9.999E-4"),
                                        (1234567.5, "1234567.5"), (12345678.0, "1.2345678E7"), (-0.0, "-0.0"),
                                        (1.5e-10, "1.5E-10"), (100.0, "100.0"), (math.inf, "Infinity")])
def test_java_double_to_string(value, text):
    assert java_double_to_string(value) == text
