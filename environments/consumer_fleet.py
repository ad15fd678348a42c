"""The `ConsumerFleet` port: the four consumers as managed processes on this machine (the worker).

Start what is missing, restart what died, verify each group is active on every partition of its topic.
Idempotent: a running, active consumer is left alone. They connect with the environment's one
`KafkaConnection` (plaintext locally, SASL_SSL in the cloud). Every consumer appends what it processed to
one shared file, which the smoke test reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from consumers.config import ConsumerSpec
from consumers.output import read_processed
from consumers.registry import CONSUMERS
from environments.kafka import KafkaClients
from pipeline.kafka_connection import KafkaConnection
from pipeline.paths import ROOT
from pipeline.ports import Processed
from stack.process import Engine


class ConsumerProcess(Engine):
    def __init__(self, spec: ConsumerSpec, folder: Path, connection: KafkaConnection):
        super().__init__(name=f"consumer-{spec.name}", home=folder, ports={}, start_timeout=60)
        self.spec, self.kafka = spec, KafkaClients(connection)
        self.env = spec.environment(bootstrap_servers=connection.bootstrap_servers,
                                    processed_output=folder / "processed.jsonl",
                                    api_key=connection.sasl_username, api_secret=connection.sasl_password)
        if connection.ssl_ca_location:
            self.env["KAFKA_SSL_CA_LOCATION"] = connection.ssl_ca_location
        self.env["PYTHONPATH"] = str(ROOT)

    def command(self) -> list[str]:
        return self.spec.command(sys.executable)

    def healthy(self) -> bool:
        return self.pid() is not None and self.kafka.group_active_on_topic(self.spec.group_id, self.spec.topic)


class LocalConsumerFleet:
    def __init__(self, folder: Path, connection: KafkaConnection):
        self.folder = folder
        self.connection = connection

    def processes(self) -> list[ConsumerProcess]:
        return [ConsumerProcess(spec, self.folder, self.connection) for spec in CONSUMERS.values()]

    def processed_path(self) -> Path:
        return self.folder / "processed.jsonl"

    def processed(self) -> list[Processed]:
        return [Processed(r.id, r.topic, r.consumer, r.processed_at_ms) for r in read_processed(self.processed_path())]

    def consumer_for(self, topic: str) -> str:
        return next((s.name for s in CONSUMERS.values() if s.topic == topic), "none")

    def deploy(self) -> list[dict]:
        """Start what is missing, restart what died, verify every group; returns one row per consumer."""
        rows = []
        for proc in self.processes():
            died = proc.pid_path.exists() and proc.pid() is None
            outcome = proc.start()
            if outcome == "started" and died:
                outcome = "restarted"
            rows.append({"consumer": proc.spec.name, "outcome": outcome, "pid": proc.pid(), "topic": proc.spec.topic,
                         "group": proc.spec.group_id, "log": str(proc.log_path)})
        return rows

    def stop(self) -> list[str]:
        return [p.spec.name for p in self.processes() if p.stop()]
