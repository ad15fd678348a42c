"""The four consumers as managed local processes: start, verify each group is active on its topic, restart
one that died. Idempotent: a running, active consumer is left alone.

Every consumer appends what it processed to one shared PROCESSED_OUTPUT file, which the smoke test reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from consumers.config import ConsumerSpec
from consumers.registry import CONSUMERS
from pipeline.settings import ROOT, Settings, state_dir
from stack.process import Engine


def fleet_dir() -> Path:
    return state_dir() / "consumers"


def processed_output() -> Path:
    return fleet_dir() / "processed.jsonl"


def group_active_on_topic(bootstrap: str, group: str, topic: str) -> bool:
    """The group is STABLE and its members between them own every partition of the topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    try:
        desc = admin.describe_consumer_groups([group], request_timeout=5)[group].result()
        partitions = len(admin.list_topics(topic, timeout=5).topics[topic].partitions)
    except Exception:
        return False
    if desc.state != ConsumerGroupState.STABLE:
        return False
    owned = {tp.partition for m in desc.members for tp in (m.assignment.topic_partitions if m.assignment else [])
             if tp.topic == topic}
    return partitions > 0 and len(owned) == partitions


class ConsumerProcess(Engine):
    def __init__(self, spec: ConsumerSpec, cfg: Settings):
        super().__init__(name=f"consumer-{spec.name}", home=fleet_dir(), ports={}, start_timeout=60)
        self.spec, self.cfg = spec, cfg
        self.env = spec.environment(bootstrap_servers=cfg.kafka_bootstrap, processed_output=processed_output())
        self.env["PYTHONPATH"] = str(ROOT)

    def command(self) -> list[str]:
        return self.spec.command(sys.executable)

    def healthy(self) -> bool:
        return self.pid() is not None and group_active_on_topic(self.cfg.kafka_bootstrap, self.spec.group_id, self.spec.topic)


def fleet(cfg: Settings) -> list[ConsumerProcess]:
    return [ConsumerProcess(spec, cfg) for spec in CONSUMERS.values()]


def deploy_consumers(cfg: Settings) -> list[dict]:
    """Start what is missing, restart what died, verify every group; returns one row per consumer."""
    rows = []
    for proc in fleet(cfg):
        died = proc.pid_path.exists() and proc.pid() is None
        outcome = proc.start()
        if outcome == "started" and died:
            outcome = "restarted"
        rows.append({"consumer": proc.spec.name, "outcome": outcome, "pid": proc.pid(), "topic": proc.spec.topic,
                     "group": proc.spec.group_id, "log": str(proc.log_path)})
    return rows


def stop_consumers(cfg: Settings) -> list[str]:
    return [p.spec.name for p in fleet(cfg) if p.stop()]
