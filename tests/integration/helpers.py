"""What several integration tests share: deploy the routing job the way the flow's tasks do, read topics,
and wait on a condition (never a fixed sleep where a condition exists)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from environments.factory import build
from environments.kafka import KafkaClients
from pipeline import rollout
from pipeline.routing import routing_job


def deploy(cfg, filters_file: Path) -> dict:
    """What flink-rollout's tasks do: compile for the environment, create the output topics, plan, apply."""
    with build(cfg) as env:
        job = routing_job(env.routing, filters_file)
        for route in job.routes:
            env.kafka.ensure_topic(route.output_topic, cfg.raw_topic_partitions)
        plan = rollout.plan_against_running(job, env.routing, env.rollout_store)
        result = rollout.apply(plan, job, env.routing, env.rollout_store)
    return {"plan": plan, **result}


def produce_json(cfg, topic: str, events: list[dict]) -> int:
    return KafkaClients(cfg.kafka).produce_json(topic, events)


def ids_by_topic(cfg, topics: list[str], prefix: str) -> dict[str, list[str]]:
    kafka = KafkaClients(cfg.kafka)
    return {t: [r["id"] for r in kafka.read_to_end(t) if str(r.get("id", "")).startswith(prefix)] for t in topics}


def wait_for(predicate, timeout: float, what: str, every: float = 0.1, check=None):
    """Poll `predicate` until true; `check()` may assert between polls (e.g. a process is still alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if check:
            check()
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def secret_leaks(allowed_by_secret: dict[bytes, set[Path]], roots: list[Path]) -> list[str]:
    """Files under `roots` holding a secret outside the files allowed to hold it (`{secret: {paths}}`).

    Every file is read whole (logs, databases and their WAL files included), except the engines'
    distributions and jars, and Kafka's offset and time indexes: numbers only, and preallocated (10 MB of
    zeros each, sparse on disk), so reading them would cost ~30 s per thousand partitions and find nothing."""
    import os

    leaks = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if "dist" in path.parts or "jars" in path.parts or path.suffix in (".jar", ".index", ".timeindex"):
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                leaks += [str(path) for secret, allowed in allowed_by_secret.items()
                          if path not in allowed and secret in data]
    return leaks
