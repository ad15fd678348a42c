"""The JSON Schema registered for the raw topic (`raw-business-events-value`), pure.

Confluent Cloud Flink's `json-registry` tables read plain JSON (no schema-id prefix) when a JSON Schema is
registered under `<topic>-value`; fields the schema does not define are ignored, and a schema may be
partial (reference §5). This one names the fields the connector writes (pipeline/business_events.py:
COLUMNS + CDC_FIELDS): `event_data` is the JSONB as a JSON *string*, `__ts_ms` and `__lsn` integers (BIGINT in the
generated SQL), everything but `id` nullable (a delete without REPLICA IDENTITY FULL carries only the key).
Nullable fields use `oneOf [null, T]`, the form the Confluent Flink type mapping lists for nullable types.
Additional properties are allowed. (To move next to pipeline/business_events.py: the table's shape has one
home.)
"""

from __future__ import annotations

RAW_TOPIC = "raw-business-events"
#: the documented order: id, the event columns, then the CDC metadata
FIELDS = ("id", "event_name", "event_type", "created_date", "saved_date", "event_data",
          "__op", "__table", "__ts_ms", "__deleted", "__lsn")
_INTEGER_FIELDS = ("__ts_ms", "__lsn")


def _nullable(json_type: str) -> dict:
    return {"oneOf": [{"type": "null"}, {"type": json_type}]}


def raw_topic_json_schema(title: str = RAW_TOPIC) -> dict:
    """The JSON Schema (draft-07) of a raw-business-events value."""
    properties = {name: ({"type": "string"} if name == "id"
                         else _nullable("integer" if name in _INTEGER_FIELDS else "string"))
                  for name in FIELDS}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": properties,
        "required": ["id"],
        "additionalProperties": True,
    }


def value_subject(topic: str) -> str:
    """TopicNameStrategy: the value subject of `topic`."""
    return f"{topic}-value"
