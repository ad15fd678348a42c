"""The seed's event JSON as pydantic models, and validation errors as (JSON path, message) pairs.

What is strict and what is free follows the seed: the header's five fields become the table's flat columns
(id, event_name, event_type, created_date, saved_date), so the header is closed — an unknown key there is
a typo that would silently lose a column (`extra="forbid"`, as is the envelope: only eventHeader and
eventBody). The body is the event's payload: the seed keeps it whole in the JSONB column for consumers and
lets it evolve without DDL, so the body and its entities accept further keys (`extra="allow"`); an entity
needs its entityType and entityId. Dates are ISO-8601 date-times with a timezone, or epoch milliseconds as
in the seed's example (`"createdDate": 1705312200000`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, ValidationError, WithJsonSchema

#: the flat columns are VARCHAR(255)
Text255 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255)]
EventId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255, pattern=r"^\S+$")]


def _timestamp(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("must be an ISO-8601 date-time with a timezone or epoch milliseconds (an integer)")
    if isinstance(value, int):
        if not 0 <= value <= 253402300799999:  # up to 9999-12-31
            raise ValueError("epoch milliseconds out of range")
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError("the date-time needs a timezone (e.g. 2024-01-15T10:30:00Z)")
    return value


Timestamp = Annotated[Any, PlainValidator(_timestamp), WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}],
     "description": "ISO-8601 date-time with a timezone, or epoch milliseconds"})]


class EventHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uuid: EventId = Field(description="the event's id: the row's primary key; the same uuid again is idempotent")
    eventName: Text255
    eventType: Text255
    createdDate: Timestamp
    savedDate: Timestamp


class Entity(BaseModel):
    model_config = ConfigDict(extra="allow")

    entityType: Text255
    entityId: Text255
    updatedAttributes: dict[str, Any] = Field(default_factory=dict)


class EventBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    entities: list[Entity] = Field(min_length=1)


class Event(BaseModel):
    """One business event as the seed's producers send it."""

    model_config = ConfigDict(extra="forbid")

    eventHeader: EventHeader
    eventBody: EventBody


def json_path(loc: tuple) -> str:
    """pydantic's error location as a JSON path: ("eventBody", "entities", 0, "entityId") -> $.eventBody.entities[0].entityId"""
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def problems(err: ValidationError) -> list[dict]:
    """Each bad field once, with its JSON path and pydantic's message."""
    seen, out = set(), []
    for e in err.errors(include_url=False, include_input=False):
        path = json_path(tuple(e["loc"]))
        message = e["msg"].removeprefix("Value error, ")
        if (path, message) not in seen:
            seen.add((path, message))
            out.append({"path": path, "message": message})
    return out


def validate_event(body: bytes | str) -> Event:
    """The event in `body` (JSON); raises pydantic's ValidationError (see `problems`)."""
    return Event.model_validate_json(body)
