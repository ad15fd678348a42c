"""Identifiers and literals are escaped so that no value can change a statement's meaning."""

import math
import random

import pytest

from filters.jsonpath import JsonPathError, parse_json_path, render_json_path
from filters.sqltext import double_literal, quote_identifier, quote_string


def test_identifiers_are_backquoted_and_backticks_doubled():
    assert quote_identifier("raw") == "`raw`"
    assert quote_identifier("raw-business-events") == "`raw-business-events`"
    assert quote_identifier("a`b") == "`a``b`"
    with pytest.raises(ValueError):
        quote_identifier("")
    with pytest.raises(ValueError):
        quote_identifier("a\nb")


@pytest.mark.parametrize("text,sql", [
    ("LoanCreated", "'LoanCreated'"),
    ("it's", "'it''s'"),
    ("back\\slash", "'back\\slash'"),  # a backslash is an ordinary character in Flink SQL literals
    ("", "''"),
    ("two\nlines", "U&'two\\000Alines'"),
    ("é😀", "U&'\\00E9\\D83D\\DE00'"),  # UTF-16 code units, like Java strings
    ("a;b", "U&'a\\003Bb'"),  # never a ';' a statement splitter could cut at
    ("a--b", "U&'a\\002D\\002Db'"),
    ("/*x*/", "U&'\\002F\\002Ax\\002A\\002F'"),
    ("\\ and ' and \n", "U&'\\005C and '' and \\000A'"),
])
def test_string_literals(text, sql):
    assert quote_string(text) == sql


def decode(sql: str) -> str:
    """What Flink reads from a literal produced by quote_string (plain or U&)."""
    if sql.startswith("U&'"):
        body = sql[3:-1].replace("''", "'")
        units, i = [], 0
        while i < len(body):
            if body[i] == "\\":
                units.append(int(body[i + 1 : i + 5], 16))
                i += 5
            else:
                units.append(ord(body[i]))
                i += 1
        return b"".join(u.to_bytes(2, "big") for u in units).decode("utf-16-be")
    return sql[1:-1].replace("''", "'")


def test_literals_round_trip_and_stay_on_one_printable_line():
    rng = random.Random(3)
    alphabet = "ab'\"\\;-/*\n\r\t\x00 éß😀\u2028\u202e`$"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        sql = quote_string(text)
        assert decode(sql) == text
        assert all(0x20 <= ord(ch) < 0x7F for ch in sql) and ";" not in sql and "--" not in sql and "/*" not in sql


def test_double_literals_are_exact_and_typed_double():
    rng = random.Random(5)
    values = [0.0, 1.0, -2.5, 10000.0, 0.1, 1e300, 5e-324, 1.7976931348623157e308] + [
        rng.uniform(-1e9, 1e9) for _ in range(1000)] + [rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(1000)]
    for v in values:
        sql = double_literal(v)
        assert "E" in sql and float(sql) == v
    assert double_literal(10000.0) == "1E4" and double_literal(-0.0) == "0E0" and double_literal(123.456) == "1.23456E2"
    with pytest.raises(ValueError):
        double_literal(math.nan)


@pytest.mark.parametrize("path,segments,canonical", [
    ("$.a.b", ("a", "b"), "$.a.b"),
    ("$.eventBody.entities[0].updatedAttributes.loan.loanAmount",
     ("eventBody", "entities", 0, "updatedAttributes", "loan", "loanAmount"),
     "$.eventBody.entities[0].updatedAttributes.loan.loanAmount"),
    ("$['a b']['c.d']", ("a b", "c.d"), "$['a b']['c.d']"),
    ("$['plain']", ("plain",), "$.plain"),
    ("$.a-b", ("a-b",), "$['a-b']"),
    ("$['it\\'s']['back\\\\slash']", ("it's", "back\\slash"), "$['it\\'s']['back\\\\slash']"),
    ("$[0][12]", (0, 12), "$[0][12]"),
    ("$.é", None, None),
])
def test_json_paths(path, segments, canonical):
    if segments is None:
        with pytest.raises(JsonPathError):
            parse_json_path(path)
        return
    assert parse_json_path(path) == segments
    assert render_json_path(segments) == canonical
    assert parse_json_path(canonical) == segments


@pytest.mark.parametrize("path", ["a.b", "$", "$.", "$..a", "$.*", "$[*]", "$.a[?(@.x)]", "$[0:2]", "$[0,1]", "$[-1]",
                                  "$[01]", "$[ 0 ]", '$["a"]', "$['a'", "$['a\\x']", "$.a.length()", "$a"])
def test_rejected_json_paths(path):
    with pytest.raises(JsonPathError):
        parse_json_path(path)
