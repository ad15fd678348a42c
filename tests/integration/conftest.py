"""The real local stack, started once per test session by the project's own stack code.

No skips: if an engine cannot start, every integration test errors with the engine's one-line reason.
"""

from __future__ import annotations

import socket

import pytest

from connectors.register import register_connector
from environments.factory import build
from environments.kafka import KafkaClients
from environments.settings import load_settings
from pipeline.replication import setup_replication
from stack.local import LocalStack


@pytest.fixture(scope="session")
def cfg():
    return load_settings("local")


@pytest.fixture(scope="session")
def stack(cfg):
    local = LocalStack(cfg.database)
    local.up()
    return local


@pytest.fixture(scope="session")
def env(cfg, stack):
    """The local environment's adapters, as the flows' tasks get them."""
    environment = build(cfg)
    yield environment
    environment.close()


@pytest.fixture(scope="session")
def kafka(cfg) -> KafkaClients:
    return KafkaClients(cfg.kafka)


@pytest.fixture(scope="session")
def pipeline_ready(cfg, env):
    """provision -> replication-setup -> register-connectors, through the same functions the flows call."""
    env.kafka.ensure_topic(cfg.raw_topic, cfg.raw_topic_partitions)
    setup_replication(env.database, cfg.database.slot_name, cfg.database.publication)
    register_connector(env.connect, *env.connector_config())
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
