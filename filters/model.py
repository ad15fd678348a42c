"""The filter language (filters/*.yaml) as pydantic models, plus the checks both the loader and the
models use, so a pipeline built in code is held to the same rules as one read from YAML.

Check functions return `Problem`s: a path relative to the checked object (keys and list indexes) and a
message that names what is wrong and what would be valid. The loader turns paths into file:line:col;
the model validators raise the first one.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import Discriminator, Field, StrictBool, StrictStr, Tag, model_validator

from filters.flink_semantics import text_order_key
from filters.javaregex import JavaRegexError, translate
from filters.jsonpath import JsonPathError, Segment, is_json_path, parse_json_path
from pipeline.base import StrictModel
from pipeline.business_events import RAW_FIELD_TYPES

Operator = Literal[
    "equals",
    "notEquals",
    "in",
    "notIn",
    "greaterThan",
    "lessThan",
    "greaterThanOrEqual",
    "lessThanOrEqual",
    "between",
    "matches",
    "isNull",
    "isNotNull",
]
OPERATORS: tuple[str, ...] = get_args(Operator)
SINGLE_VALUE_OPERATORS = frozenset(
    {"equals", "notEquals", "greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual", "matches"}
)
LIST_OPERATORS = frozenset({"in", "notIn"})
NO_VALUE_OPERATORS = frozenset({"isNull", "isNotNull"})
ORDERED_OPERATORS = frozenset({"greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual", "between"})

VALUE_TYPES: tuple[str, ...] = ("string", "number", "boolean")
ValueType = Literal["string", "number", "boolean"]

OPERATIONS: tuple[str, ...] = ("c", "u", "d", "r")
Operation = Literal["c", "u", "d", "r"]

#: flat columns a filter may name and the type each holds: the raw record's fields (one home:
#: pipeline.business_events) except event_data, reached by JSON path, and __deleted, implied by __op 'd'
FLAT_COLUMNS: dict[str, str] = {c: t for c, t in RAW_FIELD_TYPES.items() if c not in ("event_data", "__deleted", "__lsn")}
#: columns only present when the connector adds CDC metadata (ExtractNewRecordState)
CDC_COLUMNS = frozenset({"__op", "__table", "__ts_ms"})

ID_PATTERN = re.compile(r"[a-z0-9-]+")
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,249}")
GROUP_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,255}")

Scalar = Union[StrictBool, StrictStr, float]
PathKey = str | int
Problem = tuple[tuple[PathKey, ...], str]


# --------------------------------------------------------------------------------------------------
# Models


class Comparison(StrictModel):
    """A leaf: `field operator value(s)`, compared as `type`."""

    field: str
    operator: Operator
    value: Scalar | None = None
    values: tuple[Scalar, ...] | None = None
    type: ValueType = "string"

    @model_validator(mode="before")
    @classmethod
    def _default_type(cls, data: Any) -> Any:
        # __ts_ms is a BIGINT column: comparing it as text would be a trap, so it defaults to number.
        if isinstance(data, dict) and "type" not in data and data.get("field") == "__ts_ms":
            return {**data, "type": "number"}
        return data

    @model_validator(mode="after")
    def _check(self) -> Comparison:
        raw_values = list(self.values) if self.values is not None else None
        problems = check_comparison(
            self.field, self.operator, self.type, self.value, raw_values, "value" in self.model_fields_set
        )
        if problems:
            raise ValueError(problems[0][1])
        return self

    @property
    def json_path(self) -> tuple[Segment, ...] | None:
        """Keys/indexes into event_data, or None for a flat column."""
        return _parsed_path(self.field) if is_json_path(self.field) else None

    @property
    def operands(self) -> tuple[Scalar, ...]:
        if self.operator in NO_VALUE_OPERATORS:
            return ()
        if self.operator in SINGLE_VALUE_OPERATORS:
            return (self.value,)  # type: ignore[return-value]
        return tuple(self.values or ())


class AllOf(StrictModel):
    all: tuple["Condition", ...] = Field(min_length=1)


class AnyOf(StrictModel):
    any: tuple["Condition", ...] = Field(min_length=1)


class Not(StrictModel):
    not_: "Condition" = Field(alias="not")


@functools.lru_cache(maxsize=4096)
def _parsed_path(field: str) -> tuple[Segment, ...]:
    return parse_json_path(field)  # the evaluator asks once per event: parse each path once


def _condition_kind(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("all", "any", "not"):
            if key in data:
                return key
        return "comparison"
    for cls, tag in ((AllOf, "all"), (AnyOf, "any"), (Not, "not"), (Comparison, "comparison")):
        if isinstance(data, cls):
            return tag
    return None


Condition = Annotated[
    Union[
        Annotated[Comparison, Tag("comparison")],
        Annotated[AllOf, Tag("all")],
        Annotated[AnyOf, Tag("any")],
        Annotated[Not, Tag("not")],
    ],
    Discriminator(_condition_kind),
]


class Filter(StrictModel):
    """One route: events for which the condition is TRUE go to `output_topic`."""

    id: str
    name: str | None = None
    output_topic: str = Field(alias="outputTopic")
    consumer_group: str | None = Field(default=None, alias="consumerGroup")
    enabled: bool = True
    operations: tuple[Operation, ...] | None = None
    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Filter:
        problems = check_filter_fields(
            id=self.id,
            name=self.name,
            output_topic=self.output_topic,
            consumer_group=self.consumer_group,
            operations=self.operations,
        )
        if problems:
            raise ValueError(problems[0][1])
        return self


class Source(StrictModel):
    topic: str
    cdc_metadata: bool = Field(default=True, alias="cdcMetadata")

    @model_validator(mode="after")
    def _check(self) -> Source:
        message = check_topic_name(self.topic)
        if message:
            raise ValueError(message)
        return self


class Pipeline(StrictModel):
    version: Literal[1]
    source: Source
    filters: tuple[Filter, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Pipeline:
        problems = check_pipeline(self.source.topic, self.source.cdc_metadata, [summarize(f) for f in self.filters])
        if problems:
            raise ValueError(problems[0][1])
        return self

    @property
    def enabled_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.enabled)


for _model in (AllOf, AnyOf, Not, Filter):
    _model.model_rebuild()


# --------------------------------------------------------------------------------------------------
# Checks shared by the models and the loader


def one_of(valid: tuple[str, ...] | list[str]) -> str:
    return ", ".join(valid)


def suggest(word: str, valid: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_field(field: str) -> Problem | None:
    if is_json_path(field):
        try:
            parse_json_path(field)
        except JsonPathError as exc:
            return (), f"invalid JSON path {field!r} at character {exc.offset + 1}: {exc}"
        return None
    if field not in FLAT_COLUMNS:
        return (), (
            f"unknown field {field!r}; valid: {one_of(list(FLAT_COLUMNS))}, "
            f"or a JSON path into event_data such as '$.eventType'{suggest(field, list(FLAT_COLUMNS))}"
        )
    return None


def check_comparison(
    field: str,
    operator: str,
    type_: str,
    value: Any,
    values: list[Any] | None,
    has_value: bool,
) -> list[Problem]:
    """Everything about one leaf that does not depend on the rest of the file."""
    problems: list[Problem] = []
    field_problem = check_field(field)
    if field_problem:
        problems.append((("field",), field_problem[1]))
    if operator not in OPERATORS:
        problems.append((("operator",), f"unknown operator {operator!r}; valid: {one_of(OPERATORS)}{suggest(operator, OPERATORS)}"))
        return problems
    if type_ not in VALUE_TYPES:
        problems.append((("type",), f"unknown type {type_!r}; valid: {one_of(VALUE_TYPES)}{suggest(type_, VALUE_TYPES)}"))
        return problems
    column_type = FLAT_COLUMNS.get(field)
    if column_type == "number" and type_ != "number":
        problems.append((("type",), f"field {field!r} is a number column; type must be number"))
        return problems
    if column_type == "string" and type_ == "boolean":
        problems.append((("type",), f"field {field!r} is a text column; type must be string or number"))
        return problems
    if operator == "matches" and type_ != "string":
        problems.append((("operator",), "operator 'matches' works on text; use type string"))
        return problems
    if operator in ORDERED_OPERATORS and type_ == "boolean":
        problems.append((("operator",), f"operator {operator!r} does not apply to booleans; valid: equals, notEquals, in, notIn, isNull, isNotNull"))
        return problems
    problems.extend(_check_arity_and_values(field, operator, type_, value, values, has_value))
    return problems


def _check_arity_and_values(
    field: str, operator: str, type_: str, value: Any, values: list[Any] | None, has_value: bool
) -> list[Problem]:
    problems: list[Problem] = []
    if operator in NO_VALUE_OPERATORS:
        if has_value:
            problems.append((("value",), f"operator {operator!r} takes no value; remove 'value'"))
        if values is not None:
            problems.append((("values",), f"operator {operator!r} takes no values; remove 'values'"))
        return problems
    if operator in SINGLE_VALUE_OPERATORS:
        if values is not None:
            hint = "; for several values use 'in' with 'values'" if operator == "equals" else ""
            problems.append((("values",), f"operator {operator!r} takes one 'value', not 'values'{hint}"))
            return problems
        if not has_value:
            problems.append(((), f"operator {operator!r} needs a 'value'"))
            return problems
        problem = check_value(field, operator, type_, value)
        if problem:
            problems.append((("value",), problem))
        return problems
    # list operators and between
    if has_value:
        problems.append((("value",), f"operator {operator!r} takes 'values' (a list), not 'value'"))
        return problems
    if values is None:
        what = "two 'values' [low, high]" if operator == "between" else "'values' (a list of one or more)"
        problems.append(((), f"operator {operator!r} needs {what}"))
        return problems
    if operator == "between" and len(values) != 2:
        problems.append((("values",), f"operator 'between' takes exactly two values [low, high], got {len(values)}"))
        return problems
    if operator in LIST_OPERATORS and not values:
        problems.append((("values",), f"operator {operator!r} needs at least one value"))
        return problems
    bad = False
    for i, item in enumerate(values):
        problem = check_value(field, operator, type_, item)
        if problem:
            problems.append((("values", i), problem))
            bad = True
    if operator == "between" and not bad and _sort_key(type_, values[0]) > _sort_key(type_, values[1]):
        order = " (text is ordered by UTF-16 code units, as in Flink)" if type_ == "string" else ""
        problems.append((("values",), f"between needs [low, high]; {values[0]!r} is above {values[1]!r}{order}"))
    return problems


def _sort_key(type_: str, value: Any) -> Any:
    # Text in Flink's order (UTF-16 code units): between '\uFFFD' and '\U0001F600' is empty there.
    return float(value) if type_ == "number" else text_order_key(value)


def check_value(field: str, operator: str, type_: str, value: Any) -> str | None:
    """One operand: present, of the declared type, and meaningful for the operator."""
    if value is None:
        return "null is not a value; use operator isNull or isNotNull to test for a missing value"
    if type_ == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number for type number, got {_describe(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return "numbers must be finite (no .nan or .inf)"
        if isinstance(value, int) and float(value) != value:
            return f"{value} cannot be represented exactly as a double; numbers are compared as doubles"
        return None
    if type_ == "boolean":
        if not isinstance(value, bool):
            return f"expected true or false for type boolean, got {_describe(value)}"
        return None
    if not isinstance(value, str):
        quoted = str(value).lower() if isinstance(value, bool) else str(value)
        return (
            f"expected text for type string, got {_describe(value)}; quote it ('{quoted}') "
            "or set type: number / boolean"
        )
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "text contains a lone UTF-16 surrogate (\\ud800-\\udfff), which SQL text cannot hold; write whole characters"
    if field == "__op" and operator != "matches" and value not in OPERATIONS:
        return f"__op is one of {one_of(OPERATIONS)}; got {value!r}"
    if operator == "matches":
        try:
            translate(value)
        except JavaRegexError as exc:
            return f"regular expression {value!r} rejected at character {exc.offset + 1}: {exc}"
    return None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value}"


def check_topic_name(topic: str) -> str | None:
    if not TOPIC_PATTERN.fullmatch(topic) or topic in (".", ".."):
        return f"invalid Kafka topic name {topic!r}; use 1-249 characters from letters, digits, '.', '_', '-'"
    return None


def check_filter_fields(
    *, id: str, name: str | None, output_topic: str, consumer_group: str | None, operations: Any
) -> list[Problem]:
    """Checks of one filter's own keys (not its conditions, not rules across filters)."""
    problems: list[Problem] = []
    if not ID_PATTERN.fullmatch(id):
        problems.append((("id",), f"invalid id {id!r}; use lowercase letters, digits and '-' ([a-z0-9-]+)"))
    if name is not None and (not name.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)):
        problems.append((("name",), "name must be non-empty text on one line (no control characters)"))
    topic_problem = check_topic_name(output_topic)
    if topic_problem:
        problems.append((("outputTopic",), topic_problem))
    if consumer_group is not None and not GROUP_PATTERN.fullmatch(consumer_group):
        problems.append((("consumerGroup",), f"invalid consumer group {consumer_group!r}; use letters, digits, '.', '_', '-'"))
    if operations is not None:
        if not operations:
            problems.append((("operations",), f"operations must list at least one of {one_of(OPERATIONS)}; omit it for every operation"))
        seen: set[str] = set()
        for i, op in enumerate(operations):
            if op in seen:
                problems.append((("operations", i), f"operation {op!r} is listed twice"))
            seen.add(op)
    return problems


@dataclass(frozen=True)
class FilterSummary:
    """What the cross-filter rules need to know about one filter."""

    id: str
    output_topic: str
    enabled: bool
    has_operations: bool
    #: (path below the filter's conditions list, field) for every comparison
    fields: tuple[tuple[tuple[PathKey, ...], str], ...]


def iter_comparisons(conditions: tuple[Condition, ...], path: tuple[PathKey, ...] = ()) -> Iterator[tuple[tuple[PathKey, ...], Comparison]]:
    """Every leaf with its path below the conditions list."""
    for i, cond in enumerate(conditions):
        yield from _iter_condition(cond, path + (i,))


def _iter_condition(cond: Condition, path: tuple[PathKey, ...]) -> Iterator[tuple[tuple[PathKey, ...], Comparison]]:
    if isinstance(cond, Comparison):
        yield path, cond
    elif isinstance(cond, AllOf):
        yield from iter_comparisons(cond.all, path + ("all",))
    elif isinstance(cond, AnyOf):
        yield from iter_comparisons(cond.any, path + ("any",))
    else:
        yield from _iter_condition(cond.not_, path + ("not",))


def summarize(f: Filter) -> FilterSummary:
    return FilterSummary(
        f.id,
        f.output_topic,
        f.enabled,
        f.operations is not None,
        tuple((("conditions",) + path, leaf.field) for path, leaf in iter_comparisons(f.conditions)),
    )


def check_pipeline(
    source_topic: str | None, cdc_metadata: bool, filters: list[FilterSummary | None]
) -> list[Problem]:
    """Rules that span filters or depend on the source; paths start at the pipeline.

    A None entry stands for a filter too broken to summarise; the others are still checked.
    """
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    topics: dict[str, int] = {}
    for i, f in enumerate(filters):
        if f is None:
            continue
        if f.id in ids:
            problems.append((("filters", i, "id"), f"duplicate filter id {f.id!r} (also filter #{ids[f.id] + 1}); ids must be unique"))
        ids.setdefault(f.id, i)
        if f.output_topic in topics:
            problems.append((
                ("filters", i, "outputTopic"),
                f"outputTopic {f.output_topic!r} is already used by filter #{topics[f.output_topic] + 1}; "
                "each filter needs its own topic (combine the conditions with match: any instead)",
            ))
        topics.setdefault(f.output_topic, i)
        if f.output_topic == source_topic:
            problems.append((("filters", i, "outputTopic"), "outputTopic is the source topic; routing into it would loop"))
        if not cdc_metadata:
            if f.has_operations:
                problems.append((
                    ("filters", i, "operations"),
                    "operations needs CDC metadata (__op), but source.cdcMetadata is false; remove operations "
                    "or use a connector with ExtractNewRecordState and set cdcMetadata: true",
                ))
            for path, field in f.fields:
                if field in CDC_COLUMNS:
                    problems.append((
                        ("filters", i) + path + ("field",),
                        f"field {field!r} needs CDC metadata, but source.cdcMetadata is false; valid fields: "
                        f"{one_of([c for c in FLAT_COLUMNS if c not in CDC_COLUMNS])} or a JSON path",
                    ))
    if filters and all(f is not None and not f.enabled for f in filters):
        problems.append((("filters",), "no filter is enabled; the routing job needs at least one enabled filter"))
    return problems
