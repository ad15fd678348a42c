"""Parse a filtered-topic record into a `BusinessEvent`, or say in one phrase why it is malformed.

A record value is the flat JSON of the data contract: `id, event_name, event_type, created_date,
saved_date, event_data` (the JSONB as a JSON *string*), plus `__op, __table, __ts_ms, __deleted, __lsn` when
the connector adds CDC metadata. `event_data` holds `{eventHeader, eventBody: {entities: [...]}}`; each entity
has `entityType`, `entityId` and `updatedAttributes.<group>` with the entity's attributes.

Malformed (goes to the dead-letter topic): no value, value not UTF-8/JSON/an object, `id` or `event_name`
missing, `event_data` missing, not a string, not valid JSON or not an object. Everything else is tolerated:
missing optional fields, a missing header or body, entities that are not objects, absent attributes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pipeline.business_events import unframe
from pipeline.errors import PipelineError


class MalformedEvent(PipelineError):
    """A record the consumer cannot process; `reason` is a short phrase for logs and DLQ headers."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    # NaN / Infinity are not JSON; Python accepts them by default
    return json.loads(text, parse_constant=_reject_constant)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class Entity:
    entity_type: str | None
    entity_id: str | None
    updated_attributes: dict[str, Any] = field(default_factory=dict)

    def attributes(self, groups: tuple[str, ...]) -> dict[str, Any]:
        """The first attribute group present (case-insensitive), e.g. updatedAttributes.loan; {} if none."""
        lowered = {k.lower(): v for k, v in self.updated_attributes.items() if isinstance(k, str)}
        for group in groups:
            value = lowered.get(group.lower())
            if isinstance(value, dict):
                return value
        return {}


@dataclass(frozen=True)
class BusinessEvent:
    id: str
    event_name: str
    event_type: str | None
    created_date: Any
    saved_date: Any
    op: str | None
    table: str | None
    ts_ms: int | None
    deleted: bool | None
    header: dict[str, Any]
    entities: tuple[Entity, ...]
    #: the change's WAL position (`__lsn`); with `id` the key the low-latency mode drops duplicates by
    lsn: int | None = None

    def entities_of(self, types: tuple[str, ...]) -> list[Entity]:
        wanted = {t.lower() for t in types}
        return [e for e in self.entities if (e.entity_type or "").lower() in wanted]


def _required_text(value: dict, name: str) -> str:
    raw = value.get(name)
    if raw is None or raw == "":
        raise MalformedEvent(f"missing required field {name!r}")
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise MalformedEvent(f"field {name!r} is a JSON {_kind(raw)}, not a string")
    return str(raw)


def _optional_text(raw: Any) -> str | None:
    if raw is None or isinstance(raw, (dict, list)):
        return None
    return raw if isinstance(raw, str) else json.dumps(raw)


def _ts_ms(raw: Any) -> int | None:
    """A whole number field (`__ts_ms`, `__lsn`) as int; anything else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    return None


def _deleted(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return None


def _entity(raw: Any) -> Entity | None:
    if not isinstance(raw, dict):
        return None
    attrs = raw.get("updatedAttributes")
    return Entity(entity_type=_optional_text(raw.get("entityType")), entity_id=_optional_text(raw.get("entityId")),
                  updated_attributes=attrs if isinstance(attrs, dict) else {})


def parse_value(raw: bytes | str | None) -> BusinessEvent:
    """The event in a record value; raises `MalformedEvent` with the reason when it cannot be processed."""
    if raw is None:
        raise MalformedEvent("record has no value (tombstone)")
    if isinstance(raw, bytes):
        try:
            raw = unframe(raw)  # Confluent Flink's json-registry sink frames the JSON with a schema id
        except ValueError as err:
            raise MalformedEvent(str(err)) from None
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedEvent("value is not UTF-8 text") from None
    try:
        value = _loads(raw)
    except ValueError as err:
        raise MalformedEvent(f"value is not JSON ({err})") from None
    if not isinstance(value, dict):
        raise MalformedEvent(f"value is a JSON {_kind(value)}, not an object")

    event_id = _required_text(value, "id")
    event_name = _required_text(value, "event_name")
    if "event_data" not in value or value["event_data"] is None:
        raise MalformedEvent("missing required field 'event_data'")
    data_text = value["event_data"]
    if not isinstance(data_text, str):
        raise MalformedEvent(f"event_data is a JSON {_kind(data_text)}, not a JSON string")
    try:
        data = _loads(data_text)
    except ValueError as err:
        raise MalformedEvent(f"event_data is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise MalformedEvent(f"event_data is a JSON {_kind(data)}, not an object")

    header = data.get("eventHeader") if isinstance(data.get("eventHeader"), dict) else {}
    body = data.get("eventBody") if isinstance(data.get("eventBody"), dict) else {}
    raw_entities = body.get("entities") if isinstance(body.get("entities"), list) else []
    entities = tuple(e for e in (_entity(item) for item in raw_entities) if e is not None)

    return BusinessEvent(
        id=event_id,
        event_name=event_name,
        event_type=_optional_text(value.get("event_type")),
        created_date=value.get("created_date"),
        saved_date=value.get("saved_date"),
        op=_optional_text(value.get("__op")),
        table=_optional_text(value.get("__table")),
        ts_ms=_ts_ms(value.get("__ts_ms")),
        deleted=_deleted(value.get("__deleted")),
        header=header,
        entities=entities,
        lsn=_ts_ms(value.get("__lsn")),
    )


@dataclass(frozen=True)
class EntityKind:
    """How one consumer reads its entities: which entityType values, which attribute group, which fields.

    `essential` fields that are absent are listed under `missing` in the summary instead of failing.
    """

    types: tuple[str, ...]
    groups: tuple[str, ...]
    fields: tuple[str, ...]
    essential: tuple[str, ...] = ()


def jsonable(value: Any) -> Any:
    """JSON-safe copy: non-finite floats (1e400 parses to inf) become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def summarize_entities(event: BusinessEvent, kind: EntityKind) -> list[dict[str, Any]]:
    """One dict per entity: type and id, plus the kind's attributes for entities of that kind."""
    wanted = {t.lower() for t in kind.types}
    out: list[dict[str, Any]] = []
    for entity in event.entities:
        item: dict[str, Any] = {"type": entity.entity_type, "id": entity.entity_id}
        if (entity.entity_type or "").lower() in wanted:
            attrs = entity.attributes(kind.groups)
            if not attrs and any(f in entity.updated_attributes for f in kind.fields):
                attrs = entity.updated_attributes  # attributes written without a group
            item.update({f: jsonable(attrs[f]) for f in kind.fields if f in attrs})
            missing = [f for f in kind.essential if attrs.get(f) is None]
            if missing:
                item["missing"] = missing
        out.append(item)
    return out
