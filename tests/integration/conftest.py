"""The real local stack, started once per test session by the project's own stack code.

No skips: if an engine cannot start, every integration test errors with the engine's one-line reason.
"""

from __future__ import annotations

import socket

import pytest

from connectors.register import register_local_connector
from pipeline.replication import setup_replication
from pipeline.settings import load_settings
from pipeline.topics import ensure_topic
from stack.local import LocalStack


@pytest.fixture(scope="session")
def cfg():
    return load_settings("local")


@pytest.fixture(scope="session")
def stack(cfg):
    local = LocalStack(cfg)
    local.up()
    return local


@pytest.fixture(scope="session")
def pipeline_ready(cfg, stack):
    """provision -> replication-setup -> register-connectors, through the same functions the flows call."""
    ensure_topic(cfg.kafka_bootstrap, cfg.raw_topic, cfg.raw_topic_partitions)
    setup_replication(cfg.database)
    register_local_connector(cfg)
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
