"""Readings for pipeline-health that are the same on every target: the replication slot (SQL on PostgreSQL or
Aurora), the consumer groups and their lag per partition, and dead-letter topic sizes (any Kafka cluster).

Each function returns the plain readings of pipeline/health.py; the decisions are made there.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from consumers.config import ConsumerSpec
from environments.kafka import KafkaClients
from pipeline.errors import PipelineError, TransientError
from pipeline.health import GroupReading, SlotReading
from pipeline.ports import Database
from pipeline.replication import HEARTBEAT_TABLE

SLOT_SQL = f"""
SELECT active,
       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint,
       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint,
       to_regclass('public.{HEARTBEAT_TABLE}') IS NOT NULL
  FROM pg_replication_slots WHERE slot_name = %s
"""


#: seconds since the connector's heartbeat query last wrote its row (NULL: no row yet)
HEARTBEAT_AGE_SQL = f"SELECT EXTRACT(EPOCH FROM now() - max(beat_at))::float8 FROM public.{HEARTBEAT_TABLE}"


def slot_reading(db: Database, slot: str) -> SlotReading | None:
    """The slot's retained WAL, how far its confirmed flush trails the server, and the age of the connector's
    heartbeat row (None: no such slot)."""
    rows = db.query(SLOT_SQL, (slot,))
    if not rows:
        return None
    active, retained, lag, table = rows[0]
    age = db.query(HEARTBEAT_AGE_SQL)[0][0] if table else None
    return SlotReading(slot, bool(active), int(retained), int(lag), HEARTBEAT_TABLE, not table,
                       None if age is None else max(0.0, float(age)))


def group_readings(kafka: KafkaClients, specs: Iterable[ConsumerSpec],
                   alive: dict[str, bool | None]) -> list[GroupReading]:
    """Each consumer's group state and its lag per partition of its topic (in committed records)."""
    specs = list(specs)
    admin = kafka.admin()
    try:
        described = admin.describe_consumer_groups([s.group_id for s in specs], request_timeout=10)
        states = {}
        for s in specs:
            try:
                states[s.group_id] = described[s.group_id].result().state.name
            except KafkaException as err:
                states[s.group_id] = f"unknown ({err.args[0].str() if err.args else err})"
    except KafkaException as err:
        raise TransientError(f"cannot describe the consumer groups on {kafka.bootstrap}: {err}") from None
    out = []
    for s in specs:
        try:
            lag, _ = kafka.group_lag(s.group_id, s.topic)
        except PipelineError as err:
            lag = {}
            states[s.group_id] = f"{states[s.group_id]}; lag unknown: {err.message}"
        out.append(GroupReading(s.name, s.group_id, s.topic, alive.get(s.name), states[s.group_id], lag))
    return out


def topic_sizes(kafka: KafkaClients, topics: Iterable[str]) -> dict[str, int | None]:
    """Records in each topic (high − low watermark summed over partitions; None: the topic does not exist)."""
    consumer = Consumer(kafka.connection.librdkafka(**{"group.id": "cdc-health", "enable.auto.commit": False}))
    try:
        sizes: dict[str, int | None] = {}
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or (meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
                sizes[topic] = None
                continue
            if meta.error is not None:
                raise TransientError(f"cannot read topic {topic!r}: {meta.error}")
            total = 0
            for p in meta.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                total += max(0, high - low)
            sizes[topic] = total
        return sizes
    except KafkaException as err:
        raise TransientError(f"cannot read topic sizes on {kafka.bootstrap}: {err}") from None
    finally:
        consumer.close()
