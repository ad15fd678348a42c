"""Kafka topics the pipeline owns, created idempotently with the admin API."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from pipeline.errors import PipelineError, TransientError


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000, "log_level": 3})


def ensure_topic(bootstrap: str, name: str, partitions: int) -> str:
    """Create the topic or grow it to `partitions`; returns 'created', 'grown' or 'unchanged'.

    A topic with more partitions than asked is left alone (partitions cannot shrink) and reported.
    """
    client = admin(bootstrap)
    try:
        meta = client.list_topics(timeout=10)
    except KafkaException as err:
        raise TransientError(f"Kafka at {bootstrap} is unreachable: {err}", fix="start it (python -m stack up)") from None
    existing = meta.topics.get(name)
    try:
        if existing is None or existing.error is not None:
            client.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)
            return "created"
        have = len(existing.partitions)
        if have < partitions:
            client.create_partitions([NewPartitions(name, partitions)])[name].result(30)
            return "grown"
        return "unchanged" if have == partitions else f"unchanged ({have} partitions, more than {partitions})"
    except KafkaException as err:
        kerr = err.args[0]
        if isinstance(kerr, KafkaError) and kerr.code() == KafkaError.TOPIC_ALREADY_EXISTS:  # a concurrent run won
            return "unchanged"
        raise PipelineError(f"cannot create topic {name!r}: {kerr}") from None
