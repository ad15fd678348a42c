"""The `ConsumerFleet` port: the four consumers as managed processes on this machine (the worker).

Start what is missing, restart what died, verify each group is active on every partition of its topic.
Idempotent: a running, active consumer is left alone. They connect with the environment's one
`KafkaConnection` (plaintext locally, SASL_SSL in the cloud). Every consumer appends what it processed to
one shared file, which the smoke test reads.

The delivery mode (pipeline/delivery.py) reaches each consumer as DELIVERY_MODE, with its own duplicate
filter file in low-latency. A consumer started under another mode is restarted, so a mode change takes
effect on the next deploy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from consumers.config import ConsumerSpec
from consumers.output import read_processed
from consumers.registry import CONSUMERS
from environments.kafka import KafkaClients
from pipeline.delivery import DEFAULT as DEFAULT_DELIVERY
from pipeline.delivery import DeliveryMode
from pipeline.errors import PipelineError
from pipeline.kafka_connection import KafkaConnection
from pipeline.paths import ROOT
from pipeline.ports import Processed
from stack.process import Engine


class ConsumerProcess(Engine):
    def __init__(self, spec: ConsumerSpec, folder: Path, connection: KafkaConnection,
                 mode: DeliveryMode = DEFAULT_DELIVERY):
        super().__init__(name=f"consumer-{spec.name}", home=folder, ports={}, start_timeout=60)
        self.spec, self.kafka, self.mode = spec, KafkaClients(connection), mode
        self.env = spec.environment(bootstrap_servers=connection.bootstrap_servers,
                                    processed_output=folder / "processed.jsonl",
                                    api_key=connection.sasl_username, api_secret=connection.sasl_password,
                                    delivery_mode=mode.name,
                                    dedup_store=folder / f"{spec.name}-seen.sqlite" if mode.deduplicates else None)
        if connection.ssl_ca_location:
            self.env["KAFKA_SSL_CA_LOCATION"] = connection.ssl_ca_location
        self.env["PYTHONPATH"] = str(ROOT)

    @property
    def mode_path(self) -> Path:
        return self.home / f"{self.name}.mode"

    def started_mode(self) -> str | None:
        """The delivery mode the running process was started with (None: not recorded)."""
        try:
            return self.mode_path.read_text().strip() or None
        except OSError:
            return None

    def prepare(self) -> None:
        self.mode_path.write_text(self.mode.name)

    def command(self) -> list[str]:
        return self.spec.command(sys.executable)

    def healthy(self) -> bool:
        return self.pid() is not None and self.kafka.group_active_on_topic(self.spec.group_id, self.spec.topic)


class LocalConsumerFleet:
    def __init__(self, folder: Path, connection: KafkaConnection, mode: DeliveryMode = DEFAULT_DELIVERY):
        self.folder = folder
        self.connection = connection
        self.mode = mode

    def processes(self) -> list[ConsumerProcess]:
        return [ConsumerProcess(spec, self.folder, self.connection, self.mode) for spec in CONSUMERS.values()]

    def processed_path(self) -> Path:
        return self.folder / "processed.jsonl"

    def processed(self) -> list[Processed]:
        return [Processed(r.id, r.topic, r.consumer, r.processed_at_ms) for r in read_processed(self.processed_path())]

    def consumer_for(self, topic: str) -> str:
        return next((s.name for s in CONSUMERS.values() if s.topic == topic), "none")

    def deploy(self) -> list[dict]:
        """Start what is missing, restart what died or runs another delivery mode, verify every group; returns
        one row per consumer."""
        rows = []
        for proc in self.processes():
            died = proc.pid_path.exists() and proc.pid() is None
            # no record: started before modes existed, i.e. exactly-once
            switched = proc.pid() is not None and (proc.started_mode() or "exactly-once") != self.mode.name
            if switched:
                proc.stop()  # SIGTERM: the consumer commits what it processed and leaves its group
            outcome = proc.start()
            if outcome == "started" and (died or switched):
                outcome = f"restarted ({self.mode.name})" if switched else "restarted"
            rows.append({"consumer": proc.spec.name, "outcome": outcome, "pid": proc.pid(), "topic": proc.spec.topic,
                         "group": proc.spec.group_id, "mode": self.mode.name, "log": str(proc.log_path)})
        return rows

    def stop(self) -> list[str]:
        return [p.spec.name for p in self.processes() if p.stop()]

    def alive(self) -> dict[str, bool | None]:
        """Whether each consumer's process runs (pipeline-health)."""
        return {p.spec.name: p.pid() is not None for p in self.processes()}

    def start_dead(self) -> list[str]:
        """deploy(), reported as one line per consumer it started (pipeline-health's heal)."""
        try:
            rows = self.deploy()
        except PipelineError as err:
            return [f"consumers: {err.message}"]
        return [f"consumer {r['consumer']} {r['outcome']}" for r in rows if r["outcome"] != "reused"]
