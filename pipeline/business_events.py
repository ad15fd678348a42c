"""The one home of the business_events table's shape and of the seed's event-to-row mapping.

The table (DDL, columns), how a seed event (`eventHeader` + `eventBody`) becomes a row, the SQL that writes
a change, and what the connector puts in raw-business-events for a change (`raw_shape`) — the filters,
the smoke test, the consumers' parser and the producer API all read it from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from pipeline.paths import SAMPLES_DIR

TABLE = "business_events"
COLUMNS = ("id", "event_name", "event_type", "created_date", "saved_date", "event_data")
#: the fields a CDC-metadata connector variant adds to each raw record (`__lsn`: the change's WAL position,
#: with the id the key the low-latency delivery mode drops duplicates by; pipeline/delivery.py)
CDC_FIELDS = ("__op", "__table", "__ts_ms", "__deleted", "__lsn")
#: every field of a raw-business-events record and the JSON type it holds (event_data: the JSONB as text)
RAW_FIELD_TYPES: dict[str, str] = {**{c: "string" for c in COLUMNS}, "__op": "string", "__table": "string",
                                   "__ts_ms": "number", "__deleted": "string", "__lsn": "number"}
#: the raw fields that hold numbers (typed as BIGINT by the routing job; the rest are text)
NUMBER_FIELDS = tuple(c for c, kind in RAW_FIELD_TYPES.items() if kind == "number")

SCHEMA_DDL = (
    """CREATE TABLE IF NOT EXISTS business_events (
    id VARCHAR(255) PRIMARY KEY,
    event_name VARCHAR(255) NOT NULL,
    event_type VARCHAR(255),
    created_date TIMESTAMP WITH TIME ZONE,
    saved_date TIMESTAMP WITH TIME ZONE,
    event_data JSONB NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS idx_business_events_event_type ON business_events(event_type)",
    "CREATE INDEX IF NOT EXISTS idx_business_events_created_date ON business_events(created_date)",
)

INSERT = """INSERT INTO business_events (id, event_name, event_type, created_date, saved_date, event_data)
VALUES (%(id)s, %(event_name)s, %(event_type)s, %(created_date)s, %(saved_date)s, %(event_data)s)"""
UPDATE = ("UPDATE business_events SET saved_date = %(saved_date)s, event_type = %(event_type)s "
          "WHERE id = %(id)s")
DELETE = "DELETE FROM business_events WHERE id = %(id)s"
SQL_FOR_OP = {"c": INSERT, "u": UPDATE, "d": DELETE}
#: the producer API's idempotent write: a row comes back only when this statement inserted it; on a
#: conflicting id PostgreSQL waits for the other writer's transaction, so a following statement sees its row
INSERT_IF_ABSENT = INSERT + "\nON CONFLICT (id) DO NOTHING RETURNING id"
#: whether the stored event equals the given one as JSON (JSONB: key order and whitespace do not count)
SAME_EVENT = "SELECT event_data = %(event_data)s::jsonb FROM business_events WHERE id = %(id)s"
SELECT_BY_ID = ("SELECT id, event_name, event_type, created_date, saved_date, event_data "
                "FROM business_events WHERE id = %(id)s")


def row_from_event(event: dict, event_id: str | None = None) -> dict:
    """The seed's mapping: flat columns come from eventHeader, the whole event goes to event_data.

    The seed writes dates both ways: ISO-8601 strings in the columns and epoch milliseconds in the event
    (`"createdDate": 1705312200000`); a number becomes the UTC instant for the TIMESTAMPTZ column, while
    event_data keeps the event as it came.
    """
    header = event["eventHeader"]
    event_id = event_id or header["uuid"]
    event = {**event, "eventHeader": {**header, "uuid": event_id}}
    return {"id": event_id, "event_name": header["eventName"], "event_type": header.get("eventType"),
            "created_date": timestamp_value(header.get("createdDate")),
            "saved_date": timestamp_value(header.get("savedDate")),
            "event_data": json.dumps(event)}


def timestamp_value(value):
    """A header date for a TIMESTAMPTZ column: epoch milliseconds -> ISO-8601 UTC; strings and None as given."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
    return value


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES_DIR / f"{name}.json").read_text())


@dataclass
class Change:
    """One write to business_events: a create, an update (saved_date/event_type) or a delete."""

    id: str
    op: str  # c | u | d
    row: dict
    committed_ms: int = 0


def raw_shape(change: Change, table: str = TABLE) -> dict:
    """What a CDC-metadata connector writes to the raw topic for a change (the fields the filters can see)."""
    row = change.row
    return {**{c: row[c] for c in COLUMNS}, "__op": change.op, "__table": table,
            "__deleted": "true" if change.op == "d" else "false"}


#: the first byte of a value framed by a Schema Registry serializer (magic byte 0 + a 4-byte schema id)
SR_MAGIC = b"\x00"


def unframe(raw: bytes) -> bytes:
    """The JSON of a record value, plain or Schema-Registry framed (Confluent Flink's json-registry sink).

    Plain JSON never starts with a zero byte, so both forms are read; a frame without its schema id is an error.
    """
    if raw[:1] == SR_MAGIC:
        if len(raw) < 5:
            raise ValueError("value has the Schema Registry magic byte but no schema id")
        return raw[5:]
    return raw
