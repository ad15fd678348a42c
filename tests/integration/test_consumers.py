"""The consumer apps as real processes against the real local Kafka.

Each test uses its own topic (`test-consumer-<uuid>`) and consumer group, never the pipeline's topics, and
deletes both at the end. Events are slowed down with PROCESSING_DELAY_MS where a test must stop a consumer
mid-stream.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from consumers.output import read_processed
from consumers.registry import get_consumer
from environments.kafka import KafkaClients
from pipeline.paths import ROOT
from tests.unit.consumers.samples import as_bytes, loan_created


# ---- helpers --------------------------------------------------------------------------------------------

class Run:
    """One consumer process; stdout/stderr go to files (a full pipe must never stall the consumer)."""

    def __init__(self, tmp_path: Path, label: str, bootstrap: str, topic: str, group: str, **env: str):
        self.out_file = tmp_path / f"{label}.processed.jsonl"
        self.stdout_path, self.stderr_path = tmp_path / f"{label}.stdout", tmp_path / f"{label}.stderr"
        spec = get_consumer("loan")
        child_env = {**os.environ, **spec.environment(bootstrap_servers=bootstrap, topic=topic, group_id=group,
                                                      processed_output=self.out_file),
                     "CONSUMER_SESSION_TIMEOUT_MS": "6000", **env}
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(spec.command(), cwd=ROOT, env=child_env, stdout=out, stderr=err)

    def processed(self):
        return read_processed(self.out_file)

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout_path.read_text().splitlines() if line.startswith("{")]

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.alive():
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)


def wait_for(predicate, timeout: float, what: str, runs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for run in runs:
            assert run.alive(), f"consumer exited early ({run.proc.returncode}): {run.stderr()[-2000:]}"
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]], partitions: int):
    """Produce (key, value) pairs round-robin over the partitions; returns each record's (partition, offset)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    where: dict[int, tuple[int, int]] = {}
    for i, (key, value) in enumerate(records):
        producer.produce(topic, key=key, value=value, partition=i % partitions,
                         on_delivery=lambda err, msg, i=i: where.__setitem__(i, (msg.partition(), msg.offset())))
    assert producer.flush(30) == 0 and len(where) == len(records)
    return [where[i] for i in range(len(records))]


def committed(bootstrap: str, topic: str, group: str, partitions: int) -> dict[int, int]:
    """The group's committed offsets (0 when none); reading them does not join the group."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = reader.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: max(tp.offset, 0) for tp in tps}
    finally:
        reader.close()


def read_dlq(bootstrap: str, topic: str, want: int, timeout: float = 30) -> list:
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dlq-reader-{uuid.uuid4().hex[:6]}",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        meta = reader.list_topics(topic, timeout=10).topics[topic]
        reader.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        got, deadline = [], time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
        return got
    finally:
        reader.close()


@pytest.fixture
def scratch(cfg, stack):
    """A fresh topic name and group; both (and the DLQ) are deleted afterwards."""
    token = uuid.uuid4().hex[:10]
    topic, group = f"test-consumer-{token}", f"test-consumer-group-{token}"
    runs: list[Run] = []
    yield topic, group, runs
    for run in runs:
        run.kill()
    admin = AdminClient({"bootstrap.servers": cfg.kafka_bootstrap})
    for future in admin.delete_topics([topic, topic + ".dlq"], operation_timeout=10).values():
        try:
            future.result(15)
        except Exception:
            pass
    try:
        admin.delete_consumer_groups([group])[group].result(15)
    except Exception:
        pass


def by_partition(records) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for r in records:
        out[r.partition].append(r.offset)
    return out


# ---- tests ----------------------------------------------------------------------------------------------

def test_poison_messages_go_to_the_dlq_and_every_good_event_is_processed(cfg, scratch, tmp_path):
    topic, group, runs = scratch
    KafkaClients(cfg.kafka).ensure_topic(topic, 2)
    bad_data = loan_created("p-data")
    bad_data["event_data"] = '{"eventHeader": {"uuid": '
    no_id = loan_created("p-id")
    del no_id["id"]
    no_name = loan_created("p-name")
    del no_name["event_name"]
    data_object = loan_created("p-obj")
    data_object["event_data"] = {"eventHeader": {}}
    poisons = [
        (b"this is not json {", "value is not JSON"),
        (as_bytes(bad_data), "event_data is not valid JSON"),
        (as_bytes(no_id), "missing required field 'id'"),
        (as_bytes(no_name), "missing required field 'event_name'"),
        (as_bytes(data_object), "event_data is a JSON object, not a JSON string"),
        (b"[1, 2, 3]", "value is a JSON array, not an object"),
    ]
    good = [f"good-{i}" for i in range(12)]
    records, kinds = [], []
    for i, event_id in enumerate(good):  # interleaved: good, poison, good, good, poison, ...
        records.append((event_id.encode(), as_bytes(loan_created(event_id))))
        kinds.append(("good", event_id))
        if i % 2 == 0 and i // 2 < len(poisons):
            value, reason = poisons[i // 2]
            records.append((f"poison-{i}".encode(), value))
            kinds.append(("poison", reason))
    where = produce(cfg.kafka_bootstrap, topic, records, partitions=2)

    run = Run(tmp_path, "run", cfg.kafka_bootstrap, topic, group)
    runs.append(run)
    wait_for(lambda: {r.id for r in run.processed()} == set(good), 60, "every good event", [run])
    dlq = read_dlq(cfg.kafka_bootstrap, topic + ".dlq", want=len(poisons))
    expected = {where[i]: (records[i][1], kind[1]) for i, kind in enumerate(kinds) if kind[0] == "poison"}
    assert len(dlq) == len(poisons)
    for msg in dlq:
        headers = {k: v.decode() for k, v in msg.headers()}
        source = (int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"]))
        value, reason = expected.pop(source)
        assert headers["dlq.source.topic"] == topic and headers["dlq.group"] == group
        assert msg.value() == value and headers["dlq.reason"].startswith(reason)
    assert expected == {}

    logged = [line for line in run.log_lines() if line["msg"] == "malformed event dead-lettered"]
    assert sorted((w["partition"], w["offset"]) for w in logged) == sorted(
        where[i] for i, kind in enumerate(kinds) if kind[0] == "poison")
    assert all(w["topic"] == topic and w["reason"] for w in logged)
    assert sorted(r.id for r in run.processed()) == sorted(good)  # each once
    # everything, poison included, is committed: a restart would not see any of it again
    ends = {p: sum(1 for w in where if w[0] == p) for p in (0, 1)}
    wait_for(lambda: committed(cfg.kafka_bootstrap, topic, group, 2) == ends, 15, "commits", [run])
    assert run.alive()
    assert run.stop() == 0


def test_restart_after_sigkill_loses_nothing(cfg, scratch, tmp_path):
    topic, group, runs = scratch
    KafkaClients(cfg.kafka).ensure_topic(topic, 3)
    ids = [f"kill-{i:03d}" for i in range(150)]
    produce(cfg.kafka_bootstrap, topic, [(i.encode(), as_bytes(loan_created(i))) for i in ids], partitions=3)

    first = Run(tmp_path, "first", cfg.kafka_bootstrap, topic, group, PROCESSING_DELAY_MS="20")
    runs.append(first)
    wait_for(lambda: len(first.processed()) >= 50, 60, "50 processed events", [first])
    first.kill()  # SIGKILL mid-stream
    done_first = first.processed()
    assert len(done_first) < len(ids)
    commit = committed(cfg.kafka_bootstrap, topic, group, 3)
    # no committed-but-unprocessed event: everything below each committed offset was processed
    offsets_first = by_partition(done_first)
    for p, offset in commit.items():
        assert set(range(offset)) <= set(offsets_first[p])

    second = Run(tmp_path, "second", cfg.kafka_bootstrap, topic, group)
    runs.append(second)
    wait_for(lambda: {r.id for r in done_first} | {r.id for r in second.processed()} == set(ids), 90,
             "every event after the restart", [second])
    done_second = second.processed()
    for p, offsets in by_partition(done_second).items():  # resumes exactly at the committed offset
        assert sorted(offsets) == list(range(commit[p], 50))
    duplicates = {r.id for r in done_first} & {r.id for r in done_second}
    assert all(r.offset >= commit[r.partition] for r in done_first if r.id in duplicates)
    assert second.stop() == 0


def test_sigterm_finishes_commits_and_restart_continues_exactly_after(cfg, scratch, tmp_path):
    topic, group, runs = scratch
    KafkaClients(cfg.kafka).ensure_topic(topic, 3)
    ids = [f"term-{i:03d}" for i in range(150)]
    produce(cfg.kafka_bootstrap, topic, [(i.encode(), as_bytes(loan_created(i))) for i in ids], partitions=3)

    first = Run(tmp_path, "first", cfg.kafka_bootstrap, topic, group, PROCESSING_DELAY_MS="20")
    runs.append(first)
    wait_for(lambda: len(first.processed()) >= 40, 60, "40 processed events", [first])
    started = time.monotonic()
    assert first.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    done_first = first.processed()
    assert len(done_first) < len(ids) and len({r.id for r in done_first}) == len(done_first)
    commit = committed(cfg.kafka_bootstrap, topic, group, 3)
    offsets_first = by_partition(done_first)
    for p in range(3):  # committed == processed, per partition, with no gap
        assert sorted(offsets_first[p]) == list(range(commit[p]))
    assert sum(commit.values()) == len(done_first)
    stopped = first.log_lines()[-1]
    assert stopped["msg"] == "consumer stopped" and stopped["signal"] == "SIGTERM"
    assert stopped["processed"] == len(done_first)

    second = Run(tmp_path, "second", cfg.kafka_bootstrap, topic, group)
    runs.append(second)
    wait_for(lambda: len(done_first) + len(second.processed()) >= len(ids), 60, "the rest of the stream", [second])
    done_second = second.processed()
    assert sorted(r.id for r in done_first + done_second) == sorted(ids)  # no loss, no duplicate
    for p, offsets in by_partition(done_second).items():
        assert sorted(offsets) == list(range(commit[p], 50))
    assert second.stop() == 0


def test_sasl_credentials_never_reach_any_output(cfg, scratch, tmp_path):
    """SASL_SSL against the plaintext local broker cannot connect; the consumer keeps trying, logs, and
    stops cleanly — and neither its lines nor librdkafka's contain the key or the secret."""
    topic, group, runs = scratch
    key, secret = "KEYZ9Q8W7E", "secret-Xy7-do-not-print"
    run = Run(tmp_path, "sasl", cfg.kafka_bootstrap, topic, group, KAFKA_API_KEY=key, KAFKA_API_SECRET=secret)
    runs.append(run)
    wait_for(lambda: any(line["msg"] == "consumer started" for line in run.log_lines()), 30, "startup", [run])
    time.sleep(2)
    assert run.stop() == 0
    start = run.log_lines()[0]
    assert start["security_protocol"] == "SASL_SSL" and start["sasl_mechanism"] == "PLAIN"
    text = run.stdout_path.read_text() + run.stderr()
    assert key not in text and secret not in text


def test_configuration_error_exits_1_with_one_line(tmp_path):
    env = {**os.environ, "KAFKA_API_KEY": "KEY-ONLY-123"}
    env.pop("KAFKA_API_SECRET", None)
    proc = subprocess.run(get_consumer("car").command(), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: KAFKA_API_KEY is set but KAFKA_API_SECRET is not")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and "KEY-ONLY-123" not in proc.stderr


def test_low_latency_reads_open_transactions_and_drops_replayed_changes_across_a_sigkill(cfg, scratch, tmp_path):
    """DELIVERY_MODE=low-latency: records are processed before their transaction commits (read_uncommitted),
    and a change delivered again (same id and __lsn) is processed once, even when the second copy arrives
    after the consumer was killed and restarted: only events processed but not yet committed at the kill may
    be processed again (the runtime's at-least-once contract)."""
    topic, group, runs = scratch
    KafkaClients(cfg.kafka).ensure_topic(topic, 3)
    store = tmp_path / "loan-seen.sqlite"
    low = {"DELIVERY_MODE": "low-latency", "DEDUP_STORE": str(store)}
    ids = [f"low-{i:03d}" for i in range(150)]
    events = [(i.encode(), as_bytes(loan_created(i, __lsn=1000 + n))) for n, i in enumerate(ids)]
    # the stream, then the first 60 changes again: what an at-least-once sink writes after replaying
    produce(cfg.kafka_bootstrap, topic, events + events[:60], partitions=3)

    first = Run(tmp_path, "first", cfg.kafka_bootstrap, topic, group, PROCESSING_DELAY_MS="15", **low)
    runs.append(first)
    wait_for(lambda: len(first.processed()) >= 50, 60, "50 processed events", [first])
    first.kill()
    done_first = first.processed()
    commit = committed(cfg.kafka_bootstrap, topic, group, 3)
    uncommitted_at_kill = {r.id for r in done_first if r.offset >= commit[r.partition]}

    second = Run(tmp_path, "second", cfg.kafka_bootstrap, topic, group, **low)
    runs.append(second)
    total = len(events) + 60
    wait_for(lambda: sum(committed(cfg.kafka_bootstrap, topic, group, 3).values()) >= total, 90,
             "every record committed after the restart", [second])
    done = done_first + second.processed()
    counts = {i: 0 for i in ids}
    for r in done:
        counts[r.id] += 1
    assert all(counts[i] >= 1 for i in ids)  # nothing lost
    twice = {i for i, n in counts.items() if n > 1}
    assert twice <= uncommitted_at_kill, f"processed twice although committed before the kill: {twice - uncommitted_at_kill}"
    assert max(counts.values()) <= 2
    dropped = [line for line in second.log_lines() if line["msg"] == "duplicate dropped"]
    assert len(dropped) >= 60 - len(twice)

    # an open transaction's records are processed before it commits
    txn = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "transactional.id": f"test-low-{uuid.uuid4().hex[:6]}"})
    txn.init_transactions(30)
    txn.begin_transaction()
    open_ids = [f"open-{i}" for i in range(5)]
    for n, i in enumerate(open_ids):
        txn.produce(topic, key=i.encode(), value=as_bytes(loan_created(i, __lsn=9000 + n)))
    txn.flush(30)
    try:
        wait_for(lambda: set(open_ids) <= {r.id for r in second.processed()}, 30,
                 "the open transaction's records processed", [second])
    finally:
        txn.commit_transaction(30)
    assert second.stop() == 0
