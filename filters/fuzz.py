"""Seeded random filters and edge-value events for a differential fuzz of the evaluator against Flink.

Pure: no I/O. `benchmarks/fuzz.py` runs what this module generates through real Flink (the judge) and
through `filters.evaluator`, compares every routing decision and shrinks each disagreement to a minimal
reproduction with the candidates `shrink_candidates` proposes.

Filters and events draw from the same pools, so comparisons often hit: JSON paths `$.s`, `$.n`, `$.b`,
`$.o.k`, `$.a[1]` and `$['k y']` hold numbers in every spelling, texts that look like numbers, `NaN` and
`Infinity` texts, characters above U+FFFF, line terminators, booleans, null, objects, arrays, or are
missing; event_data is sometimes not JSON at all. Filters use every operator with every type they allow,
nested all/any/not groups, `match: any`, operations, and random Java regular expressions (those the
validator rejects are replaced, and counted).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from filters.model import (
    FLAT_COLUMNS,
    OPERATIONS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Filter,
    Not,
    Pipeline,
    iter_comparisons,
)

#: JSON paths into event_data the filters test and the events fill (key in event_data -> path)
JSON_PATHS = ("$.s", "$.n", "$.b", "$.o.k", "$.a[1]", "$['k y']")
TEXT_COLUMNS = ("id", "event_name", "event_type", "created_date", "saved_date", "__op", "__table")

#: texts used both as event values and as filter values (no lone surrogates: YAML and SQL cannot hold them)
TEXTS = (
    "", " ", "a", "A", "b", "x", "z", "abc", "Test", "test", "Test event", "aTest", "LoanCreated", "loancreated",
    "k", "K", "\u212a", "ß", "é", "İ", "\U0001F600", "\U0001F600x", "x\U0001F600", "a\U0001F600b", "\U0001F601",
    "\U00010000", "\U0010FFFF", "\uFFFD", "\uE000", "\uD7FF", "\uFF11\uFF12", "\uFFFF", "\u00e9\U0001F600",
    "a\nb", "a\n", "Test\r\n", "Test\r", "\u0085", "Test\u2028", "\u2029x", "a\u2028b", "tab\there", "\x00nul",
    "NaN", "-NaN", "+NaN", " NaN ", "nan", "1NaN2", "12NaN", "-NaN5", "1e3NaN", "NaNInfinity", "NNaNaN",
    "NaNNaN", "Infinity", "-Infinity", "+Infinity", "infinity", "1", "12", " 12 ", "\t12\n", "-0", "1e3", "1E+3",
    "0x1p3", "0x10", "12d", "1f", "1_000", "007", ".5", "5.", "1,5", "\u00a012", "1e400", "-1e-400", "1.5",
    "10000", "true", "false", "TRUE", "True", "null", "c", "u", "d", "r", "business_events",
)

#: JSON literal texts spliced verbatim into event_data (spelling matters: Flink sees the text)
JSON_NUMBERS = (
    "0", "-0", "-0.0", "0.0", "1", "-1", "12", "1.5", "0.1", "1e3", "1E+3", "1e-5", "10000", "10000.0",
    "12345678901234567890", "9007199254740993", "1e400", "-1e400", "1e-400", "4.9e-324", "1.7976931348623157e308",
    "100000000000000000000.0", "1.0E23", "1e7", "0.001",
)
JSON_OTHER = ("true", "false", "null", "{}", "[]", "[1]", '{"k": 1}', '"\\ud83d"', '"x\\ude00"', '"\\ud83d\\ude00"')

#: number operands of filters (all exactly representable as doubles)
NUMBERS = (0, 1, -1, 12, 1.5, 0.1, 1000, 10000, 1e-5, 1e308, -1e308, 5e-324, 1.2345678901234567e19, 1e23, -0.5)
TS_NUMBERS = (0, -1, 1705312205000, 1.7e12, 1705312205000.5)
TS_VALUES = (0, -1, 1705312205000, 1705312205001, 1700000000000, 1800000000000)

INVALID_EVENT_DATA = ("", "not json", "{", "null", "[1,2]", "42", '"text"', '{"s":"x"} trailing', '{"n":NaN}',
                      '{"n":01}', "{'s':1}", '{"s":1}{"s":2}')

VALUE_OPERATORS = ("equals", "notEquals", "in", "notIn")
ORDER_OPERATORS = ("greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual", "between")
NULL_OPERATORS = ("isNull", "isNotNull")

# ---- regular expressions ----------------------------------------------------------------------------

_REGEX_LITERALS = ("a", "b", "x", "T", "e", "s", "t", "1", "2", " ", "-", "k", "\U0001F600", "\uFFFD",
                   "\uE000", "é", "\\.", "\\-", "\\x{1F600}", "\\x{10000}", "\\u00e9", "\\t", "\\n", "\\r",
                   "\\x41", "\\u2028", "\\x{85}")
_REGEX_CLASSES = ("[a-z]", "[^a]", "[a\\-z]", "[\\-a]", "[a-]", "[0-9]", "[^0-9a-z]", "[\U0001F600]",
                  "[^\U0001F600]", "[\\x{1F600}-\\x{1F64F}]", "[^\\x{1F600}]", "[\\x{D7FF}-\\x{E000}]",
                  "[\\x{10000}-\\x{10FFFF}]", "[^\\x{10000}-\\x{10FFFF}]", "[\\uFFFD\\uE000]", "[Kk]", "[\\n\\r]",
                  "[^\\n]", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", ".", ".", ".")
_REGEX_QUANTIFIERS = ("*", "+", "?", "{2}", "{1,3}", "{0,2}", "*?", "+?", "??", "{2,}")
_LOOKBEHIND_ATOMS = ("a", "x", "T", "1", "-", ".", "^", "$", "\\d", "\\w", "[a-z]", "[^a]", "\\W",
                     "\\x{1F600}", "\U0001F600", "\uFFFD", "[\\x{1F600}]", "\\s")


def random_regex(rng: random.Random, depth: int = 0) -> str:
    """A random Java regular expression over the constructs the validator knows (it may reject some)."""
    branches = [_regex_sequence(rng, depth) for _ in range(2 if rng.random() < 0.15 else 1)]
    body = "|".join(branches)
    if depth == 0:
        if rng.random() < 0.3:
            body = "^" + (f"(?:{body})" if len(branches) > 1 else body)
        if rng.random() < 0.2:
            body = (f"(?:{body})" if len(branches) > 1 else body) + rng.choice(("$", "$", "\\z", "\\Z"))
        if rng.random() < 0.12:
            body = rng.choice(("(?i)", "(?s)", "(?is)")) + body
    return body


def _regex_sequence(rng: random.Random, depth: int) -> str:
    out = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.35:
            atom = rng.choice(_REGEX_LITERALS)
        elif roll < 0.7:
            atom = rng.choice(_REGEX_CLASSES)
        elif roll < 0.85 and depth < 2:
            atom = rng.choice(("(", "(?:", "(?=", "(?!")) + _regex_sequence(rng, depth + 1) + ")"
        else:
            body = "".join(rng.choice(_LOOKBEHIND_ATOMS) for _ in range(rng.randint(1, 2)))
            atom = rng.choice(("(?<=", "(?<!")) + body + ")"
            out.append(atom)
            continue
        if rng.random() < 0.3 and not atom.startswith(("(?=", "(?!")):
            atom += rng.choice(_REGEX_QUANTIFIERS)
        out.append(atom)
    return "".join(out)


# ---- filters ----------------------------------------------------------------------------------------


def random_comparison(rng: random.Random) -> dict[str, Any]:
    """One leaf as the YAML mapping would hold it."""
    if rng.random() < 0.3:
        field = rng.choice(TEXT_COLUMNS + ("__ts_ms",))
    else:
        field = rng.choice(JSON_PATHS)
    if field == "__ts_ms":
        type_ = "number"
    elif field in FLAT_COLUMNS:
        type_ = "number" if rng.random() < 0.25 else "string"
    else:
        type_ = rng.choices(("string", "number", "boolean"), weights=(5, 4, 1.5))[0]
    if type_ == "boolean":
        operator = rng.choice(VALUE_OPERATORS + NULL_OPERATORS)
    elif type_ == "number":
        operator = rng.choice(VALUE_OPERATORS + ORDER_OPERATORS + NULL_OPERATORS)
    else:
        operator = rng.choices(VALUE_OPERATORS + ORDER_OPERATORS + NULL_OPERATORS + ("matches",),
                               weights=(1,) * 4 + (1.5,) * 5 + (0.5, 0.5) + (4,))[0]
    leaf: dict[str, Any] = {"field": field, "operator": operator}
    if type_ != "string":
        leaf["type"] = type_

    def value() -> Any:
        if type_ == "boolean":
            return rng.random() < 0.5
        if type_ == "number":
            return rng.choice(TS_NUMBERS if field == "__ts_ms" else NUMBERS)
        if field == "__op" and operator != "matches":
            return rng.choice(OPERATIONS)
        return rng.choice(TEXTS)

    if operator == "matches":
        leaf["value"] = random_regex(rng)
    elif operator in ("in", "notIn"):
        leaf["values"] = [value() for _ in range(rng.randint(1, 3))]
    elif operator == "between":
        leaf["values"] = sorted([value(), value()])  # code point order: the validator decides what is valid
    elif operator not in NULL_OPERATORS:
        leaf["value"] = value()
    return leaf


def random_condition(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth >= 3 or roll < 0.55:
        return random_comparison(rng)
    if roll < 0.7:
        return {"not": random_condition(rng, depth + 1)}
    key = "all" if roll < 0.85 else "any"
    return {key: [random_condition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


@dataclass
class GeneratedFilters:
    pipeline: Pipeline
    #: random conditions the validator rejected (replaced by new ones), with the reason
    rejected: list[tuple[dict[str, Any], str]]


def generate_pipeline(seed: int, count: int) -> GeneratedFilters:
    """`count` valid random filters (ids `f0000`...), every one enabled."""
    rng = random.Random(f"filters-{seed}")
    filters: list[dict[str, Any]] = []
    rejected: list[tuple[dict[str, Any], str]] = []
    while len(filters) < count:
        index = len(filters)
        data: dict[str, Any] = {"id": f"f{index:04d}", "outputTopic": f"fuzz-f{index:04d}"}
        if rng.random() < 0.2:
            data["operations"] = sorted(rng.sample(OPERATIONS, rng.randint(1, 3)), key=OPERATIONS.index)
        n = rng.choices((0, 1, 2, 3), weights=(0.3, 6, 3, 1))[0]
        data["conditions"] = [random_condition(rng) for _ in range(n)]
        if n > 1 and rng.random() < 0.3:
            data["match"] = "any"
        try:
            Filter.model_validate(data)
        except ValidationError as exc:
            rejected.append((data, exc.errors()[0]["msg"]))
            continue
        filters.append(data)
    pipeline = Pipeline.model_validate({"version": 1, "source": {"topic": "fuzz-raw", "cdcMetadata": True},
                                        "filters": filters})
    return GeneratedFilters(pipeline, rejected)


# ---- events -----------------------------------------------------------------------------------------


def _json_value_text(rng: random.Random) -> str | None:
    """A JSON literal for one path, or None for 'leave the key out'."""
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.45:
        return json.dumps(rng.choice(TEXTS), ensure_ascii=rng.random() < 0.3)
    if roll < 0.85:
        return rng.choice(JSON_NUMBERS)
    return rng.choice(JSON_OTHER)


def random_event_data(rng: random.Random) -> str | None:
    if rng.random() < 0.06:
        return rng.choice(INVALID_EVENT_DATA + (None,))
    members = []
    for key, nested in (("s", None), ("n", None), ("b", None), ("o", "k"), ("a", 1), ("k y", None)):
        text = _json_value_text(rng)
        if text is None:
            continue
        if nested == "k":
            text = "{" + f'"k":{text}' + "}" if rng.random() < 0.85 else rng.choice(("[]", "null", "1", '{"j":1}'))
        elif nested == 1:
            text = f"[0,{text}]" if rng.random() < 0.85 else rng.choice(("[]", "[1]", "{}", "null"))
        members.append(f"{json.dumps(key)}:{text}")
    rng.shuffle(members)
    return "{" + ",".join(members) + "}"


def random_event(rng: random.Random, event_id: str) -> dict[str, Any]:
    def text() -> str | None:
        return None if rng.random() < 0.08 else rng.choice(TEXTS)

    event: dict[str, Any] = {
        "id": event_id,
        "event_name": text(),
        "event_type": text(),
        "created_date": text(),
        "saved_date": text(),
        "event_data": random_event_data(rng),
        "__op": rng.choice(OPERATIONS + (None, "c", "x")),
        "__table": rng.choice(("business_events", "business_events", None, "other", "\U0001F600")),
        "__ts_ms": rng.choice(TS_VALUES + (None,)),
        "__deleted": rng.choice(("false", "true")),
    }
    if rng.random() < 0.05:
        del event["__op"]
    return event


def generate_events(seed: int, count: int) -> list[dict[str, Any]]:
    """`count` events with unique ids `e<seed>-<n>`; the same seed gives the same events."""
    rng = random.Random(f"events-{seed}")
    return [random_event(rng, f"e{seed}-{i:05d}") for i in range(count)]


# ---- comparing and shrinking ------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    filter: Filter
    event: Mapping[str, Any]
    evaluator: bool  # the evaluator routes the event to the filter's topic
    flink: bool

    def describe(self) -> str:
        return (f"filter {visible_json(filter_spec(self.filter))}\n"
                f"    event {visible_json(dict(self.event))}\n"
                f"    evaluator: {'routed' if self.evaluator else 'not routed'}, "
                f"Flink: {'routed' if self.flink else 'not routed'}")


def visible_json(value: Any) -> str:
    """JSON with readable characters kept and the invisible or easily confused ones escaped (U+E000-U+FFFF,
    controls, separators), so a reproduction can be copied exactly."""
    text = json.dumps(value, ensure_ascii=False)
    return "".join(ch if ch.isprintable() and not "\ue000" <= ch <= "\uffff" else
                   json.dumps(ch)[1:-1] if ch < "\U00010000" else ch for ch in text)


def compare(pipeline: Pipeline, events: list[Mapping[str, Any]], expected: Mapping[Any, set[str]],
            flink_routed: Mapping[Any, set[str]]) -> list[Disagreement]:
    """Every (filter, event) whose routing differs; `expected`/`flink_routed` map event id -> topics."""
    by_topic = {f.output_topic: f for f in pipeline.enabled_filters}
    out = []
    for event in events:
        want = expected.get(event["id"], set())
        got = flink_routed.get(event["id"], set())
        for topic in sorted(want ^ got):
            out.append(Disagreement(by_topic[topic], event, topic in want, topic in got))
    return out


def filter_spec(f: Filter) -> dict[str, Any]:
    """The filter as its YAML mapping, without id and topic (what a reproduction needs)."""
    data = f.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    for key in ("id", "outputTopic"):
        data.pop(key, None)
    return data


def size(f: Filter, event: Mapping[str, Any]) -> tuple[int, int]:
    return (_nodes(f.conditions) + (1 if f.operations is not None else 0) + (1 if f.match == "any" else 0),
            len(json.dumps(event, ensure_ascii=False)))


def _nodes(conditions: tuple[Condition, ...]) -> int:
    total = 0
    for c in conditions:
        if isinstance(c, Comparison):
            total += 1
        elif isinstance(c, AllOf):
            total += 1 + _nodes(c.all)
        elif isinstance(c, AnyOf):
            total += 1 + _nodes(c.any)
        else:
            total += 1 + _nodes((c.not_,))
    return total


def _condition_variants(c: Condition) -> Iterator[Condition]:
    """Conditions one step simpler than `c` (a group replaced by a member, a member dropped, not removed)."""
    if isinstance(c, Comparison):
        return
    if isinstance(c, Not):
        yield c.not_
        for inner in _condition_variants(c.not_):
            yield Not.model_validate({"not": inner})
        return
    members = c.all if isinstance(c, AllOf) else c.any
    key = "all" if isinstance(c, AllOf) else "any"
    yield from members
    if len(members) > 1:
        for i in range(len(members)):
            yield type(c).model_validate({key: members[:i] + members[i + 1:]})
    for i, m in enumerate(members):
        for inner in _condition_variants(m):
            yield type(c).model_validate({key: members[:i] + (inner,) + members[i + 1:]})


def _filter_variants(f: Filter) -> Iterator[Filter]:
    if f.operations is not None:
        yield f.model_copy(update={"operations": None})
    conds = f.conditions
    if len(conds) > 1:
        for c in conds:
            yield f.model_copy(update={"conditions": (c,), "match": "all"})
    for i, c in enumerate(conds):
        for inner in _condition_variants(c):
            yield f.model_copy(update={"conditions": conds[:i] + (inner,) + conds[i + 1:]})


def _used(f: Filter) -> tuple[set[str], set[str], bool]:
    """Flat columns and top-level event_data keys the filter looks at, and whether it reads event_data."""
    columns: set[str] = set()
    keys: set[str] = set()
    reads_data = False
    for _, leaf in iter_comparisons(f.conditions):
        path = leaf.json_path
        if path is None:
            columns.add(leaf.field)
        else:
            reads_data = True
            if isinstance(path[0], str):
                keys.add(path[0])
    if f.operations is not None:
        columns.add("__op")
    return columns, keys, reads_data


def _slim_event(f: Filter, event: Mapping[str, Any]) -> dict[str, Any]:
    """`event` with only what `f` reads: its columns, and of event_data only the keys its paths start with."""
    columns, keys, reads_data = _used(f)
    slim = {k: v for k, v in event.items() if k == "id" or k in columns}
    if reads_data and "event_data" in event:
        data = event["event_data"]
        slim["event_data"] = _subset_json(data, keys) if _sliceable(data) else data
    return slim


def _sliceable(text: Any) -> bool:
    # Only documents that are one JSON object without trailing text or duplicate keys, where keeping some
    # members by their original spelling means exactly the same to both sides.
    if not isinstance(text, str) or not text.startswith("{"):
        return False
    try:
        _, end = json.JSONDecoder().raw_decode(text)
        pairs = json.loads(text, object_pairs_hook=lambda items: items)
    except ValueError:
        return False
    return end == len(text) and len({k for k, _ in pairs}) == len(pairs)


def _subset_json(text: str, keys: set[str]) -> str:
    """The top-level members of JSON object `text` whose key is in `keys`, with their original spelling."""
    decoder = json.JSONDecoder()
    i = 1
    members = []
    while True:
        while text[i] in " \t\r\n,":
            i += 1
        if text[i] == "}":
            break
        key, j = decoder.raw_decode(text, i)
        while text[j] in " \t\r\n:":
            j += 1
        _, end = decoder.raw_decode(text, j)
        if key in keys:
            members.append(text[i:end])
        i = end
    return "{" + ",".join(members) + "}"


def shrink_candidates(f: Filter, event: Mapping[str, Any]) -> list[tuple[Filter, dict[str, Any]]]:
    """Pairs one step smaller than (f, event), smallest first; the caller keeps one that still disagrees."""
    seen: set[str] = set()
    out: list[tuple[Filter, dict[str, Any]]] = []
    for candidate in list(_filter_variants(f)):
        key = json.dumps(filter_spec(candidate), sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append((candidate, dict(event)))
    slim = _slim_event(f, event)
    if slim != dict(event):
        out.append((f, slim))
    out.sort(key=lambda pair: size(*pair))
    return out
