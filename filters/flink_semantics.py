"""How Flink turns event values into the strings and numbers a filter compares — in one place.

Every rule here was observed on Flink 2.2.1 (batch job over the json format, see docs/filters.md,
"To verify against Flink"); if a differential run against the real job disagrees, fix it here.

- JSON_VALUE(event_data, path): the document is parsed by Jackson with floats kept as BigDecimal;
  text after the first JSON value is ignored; invalid JSON, a missing step, JSON null, an object or an
  array give NULL. Scalars come back as text: strings as-is, true/false, integers in full, other
  numbers as BigDecimal.toString() (1e3 -> '1E+3', 1e-5 -> '0.00001', -0.0 -> '0.0').
- TRY_CAST(text AS DOUBLE) is Java's Double.parseDouble: trims characters <= U+0020, accepts
  hex floats (0x1p3), a d/f suffix, 'NaN' and 'Infinity'; anything else is NULL.
- NaN is kept out of the number domain on purpose: Flink's planner rewrites NOT(x > 1) into x <= 1,
  which is not the same for NaN. A text containing 'NaN' is either a spelling of NaN (' NaN', '-NaN')
  or not a number at all ('1NaN2'), so the compiler turns every such text into NULL before casting
  (CASE WHEN POSITION('NaN' IN text) > 0 THEN NULL ELSE TRY_CAST(text AS DOUBLE) END), which changes no
  other value, and so does `text_to_number`.
- Text ordering (<, >, BETWEEN) in the deployed job compares UTF-16 code units (Java's
  String.compareTo), not code points: see `text_order_key`.
- Flat columns declared STRING receive JSON numbers/booleans/objects as their text (Jackson asText /
  compact toString).
"""

from __future__ import annotations

import functools
import json
import math
import re
from decimal import Decimal
from typing import Any

#: a text containing this is NULL as a number (the compiler's CASE and `text_to_number` agree)
NAN_TOKEN = "NaN"

_JSON_WHITESPACE = " \t\n\r"

# Double.valueOf's grammar (after trimming), from the JDK documentation.
_DEC = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_HEX = r"0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+"
_JAVA_DOUBLE = re.compile(rf"([+-]?)(?:(NaN)|(Infinity)|({_DEC})[fFdD]?|({_HEX})[fFdD]?)")


class _Invalid:
    """Marker for text that is not JSON (JSON_VALUE then yields NULL)."""


INVALID = _Invalid()


def java_parse_double(text: str) -> float | None:
    """Flink's TRY_CAST(text AS DOUBLE): Java's Double.parseDouble, or None where it would throw."""
    trimmed = _java_trim(text)
    m = _JAVA_DOUBLE.fullmatch(trimmed)
    if not m:
        return None
    sign = -1.0 if m.group(1) == "-" else 1.0
    if m.group(2):
        return math.nan
    if m.group(3):
        return sign * math.inf
    if m.group(4):
        return sign * float(m.group(4))
    return sign * float.fromhex(m.group(5))


def text_to_number(text: str | None) -> float | None:
    """The compiler's number conversion: NULL for a text containing 'NaN', else TRY_CAST(text AS DOUBLE).

    Every text Java parses as NaN contains 'NaN', and no text containing 'NaN' parses as anything else,
    so this is exactly TRY_CAST with NaN made NULL.
    """
    if text is None or NAN_TOKEN in text:
        return None
    return java_parse_double(text)


def text_order_key(text: str) -> bytes:
    """The order Flink's deployed job uses for text: UTF-16 code units (Java's String.compareTo).

    Flink's BinaryStringData.compareTo compares the Java Strings when both sides still hold one, and
    the UTF-8 bytes (code point order) otherwise. In the routing job every compared text holds one: literals,
    JSON_VALUE results, and column values, because the Kafka source, the filters and the sinks run chained
    in one task, so no row is serialized in between (with chaining off, columns compare by code point).
    The two orders differ only between characters at U+10000 and above and those from U+E000 to U+FFFF:
    '\U0001F600' (units D83D DE00) sorts before '\uFFFD'.
    """
    return text.encode("utf-16-be", "surrogatepass")


def _java_trim(text: str) -> str:
    # String.trim(): strips every character <= U+0020 (all ASCII controls), nothing else.
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


@functools.lru_cache(maxsize=64)
def parse_json_document(text: str) -> Any:
    """Jackson's reading of event_data: the first JSON value, trailing text ignored; INVALID otherwise.

    Cached because every comparison of every filter reads the same event's document; callers must not
    modify the result.
    """
    start = 0
    while start < len(text) and text[start] in _JSON_WHITESPACE:
        start += 1
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return INVALID
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def json_scalar_text(value: Any) -> str | None:
    """How JSON_VALUE renders the value it found; None for JSON null, objects and arrays."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        # BigDecimal has no negative zero; otherwise Python's Decimal prints like BigDecimal.toString().
        return str(value.copy_abs() if value.is_zero() else value)
    return None


def json_value(document: str | None, segments: tuple[str | int, ...]) -> str | None:
    """JSON_VALUE(document, path) for a path already split into keys and indexes."""
    if document is None:
        return None
    node = parse_json_document(document)
    if node is INVALID:
        return None
    for seg in segments:
        if isinstance(seg, int):
            if not isinstance(node, list) or seg >= len(node):
                return None
            node = node[seg]
        else:
            if not isinstance(node, dict) or seg not in node:
                return None
            node = node[seg]
    return json_scalar_text(node)


def string_column_text(value: Any) -> str | None:
    """A raw-topic field read into a STRING column by Flink's json format."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double_to_string(value)
    if isinstance(value, (dict, list)):
        return _compact_json(value)
    return str(value)


def bigint_column_value(value: Any) -> float | None:
    """A number field (`__ts_ms`, `__lsn`) as the DOUBLE the compiler casts it to: the field is read as text
    and typed with TRY_CAST(text AS BIGINT) (a value that does not cast is a dead letter, see
    `dead_letter_reason`)."""
    number = text_to_bigint(string_column_text(value))
    return None if number is None else float(number)


def text_to_bigint(text: str | None) -> int | None:
    """Flink's TRY_CAST(text AS BIGINT): spaces trimmed, an optional sign, decimal digits, and an optional
    '.' followed by digits only, which are dropped ('12.9' is 12); outside the 64-bit range, or anything
    else, is NULL."""
    if text is None:
        return None
    trimmed = text.strip(" ")
    m = _BIGINT_TEXT.fullmatch(trimmed)
    if not m or trimmed in ("", "+", "-"):
        return None
    number = int(m.group(2) or "0") * (-1 if m.group(1) == "-" else 1)
    return number if -(2**63) <= number < 2**63 else None


_BIGINT_TEXT = re.compile(r"([+-]?)([0-9]*)(?:\.[0-9]*)?")


def dead_letter_reason(event: Any, number_fields: tuple[str, ...]) -> str | None:
    """Why the local routing job sends a raw record (parsed JSON) to the dead-letter topic, or None: not a
    JSON object, or a number field whose text does not cast to BIGINT (compiler.type_problem_sql)."""
    if not isinstance(event, dict):
        return "not a JSON object"
    for name in number_fields:
        text = string_column_text(event.get(name))
        if text is not None and text_to_bigint(text) is None:
            return f"{name} is not a whole number"
    return None


def _compact_json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _compact_json(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact_json(v) for v in value) + "]"
    if isinstance(value, float):
        return java_double_to_string(value)
    return json.dumps(value, ensure_ascii=False)


def java_double_to_string(value: float) -> str:
    """Java's Double.toString (shortest digits, as JDK 19+; JDK 17 differs in rare last digits)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    _, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # position of the decimal point relative to the digits
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{text}"
        if point >= len(text):
            return f"{sign}{text}{'0' * (point - len(text))}.0"
        return f"{sign}{text[:point]}.{text[point:]}"
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{sign}{mantissa}E{point - 1}"
