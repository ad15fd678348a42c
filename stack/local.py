"""The whole local stack in start order: PostgreSQL, PgBouncer, Kafka, Kafka Connect, Flink (JM, TM, SQL Gateway).

`up()` is idempotent — healthy engines are reused — and reports what it did and how long each took.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

from pipeline.database_settings import DatabaseSettings
from stack.flink import flink_engines
from stack.kafka import KafkaBroker, KafkaConnect
from stack.pgbouncer import PgBouncer
from stack.postgres import Postgres
from stack.process import Engine
from stack.settings import local_password, local_ports, state_dir


@dataclass
class StartReport:
    engine: str
    outcome: str  # started | reused | restarted (started over with another engine)
    seconds: float


class LocalStack:
    def __init__(self, database: DatabaseSettings | None = None):
        ports = local_ports()
        root = state_dir()
        self.database = database or DatabaseSettings(port=ports["postgres"], password=local_password())
        self.postgres = Postgres(root / "postgres", self.database)
        self.pgbouncer = PgBouncer(root / "pgbouncer", ports["pgbouncer"], self.database,
                                   self.postgres.superuser_conninfo())
        self.kafka = KafkaBroker(root / "kafka", ports["kafka"], ports["kafka_controller"], ports["kafka_sasl"])
        self.connect = KafkaConnect(root / "connect", ports["connect"], self.kafka.bootstrap)
        self.flink = flink_engines(root / "flink", ports["flink"], ports["sql_gateway"], ports["flink_rpc"])

    @property
    def engines(self) -> list[Engine]:
        return [self.postgres, self.pgbouncer, self.kafka, self.connect, *self.flink]

    @property
    def wanted_path(self):
        """Present from `up` to `down`: the stack is meant to run, so pipeline-health starts a dead engine again
        (and leaves a stack that was stopped on purpose alone)."""
        return state_dir() / "stack.wanted"

    def wanted(self) -> bool:
        return self.wanted_path.exists()

    def up(self, only: set[str] | None = None) -> list[StartReport]:
        """Start what is not running, in order. An engine started from dead also starts over the running
        engines that hold work for it (`Engine.starts_over_with`), even outside `only`."""
        state_dir().mkdir(parents=True, exist_ok=True)
        self.wanted_path.touch()
        reports, over = [], set()
        for engine in self.engines:
            if only and engine.name not in only and engine.name not in over:
                continue
            t0 = time.monotonic()
            was_dead = engine.pid() is None
            if engine.name in over:
                engine.stop()
            outcome = engine.start()
            if engine.name in over:
                outcome = "restarted"
            elif was_dead:
                over |= {e.name for e in self.engines if engine.name in e.starts_over_with and e.pid() is not None}
            reports.append(StartReport(engine.name, outcome, round(time.monotonic() - t0, 1)))
        return reports

    def down(self) -> list[str]:
        self.wanted_path.unlink(missing_ok=True)
        return [e.name for e in reversed(self.engines) if e.stop()]

    def status(self) -> list[dict]:
        return [e.status() for e in self.engines]

    def reset(self) -> None:
        """Stop everything and delete all engine data (jars and the Flink wheels are kept)."""
        self.down()
        for sub in ("postgres", "pgbouncer", "kafka", "connect", "flink", "consumers"):
            shutil.rmtree(state_dir() / sub, ignore_errors=True)
