"""Read filters/*.yaml into a `Pipeline`, reporting every mistake as `file:line:col: message`.

ruamel.yaml keeps each key's and value's position, so the walker below can point at the exact
offending token. It checks structure and types itself and delegates the rules to the check functions
in filters.model (the same ones the models run), collecting all problems before raising one
FilterConfigError.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from filters.model import (
    FLAT_COLUMNS,
    OPERATIONS,
    OPERATORS,
    VALUE_TYPES,
    FilterSummary,
    PathKey,
    Pipeline,
    Problem,
    check_comparison,
    check_filter_fields,
    check_pipeline,
    check_topic_name,
    one_of,
    suggest,
)
from pipeline.errors import ConfigError

_PIPELINE_KEYS = ("version", "source", "filters")
_SOURCE_KEYS = ("topic", "cdcMetadata")
_FILTER_KEYS = ("id", "name", "outputTopic", "consumerGroup", "enabled", "operations", "match", "conditions")
_COMPARISON_KEYS = ("field", "operator", "value", "values", "type")
_GROUP_KEYS = ("all", "any", "not")


@dataclass(frozen=True, order=True)
class Located:
    """One mistake and where it is (1-based line and column)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FilterConfigError(ConfigError):
    """Every mistake found in one filter file; str() is one `file:line:col: message` line per mistake."""

    def __init__(self, errors: list[Located]):
        self.errors = sorted(errors, key=lambda e: (e.line, e.column))
        super().__init__("; ".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a filter file; raises FilterConfigError (or ConfigError when unreadable)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read filter file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"filter file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_pipeline_text(text, str(path))


def load_pipeline_text(text: str, filename: str = "<text>") -> Pipeline:
    """Validate YAML text; `filename` only labels the messages."""
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise FilterConfigError([Located(filename, line, col, f"YAML syntax error: {' '.join(problem.split())}")]) from None
    except YAMLError as exc:
        raise FilterConfigError([Located(filename, 1, 1, f"YAML error: {' '.join(str(exc).split())}")]) from None
    walker = _Walker(filename, doc)
    data = walker.pipeline()
    if walker.errors:
        raise FilterConfigError(walker.errors)
    try:
        return Pipeline.model_validate(data)
    except ValidationError as exc:  # the walker should have caught everything; report whatever slipped through
        raise FilterConfigError([walker.locate_loc(err["loc"], err["msg"]) for err in exc.errors()]) from None


Pos = tuple[int, int]


class _Walker:
    def __init__(self, filename: str, doc: Any):
        self.filename = filename
        self.doc = doc
        self.errors: list[Located] = []

    # ---- positions ---------------------------------------------------------------------------

    def add(self, pos: Pos, message: str) -> None:
        self.errors.append(Located(self.filename, pos[0] + 1, pos[1] + 1, message))

    @staticmethod
    def node_pos(node: Any, fallback: Pos) -> Pos:
        lc = getattr(node, "lc", None)
        if lc is not None and lc.line is not None:
            return (lc.line, lc.col)
        return fallback

    @staticmethod
    def key_pos(m: CommentedMap, key: Any) -> Pos:
        return tuple(m.lc.key(key))  # type: ignore[return-value]

    @staticmethod
    def value_pos(m: CommentedMap, key: Any) -> Pos:
        return tuple(m.lc.value(key))  # type: ignore[return-value]

    def resolve(self, node: Any, pos: Pos, path: tuple[PathKey, ...]) -> Pos:
        """Position of the value at `path` below `node` (as far as the path exists)."""
        for key in path:
            if isinstance(node, CommentedMap) and key in node:
                pos, node = self.value_pos(node, key), node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                pos, node = tuple(node.lc.item(key)), node[key]  # type: ignore[assignment]
            elif isinstance(node, CommentedMap) and not isinstance(key, int):
                continue  # a tag such as 'comparison' in a pydantic location: not in the file
            else:
                break
        return pos

    def report(self, node: Any, pos: Pos, problems: list[Problem]) -> None:
        for path, message in problems:
            self.add(self.resolve(node, pos, path), message)

    def locate_loc(self, loc: tuple[Any, ...], message: str) -> Located:
        line, col = self.resolve(self.doc, self.node_pos(self.doc, (0, 0)), tuple(loc))
        return Located(self.filename, line + 1, col + 1, message)

    # ---- structure helpers ---------------------------------------------------------------------

    def mapping(self, node: Any, pos: Pos, what: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> bool:
        if not isinstance(node, CommentedMap):
            self.add(pos, f"{what} must be a mapping with keys {one_of(allowed)}; got {_kind(node)}")
            return False
        for key in node:
            if key not in allowed:
                self.add(self.key_pos(node, key), f"unknown key {str(key)!r} in {what}; valid: {one_of(allowed)}{suggest(str(key), allowed)}")
        for key in required:
            if key not in node:
                self.add(self.node_pos(node, pos), f"{what} is missing required key {key!r}")
        return True

    def text(self, m: CommentedMap, key: str, what: str) -> str | None:
        value = m[key]
        if not isinstance(value, str):
            self.add(self.value_pos(m, key), f"{what} must be text; got {_kind(value)}")
            return None
        return str(value)

    def boolean(self, m: CommentedMap, key: str, what: str) -> bool | None:
        value = m[key]
        if not isinstance(value, bool):
            self.add(self.value_pos(m, key), f"{what} must be true or false; got {_kind(value)}")
            return None
        return value

    # ---- the document --------------------------------------------------------------------------

    def pipeline(self) -> dict[str, Any]:
        doc = self.doc
        top = (0, 0)
        if doc is None:
            self.add(top, f"the file is empty; expected keys {one_of(_PIPELINE_KEYS)}")
            return {}
        if not self.mapping(doc, top, "the file", _PIPELINE_KEYS, _PIPELINE_KEYS):
            return {}
        data: dict[str, Any] = {}
        if "version" in doc:
            version = doc["version"]
            if isinstance(version, bool) or version != 1:
                self.add(self.value_pos(doc, "version"), f"unsupported version {version!r}; valid: 1")
            data["version"] = 1
        source_topic, cdc = None, True
        if "source" in doc:
            data["source"], source_topic, cdc = self.source(doc["source"], self.value_pos(doc, "source"))
        if "filters" in doc:
            data["filters"] = self.filters(doc, source_topic, cdc)
        return data

    def source(self, node: Any, pos: Pos) -> tuple[dict[str, Any], str | None, bool]:
        if not self.mapping(node, pos, "source", _SOURCE_KEYS, ("topic",)):
            return {}, None, True
        out: dict[str, Any] = {}
        topic = None
        if "topic" in node:
            topic = self.text(node, "topic", "source.topic")
            if topic is not None:
                problem = check_topic_name(topic)
                if problem:
                    self.add(self.value_pos(node, "topic"), problem)
                out["topic"] = topic
        cdc = True
        if "cdcMetadata" in node:
            flag = self.boolean(node, "cdcMetadata", "source.cdcMetadata")
            if flag is not None:
                cdc = flag
                out["cdcMetadata"] = flag
        return out, topic, cdc

    def filters(self, doc: CommentedMap, source_topic: str | None, cdc: bool) -> list[dict[str, Any]]:
        node = doc["filters"]
        pos = self.value_pos(doc, "filters")
        if not isinstance(node, CommentedSeq):
            self.add(pos, f"filters must be a list of filters; got {_kind(node)}")
            return []
        if not node:
            self.add(pos, "filters is empty; add at least one filter")
            return []
        out: list[dict[str, Any]] = []
        summaries: list[FilterSummary | None] = []
        for i, item in enumerate(node):
            item_pos = tuple(node.lc.item(i))
            data, summary = self.filter(item, item_pos)  # type: ignore[arg-type]
            out.append(data)
            summaries.append(summary)
        self.report(doc, self.node_pos(doc, (0, 0)), check_pipeline(source_topic, cdc, summaries))
        return out

    def filter(self, node: Any, pos: Pos) -> tuple[dict[str, Any], FilterSummary | None]:
        if not self.mapping(node, pos, "a filter", _FILTER_KEYS, ("id", "outputTopic")):
            return {}, None
        out: dict[str, Any] = {}
        for key in ("id", "name", "outputTopic", "consumerGroup"):
            if key in node:
                value = self.text(node, key, key)
                if value is not None:
                    out[key] = value
        if "enabled" in node:
            flag = self.boolean(node, "enabled", "enabled")
            if flag is not None:
                out["enabled"] = flag
        if "match" in node:
            match = node["match"]
            if match not in ("all", "any"):
                self.add(self.value_pos(node, "match"), f"unknown match {match!r}; valid: all, any")
            else:
                out["match"] = match
        if "operations" in node:
            out["operations"] = self.operations(node)
        fields: list[tuple[tuple[PathKey, ...], str]] = []
        if "conditions" in node:
            conditions = node["conditions"]
            cpos = self.value_pos(node, "conditions")
            if conditions is None:
                out["conditions"] = []
            elif not isinstance(conditions, CommentedSeq):
                self.add(cpos, f"conditions must be a list of conditions; got {_kind(conditions)}")
            else:
                out["conditions"] = [
                    self.condition(c, tuple(conditions.lc.item(i)), ("conditions", i), fields)  # type: ignore[arg-type]
                    for i, c in enumerate(conditions)
                ]
        if "id" not in out or "outputTopic" not in out:
            return out, None
        self.report(node, pos, check_filter_fields(
            id=out["id"],
            name=out.get("name"),
            output_topic=out["outputTopic"],
            consumer_group=out.get("consumerGroup"),
            operations=out.get("operations"),
        ))
        summary = FilterSummary(out["id"], out["outputTopic"], out.get("enabled", True), "operations" in node, tuple(fields))
        return out, summary

    def operations(self, node: CommentedMap) -> list[str] | None:
        ops = node["operations"]
        pos = self.value_pos(node, "operations")
        if not isinstance(ops, CommentedSeq):
            self.add(pos, f"operations must be a list such as [c]; valid items: {one_of(OPERATIONS)}; got {_kind(ops)}")
            return None
        out = []
        for i, op in enumerate(ops):
            if op not in OPERATIONS:
                self.add(tuple(ops.lc.item(i)), f"unknown operation {op!r}; valid: {one_of(OPERATIONS)} (create, update, delete, snapshot read)")  # type: ignore[arg-type]
            else:
                out.append(op)
        return out

    def condition(self, node: Any, pos: Pos, path: tuple[PathKey, ...], fields: list[Any]) -> dict[str, Any]:
        if not isinstance(node, CommentedMap):
            self.add(pos, f"a condition must be a mapping: a comparison (field, operator, ...) or a group (all, any, not); got {_kind(node)}")
            return {}
        groups = [k for k in node if k in _GROUP_KEYS]
        if groups:
            return self.group(node, pos, path, groups, fields)
        return self.comparison(node, pos, path, fields)

    def group(self, node: CommentedMap, pos: Pos, path: tuple[PathKey, ...], groups: list[str], fields: list[Any]) -> dict[str, Any]:
        if len(node) != 1:
            others = [str(k) for k in node if k != groups[0]]
            self.add(self.key_pos(node, others[0] if others else groups[1]), (
                f"a group has exactly one key ({one_of(_GROUP_KEYS)}); found {one_of([str(k) for k in node])} — "
                "put comparisons inside the group's list or wrap the group in another"
            ))
            return {}
        kind = groups[0]
        body = node[kind]
        bpos = self.value_pos(node, kind)
        if kind == "not":
            if isinstance(body, CommentedSeq):
                self.add(bpos, "not takes one condition, not a list; wrap several in all: or any:")
                return {}
            return {"not": self.condition(body, bpos, path + ("not",), fields)}
        if not isinstance(body, CommentedSeq):
            self.add(bpos, f"{kind} takes a list of conditions; got {_kind(body)}")
            return {}
        if not body:
            self.add(bpos, f"{kind} needs at least one condition")
            return {}
        return {kind: [
            self.condition(c, tuple(body.lc.item(i)), path + (kind, i), fields)  # type: ignore[arg-type]
            for i, c in enumerate(body)
        ]}

    def comparison(self, node: CommentedMap, pos: Pos, path: tuple[PathKey, ...], fields: list[Any]) -> dict[str, Any]:
        allowed = _COMPARISON_KEYS + _GROUP_KEYS
        for key in node:
            if key not in allowed:
                self.add(self.key_pos(node, key), (
                    f"unknown key {str(key)!r} in a comparison; valid: {one_of(_COMPARISON_KEYS)} "
                    f"(or a group: {one_of(_GROUP_KEYS)}){suggest(str(key), allowed)}"
                ))
        missing = [k for k in ("field", "operator") if k not in node]
        for key in missing:
            self.add(self.node_pos(node, pos), f"a comparison is missing required key {key!r}")
        if missing:
            return {}
        field = node["field"]
        operator = node["operator"]
        type_ = node.get("type")
        ok = True
        if not isinstance(field, str):
            self.add(self.value_pos(node, "field"), f"field must be text: a column ({one_of(list(FLAT_COLUMNS))}) or a JSON path such as '$.eventType'; got {_kind(field)}")
            ok = False
        if not isinstance(operator, str):
            self.add(self.value_pos(node, "operator"), f"operator must be one of {one_of(OPERATORS)}; got {_kind(operator)}")
            ok = False
        if "type" in node and not isinstance(type_, str):
            self.add(self.value_pos(node, "type"), f"type must be one of {one_of(VALUE_TYPES)}; got {_kind(type_)}")
            ok = False
        values = node.get("values")
        if "values" in node and not isinstance(values, CommentedSeq):
            self.add(self.value_pos(node, "values"), f"values must be a list such as [a, b]; got {_kind(values)}")
            ok = False
        if not ok:
            return {}
        if type_ is None:
            type_ = "number" if FLAT_COLUMNS.get(field) == "number" else "string"
        fields.append((path, field))
        raw_values = list(values) if values is not None else None
        problems = check_comparison(field, operator, type_, node.get("value"), raw_values, "value" in node)
        self.report(node, self.node_pos(node, pos), problems)
        out: dict[str, Any] = {"field": field, "operator": operator, "type": type_}
        if "value" in node:
            out["value"] = _normalize(node["value"], type_)
        if values is not None:
            out["values"] = [_normalize(v, type_) for v in values]
        return out


def _normalize(value: Any, type_: str) -> Any:
    """YAML scalars to what the model holds: numbers as float, ruamel's str/float subclasses as builtins."""
    if isinstance(value, bool) or value is None:
        return value
    if type_ == "number" and isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"text {str(value)!r}"
    if isinstance(value, CommentedSeq):
        return "a list"
    if isinstance(value, CommentedMap):
        return "a mapping"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"date {value.isoformat()} (quote it to make it text)"
    return type(value).__name__
