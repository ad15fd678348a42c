"""Deterministic events in the raw topic's shape, for a differential test against real Flink.

`generate_events(count, seed)` returns hand-picked edge cases first, then seeded random events over the
four seed event types. event_data is JSON *text*, written by hand where the spelling matters (1e3,
-0.0, 12345678901234567890, duplicate keys, trailing text), because Flink sees the text, not a Python
value. Every event has a unique, non-null id (business_events.id is the primary key), so results can
be matched by id. Use with filters/differential.yaml:

    python -m filters.edge_events --count 600 > /tmp/edge-events.jsonl
    python -m filters test --file filters/differential.yaml --events /tmp/edge-events.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

EVENT_KINDS = (
    # (event_name, event_type, entity type, attribute group)
    ("LoanCreated", "LoanCreated", "Loan", "loan"),
    ("LoanPaymentSubmitted", "LoanPaymentSubmitted", "LoanPayment", "payment"),
    ("CarCreated", "CarCreated", "Car", "car"),
    ("CarServiceDone", "CarServiceDone", "Service", "service"),
)

OPERATIONS = ("c", "u", "d", "r")

#: JSON spellings of numbers and near-numbers, written verbatim into event_data
NUMBER_LITERALS = (
    "0", "1", "-1", "10000", "10000.0", "10000.5", "9999.999", "50000", "1e3", "1E+3", "1e4", "1.5", "0.1",
    "-0", "-0.0", "0.0", "1.0E23", "1e-5", "123456789012.5", "12345678901234567890", "9007199254740993",
    "1e400", "-1e400", "1e-400", "100000000000000000000.0", "4.9e-324", "1.7976931348623157e308",
    '"10000"', '" 12 "', '"\\t12\\n"', '"1e3"', '"abc"', '""', '"NaN"', '"-NaN"', '"Infinity"', '"-Infinity"',
    '"0x1p3"', '"0x10"', '"1d"', '"1f"', '"+5"', '"1_000"', '"1,5"', '"\\u00a012"', '"007"', '".5"', '"5."',
    "true", "false", "null", "{}", "[]", "[1]", '{"v": 1}',
)

#: JSON spellings of boolean-ish values
BOOLEAN_LITERALS = ("true", "false", '"true"', '"false"', '"TRUE"', '"True"', "1", "0", "null", '"yes"', '""', "[true]", "{}")

#: text values (Python strings; JSON-escaped when written)
TEXT_VALUES = (
    "LoanCreated", "loancreated", "LOANCREATED", "LoanCreated ", " LoanCreated", "", " ", "active", "ACTIVE",
    "closed", "pending", "Test", "Tests", "Test event", "test", "Testing", "Test\n\n", "line1\n", "aTest", "Test\n", "Test\r\n", "Test\r", "Test\u0085",
    "Test\u2028", "Test\u2029", "line1\nline2", "tab\there", "quote'\"", "back\\slash", "%_like", "a;b", "a--b",
    "/*c*/", "émoji 😀", "😀", "Ünïcödé", "RTL \u05e9\u05dc\u05d5\u05dd \u200f", "\u212a", "k", "K", "ß", "İ",
    "ſ", "ab12_", "AB-12", "12345", "x" * 300, "\u0000nul", "a\u000bb", "a\u000cb", "  padded  ", "CarServiceDone",
    "CarCreated", "LoanPaymentSubmitted",
)

STATUSES = ("active", "closed", "pending", "ACTIVE", "defaulted", "")
MAKES = ("Toyota", "Honda", "Škoda", "BMW", "Tesla", "citroën")


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _event_data(rng: random.Random, kind: tuple[str, str, str, str], overrides: dict[str, str]) -> str:
    """JSON text shaped like the seed's {eventHeader, eventBody}, with raw JSON literals spliced in."""
    name, etype, entity, group = kind
    parts = {
        "amount": overrides.get("amount", rng.choice(NUMBER_LITERALS) if rng.random() < 0.5 else str(rng.choice((5000, 10000, 25000, 50000, 120000)))),
        "status": overrides.get("status", _text(rng.choice(STATUSES + TEXT_VALUES[:12]))),
        "active": overrides.get("active", rng.choice(BOOLEAN_LITERALS)),
        "probe": overrides.get("probe", rng.choice(NUMBER_LITERALS + BOOLEAN_LITERALS + tuple(_text(t) for t in TEXT_VALUES))),
        "text": overrides.get("text", _text(rng.choice(TEXT_VALUES))),
        "year": overrides.get("year", str(rng.randint(1990, 2026))),
        "make": overrides.get("make", _text(rng.choice(MAKES))),
    }
    attributes = (
        f'"{group}":{{"loanAmount":{parts["amount"]},"amount":{parts["amount"]},"status":{parts["status"]},'
        f'"active":{parts["active"]},"year":{parts["year"]},"make":{parts["make"]}}}'
    )
    if "attributes" in overrides:
        attributes = overrides["attributes"]
    header = (
        f'"eventHeader":{{"uuid":"{rng.getrandbits(64):016x}","eventName":{_text(name)},'
        f'"eventType":{_text(etype)},"createdDate":{1705312200000 + rng.randint(0, 10**9)}}}'
    )
    body = (
        f'"eventBody":{{"entities":[{{"entityType":{_text(entity)},"entityId":"{entity.lower()}-{rng.randint(1, 999)}",'
        f'"updatedAttributes":{{{attributes}}}}}]}}'
    )
    extra = f'"probe":{parts["probe"]},"text":{parts["text"]},"weird key":{parts["text"]},"a\'b":{parts["probe"]}'
    return "{" + header + "," + body + "," + extra + "}"


def _base_event(rng: random.Random, index: int, kind: tuple[str, str, str, str]) -> dict[str, Any]:
    name, etype, _, _ = kind
    return {
        "id": f"evt-{index:05d}",
        "event_name": name,
        "event_type": etype,
        "created_date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00Z",
        "saved_date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:30:05.123456Z",
        "event_data": None,
        "__op": "c",
        "__table": "business_events",
        "__ts_ms": 1705312205000 + rng.randint(-10**9, 10**9),
        "__deleted": "false",
    }


def edge_cases(rng: random.Random) -> list[dict[str, Any]]:
    """Hand-picked events: one per edge case, so every case is present whatever the count."""
    events: list[dict[str, Any]] = []

    def add(kind_index: int = 0, **fields: Any) -> dict[str, Any]:
        data_overrides = fields.pop("data", {})
        kind = EVENT_KINDS[kind_index]
        event = _base_event(rng, len(events), kind)
        event["event_data"] = _event_data(rng, kind, data_overrides)
        event.update(fields)
        events.append(event)
        return event

    for amount in NUMBER_LITERALS:
        add(0, data={"amount": amount, "probe": amount})
    for flag in BOOLEAN_LITERALS:
        add(2, data={"active": flag, "probe": flag})
    for text in TEXT_VALUES:
        add(3, data={"text": _text(text), "status": _text(text)}, event_name=text)
    for op in OPERATIONS + (None,):
        for kind_index in range(len(EVENT_KINDS)):
            add(kind_index, __op=op)
    missing = add(0)
    del missing["__op"]
    add(0, event_type=None)
    add(0, event_name=None)
    add(0, created_date=None, saved_date=None)
    add(0, __ts_ms=None)
    add(0, __ts_ms=0)
    add(0, __ts_ms=-1)
    add(0, __table=None)
    add(0, __table="other_table")
    add(0, __deleted="true", __op="d")
    add(0, event_type="LoanCreated ")
    add(0, event_type="loancreated")
    add(3, event_type="ServiceEvent")  # service events are routed by name, not type
    add(1, event_name="LoanCreated")
    for bad in ("", "not json", "{", '{"eventBody":', "null", "[1,2]", '"text"', "42", "{} trailing", "  {}  ",
                '{"probe":1}{"probe":2}', '{"probe":1,"probe":2}', "{'probe':1}", '{"probe":01}', '{"probe":NaN}'):
        add(0, event_data=bad)
    add(0, event_data=None)
    add(0, data={"attributes": '"loan":{"loanAmount":{"value":10000}}'})  # object where a number is expected
    add(0, data={"attributes": '"loan":[10000]'})  # array where an object is expected
    add(0, data={"attributes": '"loan":null'})
    add(0, data={"attributes": '"loan":{"loanAmount":[1,2],"status":["active"]}'})
    deep = '{"x":' * 40 + "1" + "}" * 40
    add(0, data={"attributes": f'"loan":{{"loanAmount":1,"deep":{deep}}}'})
    return events


def random_event(rng: random.Random, index: int) -> dict[str, Any]:
    kind = rng.choice(EVENT_KINDS)
    event = _base_event(rng, index, kind)
    event["event_data"] = _event_data(rng, kind, {})
    event["__op"] = rng.choice(OPERATIONS + ("c", "c", "c", None))
    if rng.random() < 0.1:
        event["event_type"] = rng.choice((None, "", kind[1].lower(), kind[1] + " ", "Other"))
    if rng.random() < 0.1:
        event["event_name"] = rng.choice(TEXT_VALUES)
    if rng.random() < 0.05:
        event["__ts_ms"] = None
    if event["__op"] == "d":
        event["__deleted"] = "true"
    return event


def generate_events(count: int = 600, seed: int = 20240115) -> list[dict[str, Any]]:
    """At least every edge case, then random events up to `count`; same seed, same events."""
    rng = random.Random(seed)
    events = edge_cases(rng)
    while len(events) < count:
        events.append(random_event(rng, len(events)))
    return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m filters.edge_events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20240115)
    args = parser.parse_args(argv)
    for event in generate_events(args.count, args.seed):
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
