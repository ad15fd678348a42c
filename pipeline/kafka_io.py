"""Small Kafka helpers for checks, tests and benchmarks: produce JSON events, read a topic to its end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.errors import PipelineError


def produce_json(bootstrap: str, topic: str, events: Iterable[dict], key_field: str = "id") -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    count = 0
    for event in events:
        key = event.get(key_field)
        record = {"key": None if key is None else str(key).encode(), "value": json.dumps(event, ensure_ascii=False).encode()}
        while True:
            try:
                producer.produce(topic, **record)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry this record
                producer.poll(0.1)
        count += 1
        if count % 1000 == 0:
            producer.poll(0)
    if producer.flush(60) != 0:
        raise PipelineError(f"could not deliver every event to {topic!r} within 60s")
    return count


def read_to_end(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict]:
    """Every committed record of `topic` from the start to the end offsets seen now (read_committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdc-reader", "enable.auto.commit": False,
                         "isolation.level": "read_committed"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        ends = {}
        assign = []
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
                assign.append(TopicPartition(topic, p, low))
        if not assign:
            return []
        consumer.assign(assign)
        out: list[dict] = []
        done: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(done) < len(ends) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                # with transactions the high watermark may sit on a control record: check positions
                for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                    if tp.offset >= ends[tp.partition]:
                        done.add(tp.partition)
                continue
            if msg.error():
                continue
            out.append(json.loads(msg.value()))
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        if len(done) < len(ends):
            raise PipelineError(f"reading {topic!r} to its end took longer than {timeout:.0f}s")
        return out
    finally:
        consumer.close()
