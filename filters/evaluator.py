"""Evaluate filters in Python with the meaning the generated Flink SQL has.

SQL's three-valued logic is kept: a comparison on NULL is NULL (None here), NOT NULL is NULL, AND/OR
follow Kleene's tables, and an event is routed only when the whole condition is TRUE. How event values
become text and numbers is in filters.flink_semantics, the one place to adjust after a differential
run against Flink.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from filters.flink_semantics import (
    bigint_column_value,
    dead_letter_reason,
    json_value,
    string_column_text,
    text_order_key,
    text_to_number,
)
from filters.javaregex import TranslatedRegex, translate
from filters.model import FLAT_COLUMNS, AllOf, AnyOf, Comparison, Condition, Filter, Not, Pipeline
from pipeline.business_events import NUMBER_FIELDS

Truth = bool | None  # None is SQL's UNKNOWN

_BOOLEAN_TEXT = {"true": True, "false": False}


def evaluate_event(pipeline: Pipeline, event: Mapping[str, Any]) -> list[str]:
    """Output topics (sorted) of the enabled filters whose condition is TRUE for `event`.

    `event` has the raw topic's shape: flat columns, `event_data` as a JSON string, and `__op`,
    `__table`, `__ts_ms` when the connector adds CDC metadata.
    """
    cdc = pipeline.source.cdc_metadata
    if dead_letter_reason(event, NUMBER_FIELDS if cdc else ()) is not None:
        return []  # the job sends it to the dead-letter topic, whatever the filters say
    return sorted(f.output_topic for f in pipeline.enabled_filters if filter_truth(f, event, cdc) is True)


def evaluate_events(pipeline: Pipeline, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`{"id": ..., "topics": [...]}` for each event, in input order."""
    return [{"id": event.get("id"), "topics": evaluate_event(pipeline, event)} for event in events]


def filter_truth(f: Filter, event: Mapping[str, Any], cdc_metadata: bool) -> Truth:
    """The truth of the filter's whole WHERE clause (operations AND conditions)."""
    terms: list[Truth] = []
    if f.operations is not None and cdc_metadata:
        op = string_column_text(event.get("__op"))
        terms.append(None if op is None else op in f.operations)
    if f.conditions:
        results = [condition_truth(c, event) for c in f.conditions]
        terms.append(_and(results) if f.match == "all" else _or(results))
    return _and(terms)


def condition_truth(cond: Condition, event: Mapping[str, Any]) -> Truth:
    if isinstance(cond, Comparison):
        return comparison_truth(cond, event)
    if isinstance(cond, AllOf):
        return _and(condition_truth(c, event) for c in cond.all)
    if isinstance(cond, AnyOf):
        return _or(condition_truth(c, event) for c in cond.any)
    if isinstance(cond, Not):
        inner = condition_truth(cond.not_, event)
        return None if inner is None else not inner
    raise TypeError(f"not a condition: {cond!r}")


def typed_value(c: Comparison, event: Mapping[str, Any]) -> str | float | bool | None:
    """The value the comparison looks at, as the SQL expression computes it."""
    path = c.json_path
    if path is None:
        if FLAT_COLUMNS[c.field] == "number":
            return bigint_column_value(event.get(c.field))
        text = string_column_text(event.get(c.field))
    else:
        text = json_value(string_column_text(event.get("event_data")), path)
    if c.type == "number":
        return text_to_number(text)
    if c.type == "boolean":
        return None if text is None else _BOOLEAN_TEXT.get(text)
    return text


def comparison_truth(c: Comparison, event: Mapping[str, Any]) -> Truth:
    x = typed_value(c, event)
    op = c.operator
    if op == "isNull":
        return x is None
    if op == "isNotNull":
        return x is not None
    if x is None:
        return None
    operands = c.operands
    if op in _ORDERED:
        if isinstance(x, str):  # text orders by UTF-16 code units in the deployed job
            x = text_order_key(x)
            operands = tuple(text_order_key(str(v)) for v in operands)
        return _ORDERED[op](x, operands)
    if op == "equals":
        return x == operands[0]
    if op == "notEquals":
        return x != operands[0]
    if op == "in":
        return any(x == v for v in operands)
    if op == "notIn":
        return all(x != v for v in operands)
    if op == "matches":
        return _compiled(str(operands[0])).search(str(x))
    raise ValueError(f"unknown operator {op!r}")


_ORDERED: dict[str, Any] = {
    "greaterThan": lambda x, v: x > v[0],
    "lessThan": lambda x, v: x < v[0],
    "greaterThanOrEqual": lambda x, v: x >= v[0],
    "lessThanOrEqual": lambda x, v: x <= v[0],
    "between": lambda x, v: v[0] <= x <= v[1],
}


@functools.lru_cache(maxsize=512)
def _compiled(java_pattern: str) -> TranslatedRegex:
    return translate(java_pattern)


def _and(values: Iterable[Truth]) -> Truth:
    result: Truth = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def _or(values: Iterable[Truth]) -> Truth:
    result: Truth = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result
