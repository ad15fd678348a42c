"""What a consumer is (`ConsumerSpec`) and how one is configured (`ConsumerSettings`, from the environment).

The environment variables are the seed's: KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC, CONSUMER_GROUP_ID,
KAFKA_API_KEY, KAFKA_API_SECRET (SASL_SSL + PLAIN when the key is set), plus a few optional ones of ours
(KAFKA_SSL_CA_LOCATION, KAFKA_DLQ_TOPIC, PROCESSED_OUTPUT, PROCESSING_DELAY_MS, CONSUMER_SESSION_TIMEOUT_MS,
DELIVERY_MODE, DEDUP_STORE).

The security settings come from the project's one Kafka connection model (`pipeline.kafka_connection`).
The API key and secret are `SecretStr`: they only leave the model inside the librdkafka configuration
dicts built by `consumer_config()` / `producer_config()` / `admin_config()`, which are never logged.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError

from pipeline.base import StrictModel
from pipeline.delivery import DeliveryMode, delivery_mode
from pipeline.errors import ConfigError
from pipeline.kafka_connection import KafkaConnection

DEFAULT_BOOTSTRAP = "127.0.0.1:29092"
DLQ_SUFFIX = ".dlq"

ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"
ENV_TOPIC = "KAFKA_TOPIC"
ENV_GROUP = "CONSUMER_GROUP_ID"
ENV_API_KEY = "KAFKA_API_KEY"
ENV_API_SECRET = "KAFKA_API_SECRET"
ENV_SSL_CA = "KAFKA_SSL_CA_LOCATION"
ENV_DLQ_TOPIC = "KAFKA_DLQ_TOPIC"
ENV_PROCESSED_OUTPUT = "PROCESSED_OUTPUT"
ENV_DELAY = "PROCESSING_DELAY_MS"
ENV_SESSION_TIMEOUT = "CONSUMER_SESSION_TIMEOUT_MS"
#: exactly-once (read_committed) or low-latency (read_uncommitted + the duplicate filter): pipeline/delivery.py
ENV_DELIVERY_MODE = "DELIVERY_MODE"
#: the low-latency mode's SQLite file of processed (id, __lsn) keys (default: <consumer>-seen.sqlite here)
ENV_DEDUP_STORE = "DEDUP_STORE"

_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_HOST_PORT_RE = re.compile(r"^[^\s:,]+:\d{1,5}$")


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer application: its name, module, default topic and group, and its event handler.

    `handler(event) -> list[dict]` turns a parsed `BusinessEvent` into the entity summary that goes into
    the consumer's log line. It must not do I/O the runtime cannot retry.
    """

    name: str
    module: str
    topic: str
    group_id: str
    event_types: tuple[str, ...]
    handler: Callable[[Any], list[dict]] = field(repr=False, compare=False)

    def command(self, python: str | None = None) -> list[str]:
        """argv that starts this consumer as its own process."""
        return [python or sys.executable, "-m", self.module]

    def environment(self, *, bootstrap_servers: str | None = None, topic: str | None = None,
                    group_id: str | None = None, processed_output: str | Path | None = None,
                    api_key: str | SecretStr | None = None, api_secret: str | SecretStr | None = None,
                    ssl_ca_location: str | Path | None = None, dlq_topic: str | None = None,
                    delivery_mode: str | None = None, dedup_store: str | Path | None = None) -> dict[str, str]:
        """Environment variables to add to the process environment (only those that are given).

        Secrets are unwrapped here because a child process can only receive text; do not log the result.
        """
        values = {
            ENV_BOOTSTRAP: bootstrap_servers,
            ENV_TOPIC: topic,
            ENV_GROUP: group_id,
            ENV_PROCESSED_OUTPUT: None if processed_output is None else str(processed_output),
            ENV_API_KEY: api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key,
            ENV_API_SECRET: api_secret.get_secret_value() if isinstance(api_secret, SecretStr) else api_secret,
            ENV_SSL_CA: None if ssl_ca_location is None else str(ssl_ca_location),
            ENV_DLQ_TOPIC: dlq_topic,
            ENV_DELIVERY_MODE: delivery_mode,
            ENV_DEDUP_STORE: None if dedup_store is None else str(dedup_store),
        }
        return {k: v for k, v in values.items() if v is not None}


class ConsumerSettings(StrictModel):
    consumer: str
    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    topic: str
    group_id: str
    dlq_topic: str
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    #: PEM CA file trusted for SASL_SSL (e.g. the local stack's self-signed CA); None: the system's store
    ssl_ca_location: Path | None = None
    processed_output: Path | None = None
    processing_delay_ms: int = 0
    session_timeout_ms: int = 10_000
    delivery_mode: Literal["exactly-once", "low-latency"] = "exactly-once"
    #: where the low-latency mode remembers processed (id, __lsn) keys; None in exactly-once
    dedup_store: Path | None = None

    @property
    def mode(self) -> DeliveryMode:
        return delivery_mode(self.delivery_mode)

    @property
    def security_protocol(self) -> str:
        return "SASL_SSL" if self.api_key is not None else "PLAINTEXT"

    @classmethod
    def from_env(cls, spec: ConsumerSpec, environ: Mapping[str, str]) -> ConsumerSettings:
        """Read the environment; every mistake is one `ConfigError` line naming the variable."""

        def get(name: str) -> str | None:
            value = environ.get(name)
            return value.strip() if value is not None and value.strip() else None

        bootstrap = get(ENV_BOOTSTRAP) or DEFAULT_BOOTSTRAP
        if not all(_HOST_PORT_RE.match(part.strip()) for part in bootstrap.split(",")):
            raise ConfigError(f"{ENV_BOOTSTRAP}={bootstrap!r} is not a comma-separated list of host:port",
                              fix=f"set {ENV_BOOTSTRAP}, e.g. {DEFAULT_BOOTSTRAP}")
        topic = get(ENV_TOPIC) or spec.topic
        group = get(ENV_GROUP) or spec.group_id
        dlq = get(ENV_DLQ_TOPIC) or topic + DLQ_SUFFIX
        for name, value in ((ENV_TOPIC, topic), (ENV_DLQ_TOPIC, dlq)):
            if not _TOPIC_RE.match(value) or value in (".", ".."):
                raise ConfigError(f"{name}={value!r} is not a valid Kafka topic name",
                                  fix="use up to 249 characters from [A-Za-z0-9._-]")
        if dlq == topic:
            raise ConfigError(f"{ENV_DLQ_TOPIC} must differ from {ENV_TOPIC} ({topic!r})")

        key, secret = get(ENV_API_KEY), get(ENV_API_SECRET)
        if key and not secret:
            raise ConfigError(f"{ENV_API_KEY} is set but {ENV_API_SECRET} is not",
                              fix=f"set {ENV_API_SECRET} to the API key's secret (SASL_SSL/PLAIN needs both)")
        if secret and not key:
            raise ConfigError(f"{ENV_API_SECRET} is set but {ENV_API_KEY} is not",
                              fix=f"set {ENV_API_KEY} too, or unset {ENV_API_SECRET} for a plaintext broker")
        ca = get(ENV_SSL_CA)
        if ca and not key:
            raise ConfigError(f"{ENV_SSL_CA} is set but {ENV_API_KEY} is not (the CA file is only used for SASL_SSL)",
                              fix=f"set {ENV_API_KEY} and {ENV_API_SECRET}, or unset {ENV_SSL_CA}"
                                  " for a plaintext broker")
        if ca and not Path(ca).is_file():
            raise ConfigError(f"{ENV_SSL_CA}={ca!r} is not a readable file",
                              fix=f"point {ENV_SSL_CA} at the PEM file of the brokers' CA")

        output = get(ENV_PROCESSED_OUTPUT)
        mode = delivery_mode(get(ENV_DELIVERY_MODE), where=ENV_DELIVERY_MODE)
        store = get(ENV_DEDUP_STORE)
        if store and not mode.deduplicates:
            raise ConfigError(f"{ENV_DEDUP_STORE} is set but {ENV_DELIVERY_MODE} is {mode.name} (only low-latency "
                              "drops duplicates)", fix=f"set {ENV_DELIVERY_MODE}=low-latency or unset {ENV_DEDUP_STORE}")
        try:
            return cls(
                consumer=spec.name,
                bootstrap_servers=bootstrap,
                topic=topic,
                group_id=group,
                dlq_topic=dlq,
                api_key=SecretStr(key) if key else None,
                api_secret=SecretStr(secret) if secret else None,
                ssl_ca_location=Path(ca) if ca else None,
                processed_output=Path(output) if output else None,
                processing_delay_ms=_non_negative_int(environ, ENV_DELAY, 0),
                session_timeout_ms=_non_negative_int(environ, ENV_SESSION_TIMEOUT, 10_000, minimum=1000),
                delivery_mode=mode.name,
                dedup_store=(Path(store) if store else Path(f"{spec.name}-seen.sqlite")) if mode.deduplicates else None,
            )
        except ValidationError as err:  # pragma: no cover - every field is checked above
            first = err.errors()[0]
            raise ConfigError(f"invalid consumer setting {first['loc']}: {first['msg']}") from None

    def connection(self) -> KafkaConnection:
        """The Kafka connection every client of this consumer uses (plaintext, or SASL_SSL/PLAIN when keyed)."""
        if self.api_key is None:
            return KafkaConnection.plaintext(self.bootstrap_servers)
        assert self.api_secret is not None
        return KafkaConnection.sasl(self.bootstrap_servers, self.api_key.get_secret_value(), self.api_secret,
                                    ca_location=None if self.ssl_ca_location is None else str(self.ssl_ca_location))

    def consumer_config(self) -> dict[str, Any]:
        """librdkafka consumer settings: manual commits after processing; committed reads only in exactly-once,
        every record as soon as it is written in low-latency (duplicates are dropped by key). Holds secrets."""
        return self.connection().librdkafka(**{
            "group.id": self.group_id,
            "client.id": f"{self.consumer}-consumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": self.mode.isolation_level,
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(300, self.session_timeout_ms // 4),
            # partitions added to a filtered topic are picked up within seconds, not librdkafka's 5 minutes
            "topic.metadata.refresh.interval.ms": 10000,
        })

    def producer_config(self) -> dict[str, Any]:
        """librdkafka producer settings for the dead-letter topic. Holds secrets."""
        return self.connection().librdkafka(**{
            "client.id": f"{self.consumer}-consumer-dlq",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "message.timeout.ms": 15_000,
        })

    def admin_config(self) -> dict[str, Any]:
        return self.connection().librdkafka(**{"socket.timeout.ms": 10_000})

    def describe(self) -> dict[str, Any]:
        """What is safe to log: everything except the credentials themselves."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "topic": self.topic,
            "group_id": self.group_id,
            "dlq_topic": self.dlq_topic,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": "PLAIN" if self.api_key is not None else None,
            "credentials": "api key set" if self.api_key is not None else "none",
            "ssl_ca_location": None if self.ssl_ca_location is None else str(self.ssl_ca_location),
            "processed_output": None if self.processed_output is None else str(self.processed_output),
            "processing_delay_ms": self.processing_delay_ms,
            "delivery_mode": self.delivery_mode,
            "isolation_level": self.mode.isolation_level,
            "dedup_store": None if self.dedup_store is None else str(self.dedup_store),
        }


def _non_negative_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is not an integer >= {minimum}", fix=f"set {name} to a number of milliseconds")
    return value
