"""The runtime loop against in-memory fakes of the Kafka consumer and producer (no servers)."""

import dataclasses
import io
import json
import threading

from confluent_kafka import KafkaError, TopicPartition

from consumers.config import ConsumerSettings
from consumers.output import JsonLog, ProcessedOutput, read_processed
from consumers.registry import get_consumer
from consumers.runtime import ConsumerApp
from tests.unit.consumers.samples import TS_MS, as_bytes, loan_created

TOPIC = "t-in"


class Msg:
    def __init__(self, partition, offset, value, key=None, headers=None):
        self._p, self._o, self._v, self._k, self._h = partition, offset, value, key, headers

    def topic(self): return TOPIC
    def partition(self): return self._p
    def offset(self): return self._o
    def value(self): return self._v
    def key(self): return self._k
    def headers(self): return self._h
    def error(self): return None


class FakeConsumer:
    """Serves records partition by partition; seek() rewinds; stops the app when nothing is left."""

    def __init__(self, records, stop, polls_after_end=1):
        self.records = records
        self.pos = {}
        self.stop = stop
        self.commits, self.seeks = [], []
        self.closed = False
        self.assigned = False
        self.polls_after_end = polls_after_end

    def subscribe(self, topics, on_assign, on_revoke, on_lost):
        assert topics == [TOPIC]
        self.on_assign, self.on_revoke = on_assign, on_revoke

    def poll(self, timeout):
        if not self.assigned:
            self.assigned = True
            self.on_assign(self, [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])
        for rec in self.records:
            if rec.offset() >= self.pos.get(rec.partition(), 0):
                self.pos[rec.partition()] = rec.offset() + 1
                return rec
        self.polls_after_end -= 1
        if self.polls_after_end <= 0:
            self.stop.set()
        return None

    def _has_next(self):
        return any(rec.offset() >= self.pos.get(rec.partition(), 0) for rec in self.records)

    def consume(self, num_messages, timeout):
        """As librdkafka's: whatever is there, up to num_messages (one poll's wait when nothing is)."""
        batch = []
        while len(batch) < num_messages and self.assigned and self._has_next():
            batch.append(self.poll(timeout))
        if batch:
            return batch
        msg = self.poll(timeout)
        return [] if msg is None else [msg]

    def seek(self, tp):
        self.seeks.append((tp.partition, tp.offset))
        self.pos[tp.partition] = tp.offset

    def commit(self, offsets, asynchronous):
        assert asynchronous is False
        self.commits.append({tp.partition: tp.offset for tp in offsets})
        return offsets

    def close(self):
        self.closed = True


class FakeProducer:
    def __init__(self, failures=0):
        self.failures = failures
        self.sent, self._queue = [], []

    def produce(self, topic, value, key, headers, on_delivery):
        self._queue.append((topic, value, key, headers, on_delivery))

    def flush(self, timeout):
        for topic, value, key, headers, cb in self._queue:
            if self.failures:
                self.failures -= 1
                cb(KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out"), None)
            else:
                self.sent.append((topic, value, key, dict(headers)))
                cb(None, None)
        self._queue.clear()
        return 0


def make_app(records, tmp_path, env=None, failures=0, dlq_created=None):
    stop = threading.Event()
    settings = ConsumerSettings.from_env(get_consumer("loan"), {"KAFKA_TOPIC": TOPIC,
                                                                "PROCESSED_OUTPUT": str(tmp_path / "out.jsonl"),
                                                                **(env or {})})
    stream = io.StringIO()
    app = ConsumerApp(get_consumer("loan"), settings, consumer=FakeConsumer(records, stop),
                      producer=FakeProducer(failures), log=JsonLog(stream, "loan"),
                      output=ProcessedOutput(settings.processed_output), stop=stop,
                      ensure_dlq=(lambda: dlq_created.append(1)) if dlq_created is not None else None)
    app.BACKOFF_FIRST_S = 0.01
    return app, stream


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_processes_logs_records_commits_and_closes(tmp_path):
    records = [Msg(0, 0, as_bytes(loan_created("a"))), Msg(1, 0, as_bytes(loan_created("b"))),
               Msg(0, 1, as_bytes(loan_created("c")))]
    app, stream = make_app(records, tmp_path)
    assert app.run() == 0
    logged = lines(stream)
    assert logged[0]["msg"] == "consumer started" and logged[0]["topic"] == TOPIC
    processed = [line for line in logged if line["msg"] == "event processed"]
    assert [p["id"] for p in processed] == ["a", "b", "c"]
    first = processed[0]
    assert {k: first[k] for k in ("consumer", "event_type", "op", "topic", "partition", "offset")} == {
        "consumer": "loan", "event_type": "LoanCreated", "op": "c", "topic": TOPIC, "partition": 0, "offset": 0}
    assert first["lag_ms"] >= 0 and first["entities"][0]["loanAmount"] == 48500.0
    out = read_processed(tmp_path / "out.jsonl")
    assert [(r.id, r.partition, r.offset, r.ts_ms) for r in out] == [("a", 0, 0, TS_MS), ("b", 1, 0, TS_MS),
                                                                      ("c", 0, 1, TS_MS)]
    assert out[0].latency_ms == out[0].processed_at_ms - TS_MS
    assert app.consumer.commits[-1] == {0: 2, 1: 1} and app.consumer.closed
    assert logged[-1]["msg"] == "consumer stopped" and logged[-1]["processed"] == 3
    assert logged[-1]["committed"] == {f"{TOPIC}/0": 2, f"{TOPIC}/1": 1}


def test_malformed_records_go_to_the_dlq_unchanged_with_reason_and_source(tmp_path):
    created = []
    records = [Msg(0, 0, b"not json", key=b"k1", headers=[("trace", b"t-1")]),
               Msg(0, 1, as_bytes(loan_created("good"))),
               Msg(0, 2, json.dumps({"id": "x", "event_name": "LoanCreated", "event_data": "{nope"}).encode())]
    app, stream = make_app(records, tmp_path, dlq_created=created)
    assert app.run() == 0
    sent = app.producer.sent
    assert [(s[0], s[1], s[2]) for s in sent] == [(TOPIC + ".dlq", b"not json", b"k1"),
                                                  (TOPIC + ".dlq", records[2].value(), None)]
    h = sent[0][3]
    assert h["trace"] == b"t-1" and h["dlq.reason"].startswith(b"value is not JSON")
    assert (h["dlq.source.topic"], h["dlq.source.partition"], h["dlq.source.offset"]) == (TOPIC.encode(), b"0", b"0")
    assert h["dlq.consumer"] == b"loan" and h["dlq.group"] == b"loan-consumer-group"
    assert sent[1][3]["dlq.reason"].startswith(b"event_data is not valid JSON")
    warnings = [line for line in lines(stream) if line["msg"] == "malformed event dead-lettered"]
    assert [(w["partition"], w["offset"]) for w in warnings] == [(0, 0), (0, 2)]
    assert all(w["reason"] and w["dlq_topic"] == TOPIC + ".dlq" for w in warnings)
    assert [r.id for r in read_processed(tmp_path / "out.jsonl")] == ["good"]
    assert app.consumer.commits[-1] == {0: 3} and app.dead_lettered == 2 and created == [1]


def test_failed_dlq_produce_rewinds_and_never_commits_past_the_record(tmp_path):
    records = [Msg(0, 0, as_bytes(loan_created("a"))), Msg(0, 1, b"{bad"), Msg(0, 2, as_bytes(loan_created("b")))]
    app, stream = make_app(records, tmp_path, failures=2)
    app.COMMIT_INTERVAL_S = 0  # commit after every batch, so a premature commit would show
    dlq_sent_at_commit = []
    real_commit = app.consumer.commit

    def commit(offsets, asynchronous):
        dlq_sent_at_commit.append(len(app.producer.sent))
        return real_commit(offsets, asynchronous)

    app.consumer.commit = commit
    assert app.run() == 0
    assert app.consumer.seeks == [(0, 1), (0, 1)]
    # nothing beyond offset 1 was committed before the record reached the DLQ (the rest of the batch after
    # the failed record was skipped and read again)
    first_past = next(i for i, c in enumerate(app.consumer.commits) if c.get(0, 0) > 1)
    assert all(c.get(0, 0) <= 1 for c in app.consumer.commits[:first_past])
    assert dlq_sent_at_commit[first_past] == 1 and len(app.producer.sent) == 1
    errors = [line for line in lines(stream) if line["level"] == "error"]
    assert len(errors) == 2 and errors[0]["error"] == "Local: Message timed out" and errors[0]["offset"] == 1
    assert [r.id for r in read_processed(tmp_path / "out.jsonl")] == ["a", "b"]


def test_stop_while_dlq_is_down_commits_only_before_the_record(tmp_path):
    records = [Msg(0, 0, as_bytes(loan_created("a"))), Msg(0, 1, b"{bad"), Msg(0, 2, as_bytes(loan_created("b")))]
    app, _ = make_app(records, tmp_path, failures=1000)
    app.consumer.polls_after_end = 10 ** 9
    app.stop.wait = lambda timeout: app.stop.set()  # a SIGTERM arrives during the backoff
    assert app.run() == 0
    assert app.consumer.commits[-1] == {0: 1} and app.consumer.closed


def test_handler_bug_on_one_record_dead_letters_it(tmp_path):
    records = [Msg(0, 0, as_bytes(loan_created("a")))]
    app, stream = make_app(records, tmp_path)
    app.spec = dataclasses.replace(app.spec, handler=lambda event: 1 / 0)
    assert app.run() == 0
    assert app.producer.sent[0][3]["dlq.reason"] == b"handler failed: ZeroDivisionError: division by zero"


def test_revoke_commits_the_revoked_partitions(tmp_path):
    app, _ = make_app([], tmp_path)
    app._pending = {(TOPIC, 0): 5, (TOPIC, 1): 7}
    app._on_revoke(app.consumer, [TopicPartition(TOPIC, 1)])
    assert app.consumer.commits == [{1: 7}] and app._pending == {(TOPIC, 0): 5}


def test_startup_and_every_line_hide_the_credentials(tmp_path):
    key, secret = "KEY-ABC-123", "very-secret-9f8e7d"
    app, stream = make_app([Msg(0, 0, b"oops"), Msg(0, 1, as_bytes(loan_created("a")))], tmp_path,
                           env={"KAFKA_API_KEY": key, "KAFKA_API_SECRET": secret})
    assert app.run() == 0
    text = stream.getvalue() + (tmp_path / "out.jsonl").read_text()
    assert key not in text and secret not in text
    start = lines(stream)[0]
    assert start["security_protocol"] == "SASL_SSL" and start["credentials"] == "api key set"


def test_a_crash_exits_2_after_committing_what_was_processed(tmp_path, monkeypatch, capsys):
    from consumers import runtime

    class Exploding(FakeConsumer):
        def poll(self, timeout):
            msg = super().poll(timeout)
            if msg is None:
                raise RuntimeError("broken client")
            return msg

    apps = []

    def create(spec, settings, *, log, output, stop):
        app = ConsumerApp(spec, settings, consumer=Exploding([Msg(0, 0, as_bytes(loan_created("a")))], stop),
                          producer=FakeProducer(), log=log, output=output, stop=stop)
        apps.append(app)
        return app

    monkeypatch.setattr(runtime.ConsumerApp, "create", staticmethod(create))
    assert runtime.main(get_consumer("loan"), environ={"KAFKA_TOPIC": TOPIC, "PROCESSED_OUTPUT": str(tmp_path / "o")}) == 2
    out, err = capsys.readouterr()
    assert err.rstrip().splitlines()[-1] == "crash: RuntimeError: broken client"
    assert json.loads(out.splitlines()[-1])["msg"] == "consumer crashed"
    assert apps[0].consumer.commits == [{0: 1}] and apps[0].consumer.closed


def test_module_cli_lists_the_consumers(capsys):
    from consumers.__main__ import main as cli

    assert cli(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["loan", "loan-payment", "service", "car"]
    assert cli(["frobnicate"]) == 1


def test_a_batch_is_written_out_before_its_offsets_are_committed(tmp_path):
    records = [Msg(p, o, as_bytes(loan_created(f"e-{p}-{o}"))) for o in range(4) for p in (0, 1)]
    app, stream = make_app(records, tmp_path)
    app.COMMIT_INTERVAL_S = 0
    seen_at_commit = []
    real_commit = app.consumer.commit

    def commit(offsets, asynchronous):
        written = {(r.partition, r.offset) for r in read_processed(tmp_path / "out.jsonl")}
        logged = {(line["partition"], line["offset"]) for line in lines(stream) if line["msg"] == "event processed"}
        seen_at_commit.append(all({(tp.partition, o) for o in range(tp.offset)} <= written & logged for tp in offsets))
        return real_commit(offsets, asynchronous)

    app.consumer.commit = commit
    assert app.run() == 0
    assert seen_at_commit and all(seen_at_commit)
    assert len(read_processed(tmp_path / "out.jsonl")) == 8
