"""The `Kafka` port over confluent-kafka, for any cluster one `KafkaConnection` reaches: the local broker
(plaintext or its SASL_SSL listener) and Confluent Cloud (SASL_SSL/PLAIN, replication factor left to the
cluster). Topic creation, group checks, watchers pinned at the current end, and the produce/read helpers
the tests and benchmarks use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupState, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from pipeline.business_events import unframe
from pipeline.errors import PipelineError, TransientError
from pipeline.kafka_connection import KafkaConnection
from pipeline.polling import holds_within, poll_until


class KafkaClients:
    def __init__(self, connection: KafkaConnection, isolation_level: str = "read_committed"):
        self.connection = connection
        #: how `watch` reads the filtered topics: as the delivery mode's consumers do
        self.isolation_level = isolation_level

    @property
    def bootstrap(self) -> str:
        return self.connection.bootstrap_servers

    def admin(self) -> AdminClient:
        return AdminClient(self.connection.librdkafka(**{"socket.timeout.ms": 5000, "log_level": 3}))

    def ensure_topic(self, name: str, partitions: int) -> str:
        """Create the topic or grow it to `partitions`; returns 'created', 'grown' or 'unchanged'.

        A topic with more partitions than asked is left alone (partitions cannot shrink) and reported.
        """
        client = self.admin()
        try:
            meta = client.list_topics(timeout=10)
        except KafkaException as err:
            raise TransientError(f"Kafka at {self.bootstrap} is unreachable: {err}",
                                 fix="start it (./run stack up) or check CDC_KAFKA_BOOTSTRAP") from None
        existing = meta.topics.get(name)
        try:
            if existing is None or existing.error is not None:
                topic = NewTopic(name, num_partitions=partitions,
                                 replication_factor=self.connection.new_topic_replication())
                client.create_topics([topic])[name].result(30)
                return "created"
            have = len(existing.partitions)
            if have < partitions:
                client.create_partitions([NewPartitions(name, partitions)])[name].result(30)
                return "grown"
            return "unchanged" if have == partitions else f"unchanged ({have} partitions, more than {partitions})"
        except KafkaException as err:
            kerr = err.args[0]
            if isinstance(kerr, KafkaError) and kerr.code() == KafkaError.TOPIC_ALREADY_EXISTS:  # a concurrent run won
                return "unchanged"
            if isinstance(kerr, KafkaError) and kerr.retriable():
                raise TransientError(f"cannot create topic {name!r} yet: {kerr.str()}") from None
            raise PipelineError(f"cannot create topic {name!r}: {kerr}") from None

    def group_active_on_topic(self, group: str, topic: str) -> bool:
        """The group is STABLE and its members between them own every partition of the topic.

        An unreachable cluster is "not yet" (False); anything else (bad credentials, an unknown topic) is
        an error the caller sees at once instead of a health-check timeout.
        """
        admin = self.admin()
        try:
            desc = admin.describe_consumer_groups([group], request_timeout=5)[group].result()
            topics = admin.list_topics(topic, timeout=5).topics
        except KafkaException as err:
            kerr = err.args[0]
            if isinstance(kerr, KafkaError) and (kerr.retriable() or kerr.code() in (
                    KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN)):
                return False
            raise PipelineError(f"cannot describe consumer group {group!r} on {self.bootstrap}: {kerr}") from None
        meta = topics.get(topic)
        if meta is None or meta.error is not None:
            return False
        if desc.state != ConsumerGroupState.STABLE:
            return False
        owned = {tp.partition for m in desc.members for tp in (m.assignment.topic_partitions if m.assignment else [])
                 if tp.topic == topic}
        return len(meta.partitions) > 0 and len(owned) == len(meta.partitions)

    def group_position(self, group: str, topic: str) -> tuple[int, dict[int, int]]:
        """(records of `topic` the group has not committed yet, the topic's end offsets), read with one client."""
        lags, ends = self.group_lag(group, topic)
        return sum(lags.values()), ends

    def group_lag(self, group: str, topic: str) -> tuple[dict[int, int], dict[int, int]]:
        """({partition: committed records the group has not committed yet}, {partition: end offset}).

        Counted in records a read_committed reader would get, not in offsets: a transactional producer (Flink's
        exactly-once sinks, Connect's exactly-once capture) leaves a commit marker after its last record, and
        the group's committed offset never passes it, so "end − committed" would say 1 forever.
        """
        consumer = Consumer(self.connection.librdkafka(**{"group.id": group, "enable.auto.commit": False}))
        try:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                raise PipelineError(f"topic {topic!r} is not available: {meta.error if meta else 'missing'}")
            parts = [TopicPartition(topic, p) for p in meta.partitions]
            committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
            ends, starts = {}, {}
            for tp in parts:
                low, high = consumer.get_watermark_offsets(tp, timeout=10)
                done = committed.get(tp.partition, -1)
                ends[tp.partition] = high
                starts[tp.partition] = max(done if done >= 0 else low, low)
        except KafkaException as err:
            raise TransientError(f"cannot read the offsets of group {group!r}: {err}") from None
        finally:
            consumer.close()
        lags = {p: 0 for p in ends}
        behind = {p: (starts[p], ends[p]) for p in ends if ends[p] > starts[p]}
        if behind:
            lags.update(self._committed_records_between(topic, behind))
        return lags, ends

    def _committed_records_between(self, topic: str, spans: dict[int, tuple[int, int]],
                                   timeout: float = 10.0) -> dict[int, int]:
        """For each partition, the records a read_committed reader gets in [start, end); markers and aborted
        records are skipped. What is not read within `timeout` counts as offsets (an upper bound)."""
        consumer = Consumer(self.connection.librdkafka(**{"group.id": "cdc-lag-reader", "enable.auto.commit": False,
                                                          "isolation.level": "read_committed"}))
        counts = {p: 0 for p in spans}
        done: set[int] = set()
        try:
            consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in spans.items()])

            def read_all() -> bool:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    p = msg.partition()
                    if msg.offset() < spans[p][1]:
                        counts[p] += 1
                    if msg.offset() + 1 >= spans[p][1]:
                        done.add(p)
                elif msg is None:
                    for tp in consumer.position([TopicPartition(topic, p) for p in spans]):
                        if tp.offset >= spans[tp.partition][1]:
                            done.add(tp.partition)
                return len(done) >= len(spans)

            if not holds_within(read_all, timeout, every=0):
                positions = {tp.partition: tp.offset for tp in consumer.position(
                    [TopicPartition(topic, p) for p in spans])}
                for p, (start, end) in spans.items():
                    if p not in done:
                        at = positions.get(p, -1)
                        counts[p] += end - (at if at >= start else start)
            return counts
        except KafkaException as err:
            raise TransientError(f"cannot read {topic!r} to count a group's lag: {err}") from None
        finally:
            consumer.close()

    def wait_group_caught_up(self, group: str, topic: str, timeout: float = 120.0) -> None:
        """Until the group has committed every record of `topic` (a routing job drained the raw topic)."""
        seen: list = [None, None]  # lag, end offsets at the previous look

        def caught_up() -> bool:
            lag, ends = self.group_position(group, topic)
            quiet = seen[1] == ends  # nothing was appended since the last look: the end is really the end
            seen[:] = [lag, ends]
            return lag <= 0 and quiet

        poll_until(caught_up, timeout=timeout, every=1.0, what=f"group {group!r} at the end of {topic!r}",
                   last=lambda: f"{seen[0] if seen[0] is not None else '?'} records behind")

    def watch(self, topic: str) -> TopicWatcher:
        return TopicWatcher(self.connection, topic, self.isolation_level)

    def produce_json(self, topic: str, events: Iterable[dict], key_field: str = "id") -> int:
        producer = Producer(self.connection.librdkafka(**{"linger.ms": 5, "enable.idempotence": True}))
        count = 0
        for event in events:
            key = event.get(key_field)
            record = {"key": None if key is None else str(key).encode(),
                      "value": json.dumps(event, ensure_ascii=False).encode()}
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

    def read_to_end(self, topic: str, timeout: float = 60.0) -> list[dict]:
        """Every committed record of `topic` from the start to the end offsets seen now (read_committed)."""
        return [json.loads(unframe(r.value)) for r in self.read_records_to_end(topic, timeout)]

    def read_records_to_end(self, topic: str, timeout: float = 60.0) -> list[RawRecord]:
        """read_to_end, as the records' bytes: key, value, headers, partition and offset."""
        consumer = Consumer(self.connection.librdkafka(**{"group.id": "cdc-reader", "enable.auto.commit": False,
                                                          "isolation.level": "read_committed"}))
        try:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                return []
            ends, assign = {}, []
            for p in meta.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[p] = high
                    assign.append(TopicPartition(topic, p, low))
            if not assign:
                return []
            consumer.assign(assign)
            out: list[RawRecord] = []
            done: set[int] = set()

            def drained() -> bool:
                msg = consumer.poll(0.5)
                if msg is None:
                    # with transactions the high watermark may sit on a control record: check positions
                    for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                        if tp.offset >= ends[tp.partition]:
                            done.add(tp.partition)
                elif not msg.error():
                    out.append(RawRecord(msg.key(), msg.value(), dict(msg.headers() or []), msg.partition(),
                                         msg.offset()))
                    if msg.offset() + 1 >= ends[msg.partition()]:
                        done.add(msg.partition())
                return len(done) >= len(ends)

            poll_until(drained, timeout=timeout, every=0, what=f"reading {topic!r} to its end", error=PipelineError)
            return out
        finally:
            consumer.close()

    def produce_bytes(self, topic: str, values: Iterable[bytes | None], partition: int = 0) -> int:
        """Records as given (tests of what routing makes of values that are not events); one partition, in order."""
        producer = Producer(self.connection.librdkafka(**{"enable.idempotence": True}))
        count = 0
        for value in values:
            producer.produce(topic, value=value, key=f"k{count}".encode(), partition=partition)
            count += 1
        if producer.flush(60) != 0:
            raise PipelineError(f"could not deliver every record to {topic!r} within 60s")
        return count


@dataclass(frozen=True)
class RawRecord:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    partition: int
    offset: int


#: what TopicWatcher adds to each record value (single underscore; CDC fields use two)
META_KEYS = ("_key", "_partition", "_offset", "_timestamp_ms")


def without_meta(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in META_KEYS}


class TopicWatcher:
    """Reads a topic from the end offsets pinned at construction: nothing older is read, nothing newer missed."""

    def __init__(self, connection: KafkaConnection, topic: str, isolation_level: str = "read_committed"):
        self.topic = topic
        self.consumer = Consumer(connection.librdkafka(**{"group.id": "cdc-watcher", "enable.auto.commit": False,
                                                          "auto.offset.reset": "earliest",
                                                          "isolation.level": isolation_level}))
        meta = self.consumer.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            self.consumer.close()
            raise PipelineError(f"topic {topic!r} is not available: {meta.error}")
        parts = []
        for p in meta.partitions:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            parts.append(TopicPartition(topic, p, high))
        self.consumer.assign(parts)

    def collect(self, want_ids: set[str], timeout: float = 60.0, min_per_id: int = 1) -> dict[str, list[dict]]:
        """Records of the wanted ids (value dicts plus `_key`, `_partition`), until each has `min_per_id`."""
        seen: dict[str, list[dict]] = {}

        def enough() -> bool:
            if all(len(seen.get(i, [])) >= min_per_id for i in want_ids):
                return True
            msg = self.consumer.poll(0.3)
            if msg is not None and not msg.error():
                value = json.loads(unframe(msg.value()))
                value["_key"] = msg.key().decode() if msg.key() else None
                value["_partition"] = msg.partition()
                value["_offset"] = msg.offset()
                value["_timestamp_ms"] = msg.timestamp()[1]
                if value.get("id") in want_ids:
                    seen.setdefault(value["id"], []).append(value)
            return False

        holds_within(enough, timeout, every=0)  # on timeout: what arrived so far
        return seen

    def close(self) -> None:
        self.consumer.close()
