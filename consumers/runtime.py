"""The runtime every consumer shares: poll, parse, handle, log, commit; dead-letter what cannot be parsed.

Delivery is at-least-once. Records are taken in batches (up to BATCH at a time); an event's log line and
PROCESSED_OUTPUT line are flushed once per batch, or every FLUSH_INTERVAL_S within a batch of slow events,
and always before any offset commit. After an event is processed its next offset becomes *pending*, and pending offsets are committed synchronously about once a
second (or every 500 events), when partitions are revoked, and on shutdown. A crash or SIGKILL can therefore
only cause re-processing of events that were processed but not yet committed — never a skip.

A malformed record is produced unchanged to the dead-letter topic (`<topic>.dlq`) with the reason and its
source coordinates in headers, then counts as done. If that produce fails, the consumer seeks back to the
record and retries with backoff: nothing after it on its partition is committed until it is dead-lettered.

In the low-latency delivery mode (DELIVERY_MODE=low-latency) the consumer reads uncommitted records and
drops a record whose (id, __lsn) it has processed before (consumers/dedup.py); the keys are made durable
before the offsets are committed, so the filter holds across a restart. A record without `__lsn` has no
such key and is processed (the deploy refuses low-latency behind a connector that adds none).

SIGTERM / SIGINT: the current event is finished, pending offsets are committed, the consumer leaves its group
(close) and the process exits 0. Configuration errors exit 1 with one line on stderr; crashes exit 2.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from consumers.config import ConsumerSettings, ConsumerSpec
from consumers.dedup import SeenKeys
from consumers.events import MalformedEvent, parse_value
from consumers.output import JsonLog, ProcessedOutput, ProcessedRecord, now_ms
from pipeline.cli import run_cli
from pipeline.errors import ConfigError

Key = tuple[str, int]


class _Throttle:
    """Logs a repeated warning at most once per `every` seconds per key (a down broker is noisy)."""

    def __init__(self, log: JsonLog, every: float = 30.0, monotonic: Callable[[], float] = time.monotonic):
        self.log, self.every, self.monotonic = log, every, monotonic
        self._last: dict[str, float] = {}

    def warning(self, key: str, msg: str, **fields: Any) -> None:
        now = self.monotonic()
        if now - self._last.get(key, -1e18) >= self.every:
            self._last[key] = now
            self.log.warning(msg, **fields)


class _ClientLogHandler(logging.Handler):
    """librdkafka's own log lines (otherwise printed raw on stderr) as throttled JSON lines."""

    def __init__(self, throttle: _Throttle):
        super().__init__()
        self.throttle = throttle

    def emit(self, record: logging.LogRecord) -> None:
        facility = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "log"
        self.throttle.warning(f"rdkafka:{facility}", "kafka client log", level_name=record.levelname,
                              text=record.getMessage())


def _client_logger(name: str, throttle: _Throttle) -> logging.Logger:
    logger = logging.getLogger(f"consumers.rdkafka.{name}")
    logger.propagate = False
    logger.handlers[:] = [_ClientLogHandler(throttle)]
    logger.setLevel(logging.INFO)
    return logger


def ensure_dlq_topic(settings: ConsumerSettings, **client_extra: Any) -> str:
    """Create the dead-letter topic if it is missing, with as many partitions as the source topic."""
    admin = AdminClient({**settings.admin_config(), **client_extra})
    meta = admin.list_topics(timeout=10)
    existing = meta.topics.get(settings.dlq_topic)
    if existing is not None and existing.error is None:
        return "exists"
    source = meta.topics.get(settings.topic)
    partitions = len(source.partitions) if source is not None and source.error is None and source.partitions else 1
    try:
        admin.create_topics([NewTopic(settings.dlq_topic, num_partitions=partitions)])[settings.dlq_topic].result(30)
    except KafkaException as err:
        kerr = err.args[0]
        if isinstance(kerr, KafkaError) and kerr.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return "exists"
        raise
    return "created"


class ConsumerApp:
    POLL_TIMEOUT_S = 0.5
    #: records taken per consume call: one flush of the log and one write of PROCESSED_OUTPUT per batch
    BATCH = 500
    #: within a batch, output is flushed (and offsets may be committed) at least this often, so that slow
    #: handlers neither hide progress nor hold a whole batch uncommitted
    FLUSH_INTERVAL_S = 0.1
    COMMIT_INTERVAL_S = 1.0
    COMMIT_EVERY = 500
    DLQ_FLUSH_TIMEOUT_S = 20.0
    BACKOFF_FIRST_S = 0.5
    BACKOFF_MAX_S = 30.0

    def __init__(self, spec: ConsumerSpec, settings: ConsumerSettings, *, consumer: Any, producer: Any,
                 log: JsonLog, output: ProcessedOutput | None = None, stop: threading.Event | None = None,
                 ensure_dlq: Callable[[], Any] | None = None, monotonic: Callable[[], float] = time.monotonic,
                 seen: SeenKeys | None = None):
        self.spec, self.settings = spec, settings
        self.consumer, self.producer = consumer, producer
        self.log, self.output = log, output
        self.stop = stop or threading.Event()
        self.stop_signal: str | None = None
        self._ensure_dlq = ensure_dlq
        self._dlq_ready = ensure_dlq is None
        self.monotonic = monotonic
        self.throttle = _Throttle(log, monotonic=monotonic)
        self._pending: dict[Key, int] = {}
        self.committed: dict[Key, int] = {}
        self._since_commit = 0
        self._last_commit = monotonic()
        self._backoff = 0.0
        self.processed = 0
        self.dead_lettered = 0
        self.seen = seen
        self.duplicates = 0
        self._out: list[ProcessedRecord] = []
        self._rewound: set[Key] = set()
        self._last_flush = monotonic()

    # ---- construction -------------------------------------------------------------------------------

    @classmethod
    def create(cls, spec: ConsumerSpec, settings: ConsumerSettings, *, log: JsonLog,
               output: ProcessedOutput | None, stop: threading.Event) -> ConsumerApp:
        throttle = _Throttle(log)

        def client_error(err: KafkaError) -> None:
            throttle.warning(f"client:{err.code()}", "kafka client error", code=err.name(), error=err.str())

        client_logs = _client_logger(spec.name, throttle)
        try:
            consumer = Consumer({**settings.consumer_config(), "error_cb": client_error, "logger": client_logs})
            producer = Producer({**settings.producer_config(), "error_cb": client_error, "logger": client_logs})
        except KafkaException as err:
            raise ConfigError(f"invalid Kafka client configuration: {err.args[0]}") from None
        seen = SeenKeys(settings.dedup_store) if settings.dedup_store is not None else None
        return cls(spec, settings, consumer=consumer, producer=producer, log=log, output=output, stop=stop,
                   ensure_dlq=lambda: ensure_dlq_topic(settings, error_cb=client_error, logger=client_logs),
                   seen=seen)

    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal-handler safe: only sets flags (no I/O)."""
        if signum is not None and self.stop_signal is None:
            self.stop_signal = signal.Signals(signum).name
        self.stop.set()

    # ---- main loop ----------------------------------------------------------------------------------

    def run(self) -> int:
        self.log.info("consumer started", pid=os.getpid(), **self.settings.describe())
        self.consumer.subscribe([self.settings.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        self.log.deferred = True
        try:
            while not self.stop.is_set():
                self._rewound.clear()
                for msg in self.consumer.consume(self.BATCH, self.POLL_TIMEOUT_S):
                    if self.stop.is_set():  # SIGTERM: finish this event only; the rest is read again later
                        break
                    if msg.error():
                        self._poll_error(msg.error())
                    elif (msg.topic(), msg.partition()) not in self._rewound:  # after a seek back: re-read
                        self.handle(msg)
                        if self.monotonic() - self._last_flush >= self.FLUSH_INTERVAL_S:
                            self._flush_outputs()
                            self._maybe_commit()
                self._flush_outputs()
                self._maybe_commit()
        except BaseException as err:
            self.log.error("consumer crashed", error=f"{type(err).__name__}: {err}")
            self._shutdown()
            raise
        self._shutdown()
        self.log.info("consumer stopped", signal=self.stop_signal, processed=self.processed,
                      dead_lettered=self.dead_lettered, duplicates_dropped=self.duplicates,
                      committed=self._committed_view())
        return 0

    def handle(self, msg: Any) -> None:
        """Process one record (or dead-letter it); marks it done only when that succeeded."""
        try:
            event = parse_value(msg.value())
            entities = self.spec.handler(event)
        except MalformedEvent as bad:
            self._malformed(msg, bad.reason)
            return
        except Exception as err:  # a handler bug on one record must not block the partition
            self._malformed(msg, f"handler failed: {type(err).__name__}: {err}")
            return
        key = None if self.seen is None or event.lsn is None else (event.id, event.lsn)
        if key is not None and self.seen.seen(*key):
            self.duplicates += 1
            self.log.info("duplicate dropped", id=event.id, lsn=event.lsn, topic=msg.topic(),
                          partition=msg.partition(), offset=msg.offset())
            self._done(msg)
            return
        if self.settings.processing_delay_ms:
            time.sleep(self.settings.processing_delay_ms / 1000)  # not interruptible: finish the event
        processed_at = now_ms()
        lag = None if event.ts_ms is None else processed_at - event.ts_ms
        self.log.info("event processed", id=event.id, event_name=event.event_name, event_type=event.event_type,
                      op=event.op, table=event.table, deleted=event.deleted, topic=msg.topic(),
                      partition=msg.partition(), offset=msg.offset(), lag_ms=lag, entities=entities)
        if self.output is not None:
            self._out.append(ProcessedRecord(id=event.id, consumer=self.spec.name, topic=msg.topic(),
                                             partition=msg.partition(), offset=msg.offset(),
                                             processed_at_ms=processed_at, ts_ms=event.ts_ms))
        if key is not None:
            self.seen.add(*key, at_ms=processed_at)
        self.processed += 1
        self._done(msg)

    # ---- dead-letter topic --------------------------------------------------------------------------

    def _malformed(self, msg: Any, reason: str) -> None:
        where = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
        error = self._dead_letter(msg, reason)
        if error is None:
            self.dead_lettered += 1
            self._backoff = 0.0
            self.log.warning("malformed event dead-lettered", **where, reason=reason,
                             dlq_topic=self.settings.dlq_topic)
            self._done(msg)
            return
        self._backoff = min(self.BACKOFF_MAX_S, self._backoff * 2 if self._backoff else self.BACKOFF_FIRST_S)
        self.log.error("malformed event could not be dead-lettered; retrying", **where, reason=reason,
                       dlq_topic=self.settings.dlq_topic, error=error, retry_in_s=self._backoff)
        # nothing after this record on its partition may be committed: read it again after the backoff
        self.consumer.seek(TopicPartition(msg.topic(), msg.partition(), msg.offset()))
        self._rewound.add((msg.topic(), msg.partition()))
        self.stop.wait(self._backoff)

    def _dead_letter(self, msg: Any, reason: str) -> str | None:
        """Produce the record unchanged to the DLQ and wait for the broker's ack; the error text, or None."""
        if not self._dlq_ready:
            try:
                self._ensure_dlq()
                self._dlq_ready = True
            except Exception as err:  # auto-creation or provisioning may still make the produce work
                self.throttle.warning("dlq-create", "cannot create the dead-letter topic",
                                      dlq_topic=self.settings.dlq_topic, error=str(err))
        headers = list(msg.headers() or []) + [
            ("dlq.reason", reason.encode("utf-8")),
            ("dlq.source.topic", msg.topic().encode()),
            ("dlq.source.partition", str(msg.partition()).encode()),
            ("dlq.source.offset", str(msg.offset()).encode()),
            ("dlq.consumer", self.spec.name.encode()),
            ("dlq.group", self.settings.group_id.encode()),
            ("dlq.failed_at_ms", str(now_ms()).encode()),
        ]
        outcome: dict[str, Any] = {}

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            outcome["error"] = None if err is None else err.str()

        try:
            self.producer.produce(self.settings.dlq_topic, value=msg.value(), key=msg.key(), headers=headers,
                                  on_delivery=delivered)
            self.producer.flush(self.DLQ_FLUSH_TIMEOUT_S)
        except (KafkaException, BufferError) as err:
            return str(err)
        if "error" not in outcome:
            return f"delivery was not confirmed within {self.DLQ_FLUSH_TIMEOUT_S:.0f}s"
        return outcome["error"]

    # ---- offsets ------------------------------------------------------------------------------------

    def _flush_outputs(self) -> None:
        """Everything processed so far reaches the log and PROCESSED_OUTPUT (before any offset commit)."""
        if self._out and self.output is not None:
            self.output.write_many(self._out)
        self._out.clear()
        self.log.flush()
        self._last_flush = self.monotonic()

    def _done(self, msg: Any) -> None:
        self._pending[(msg.topic(), msg.partition())] = msg.offset() + 1
        self._since_commit += 1

    def _maybe_commit(self) -> None:
        if self._pending and (self._since_commit >= self.COMMIT_EVERY
                              or self.monotonic() - self._last_commit >= self.COMMIT_INTERVAL_S):
            self.commit()

    def commit(self, only: Iterable[Key] | None = None) -> bool:
        """Synchronously commit pending offsets (of `only` partitions); True when nothing is left pending."""
        wanted = None if only is None else set(only)
        self._flush_outputs()  # an offset is never committed ahead of its event's output lines
        if self.seen is not None:
            self.seen.commit()  # keys first: an offset is never committed ahead of the keys behind it
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items() if wanted is None or (t, p) in wanted]
        self._last_commit = self.monotonic()
        if not offsets:
            return True
        try:
            result = self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as err:
            kerr = err.args[0]
            if isinstance(kerr, KafkaError) and kerr.code() == KafkaError._NO_OFFSET:
                return True
            self.throttle.warning("commit", "offset commit failed; will retry", error=str(kerr))
            return False
        ok = True
        for tp in result or offsets:
            key = (tp.topic, tp.partition)
            if tp.error is not None:
                ok = False
                self.throttle.warning(f"commit:{key}", "offset commit failed for a partition; will retry",
                                      topic=tp.topic, partition=tp.partition, error=str(tp.error))
                continue
            self.committed[key] = tp.offset
            if self._pending.get(key) == tp.offset:
                del self._pending[key]
        self._since_commit = 0
        return ok

    def _committed_view(self) -> dict[str, int]:
        return {f"{t}/{p}": o for (t, p), o in sorted(self.committed.items())}

    # ---- rebalance and errors -----------------------------------------------------------------------

    def _on_assign(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        self.log.info("partitions assigned", partitions=sorted(p.partition for p in partitions))

    def _on_revoke(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        keys = {(p.topic, p.partition) for p in partitions}
        self.commit(only=keys)
        for key in keys:
            self._pending.pop(key, None)
        self.log.info("partitions revoked", partitions=sorted(p.partition for p in partitions))

    def _on_lost(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        for p in partitions:
            self._pending.pop((p.topic, p.partition), None)
        self.log.warning("partitions lost; their uncommitted events will be processed again",
                         partitions=sorted(p.partition for p in partitions))

    def _poll_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._PARTITION_EOF:
            return
        if err.fatal():
            raise KafkaException(err)
        self.throttle.warning(f"poll:{err.code()}", "kafka consumer error", code=err.name(), error=err.str())

    def _shutdown(self) -> None:
        try:
            if not self.commit():
                self.log.error("final offset commit failed; events processed since the last commit will be "
                               "processed again", pending=len(self._pending))
        except Exception as err:  # the shutdown must go on
            self.log.error("final offset commit failed", error=str(err))
        try:
            self.producer.flush(5)
        except Exception:
            pass
        try:
            self.consumer.close()  # leaves the group
        except Exception as err:
            self.log.error("closing the consumer failed", error=str(err))
        if self.output is not None:
            self.output.close()
        if self.seen is not None:
            try:
                self.seen.close()
            except Exception as err:
                self.log.error("closing the duplicate filter failed", error=str(err))


def _run(spec: ConsumerSpec, environ: Mapping[str, str]) -> int:
    settings = ConsumerSettings.from_env(spec, environ)
    stop = threading.Event()
    holder: dict[str, ConsumerApp] = {}

    def on_signal(signum: int, frame: Any) -> None:
        app = holder.get("app")
        if app is not None:
            app.request_stop(signum, frame)
        else:
            stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        output = ProcessedOutput(settings.processed_output) if settings.processed_output else None
        log = JsonLog(sys.stdout, spec.name)
        holder["app"] = app = ConsumerApp.create(spec, settings, log=log, output=output, stop=stop)
        return app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(spec: ConsumerSpec, environ: Mapping[str, str] | None = None) -> int:
    """Run one consumer until SIGTERM/SIGINT; the process exit code (0 clean, 1 configuration, 2 crash).

    Takes the spec, not a name: resolving names is the registry's job (consumers/__main__.py), which keeps
    the runtime free of imports of the consumers that use it."""
    return run_cli(lambda: _run(spec, os.environ if environ is None else environ))
