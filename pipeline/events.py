"""Write business events to PostgreSQL and watch raw-business-events for them.

Used by the deploy flow's raw CDC check and by the integration tests: a watcher pins each partition's
end offset *before* the write, so nothing that arrives after it can be missed and nothing older is read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer, TopicPartition

from pipeline.errors import PipelineError
from pipeline.settings import ROOT, DatabaseSettings

SAMPLES = ROOT / "samples" / "events"
#: what TopicWatcher adds to each record value (single underscore; CDC fields use two)
META_KEYS = ("_key", "_partition", "_timestamp_ms")


def without_meta(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in META_KEYS}

INSERT = """INSERT INTO business_events (id, event_name, event_type, created_date, saved_date, event_data)
VALUES (%(id)s, %(event_name)s, %(event_type)s, %(created_date)s, %(saved_date)s, %(event_data)s)"""


def row_from_event(event: dict, event_id: str | None = None) -> dict:
    """The seed's mapping: flat columns come from eventHeader, the whole event goes to event_data."""
    header = event["eventHeader"]
    event_id = event_id or header["uuid"]
    event = {**event, "eventHeader": {**header, "uuid": event_id}}
    return {"id": event_id, "event_name": header["eventName"], "event_type": header.get("eventType"),
            "created_date": header.get("createdDate"), "saved_date": header.get("savedDate"),
            "event_data": json.dumps(event)}


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def insert_rows(db: DatabaseSettings, rows: list[dict]) -> None:
    with psycopg.connect(**db.conninfo()) as conn, conn.cursor() as cur:
        cur.executemany(INSERT, rows)


@dataclass
class TopicWatcher:
    """Reads a topic from offsets pinned at construction time."""

    bootstrap: str
    topic: str
    consumer: Consumer = field(init=False)

    def __post_init__(self) -> None:
        self.consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "cdc-watcher",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        meta = self.consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        if meta.error is not None:
            raise PipelineError(f"topic {self.topic!r} is not available: {meta.error}")
        parts = []
        for p in meta.partitions:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)
            parts.append(TopicPartition(self.topic, p, high))
        self.consumer.assign(parts)

    def collect(self, want_ids: set[str], timeout: float = 60.0, min_per_id: int = 1) -> dict[str, list[dict]]:
        """Records of the wanted ids (value dicts plus `_key`, `_partition`), until each has `min_per_id`."""
        seen: dict[str, list[dict]] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(seen.get(i, [])) >= min_per_id for i in want_ids):
                break
            msg = self.consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            value = json.loads(msg.value())
            value["_key"] = msg.key().decode() if msg.key() else None
            value["_partition"] = msg.partition()
            value["_timestamp_ms"] = msg.timestamp()[1]
            if value.get("id") in want_ids:
                seen.setdefault(value["id"], []).append(value)
        return seen

    def close(self) -> None:
        self.consumer.close()
