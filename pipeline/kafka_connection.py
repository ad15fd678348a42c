"""One Kafka connection config for every client: admin, producers, watchers and the consumers' runtime.

Plaintext on the local stack's first listener; SASL_SSL with PLAIN (an API key and secret) for Confluent
Cloud and for the local stack's second listener, optionally with a CA file (the local self-signed one).
The secret only leaves the model inside `librdkafka()`'s dict, which is never logged; `describe()` is the
safe view for logs and artifacts.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from pipeline.base import StrictModel
from pipeline.errors import ConfigError

_HOST_PORT_RE = re.compile(r"^[^\s:,]+:\d{1,5}$")


class KafkaConnection(StrictModel):
    bootstrap_servers: str
    security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    # an API key is not a password, but it names an account: kept out of repr all the same
    sasl_username: str | None = Field(default=None, repr=False)
    sasl_password: SecretStr | None = None
    #: PEM file of the CA that signed the brokers' certificates; None: the system's trust store
    ssl_ca_location: str | None = None
    #: None: the cluster's default (Confluent Cloud decides); locally 1 (a single broker)
    replication_factor: int | None = 1

    @model_validator(mode="after")
    def _consistent(self) -> KafkaConnection:
        servers = [part.strip() for part in self.bootstrap_servers.split(",")]
        if not all(_HOST_PORT_RE.match(s) for s in servers):
            raise ConfigError(f"Kafka bootstrap servers {self.bootstrap_servers!r} are not a comma-separated"
                              " list of host:port", fix="e.g. 127.0.0.1:29092")
        if self.security_protocol == "SASL_SSL":
            if not (self.sasl_username and self.sasl_password and self.sasl_password.get_secret_value()):
                raise ConfigError("Kafka SASL_SSL needs an API key and secret",
                                  fix="set CDC_KAFKA_API_KEY and CDC_KAFKA_API_SECRET")
        elif self.sasl_username or self.sasl_password or self.ssl_ca_location:
            # a key or CA given for a plaintext connection would be silently unused: say so instead
            raise ConfigError("Kafka credentials or a CA file were given for a PLAINTEXT connection",
                              fix="use KafkaConnection.sasl(...) for SASL_SSL, or drop them")
        if self.replication_factor is not None and self.replication_factor < 1:
            raise ConfigError(f"replication factor {self.replication_factor} is not >= 1",
                              fix="use None for the cluster's default")
        return self

    @classmethod
    def plaintext(cls, bootstrap_servers: str, replication_factor: int | None = 1) -> KafkaConnection:
        return cls(bootstrap_servers=bootstrap_servers, replication_factor=replication_factor)

    @classmethod
    def sasl(cls, bootstrap_servers: str, key: str, secret: str | SecretStr, ca_location: str | None = None,
             replication_factor: int | None = None) -> KafkaConnection:
        return cls(bootstrap_servers=bootstrap_servers, security_protocol="SASL_SSL", sasl_username=key,
                   sasl_password=secret if isinstance(secret, SecretStr) else SecretStr(secret),
                   ssl_ca_location=None if ca_location is None else str(ca_location),
                   replication_factor=replication_factor)

    def librdkafka(self, **extra: Any) -> dict[str, Any]:
        """The confluent-kafka client config (do not log it: it holds the secret).

        `extra` keys are librdkafka property names; pass them as `**{"client.id": ...}`.
        """
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers,
                                "security.protocol": self.security_protocol}
        if self.security_protocol == "SASL_SSL":
            assert self.sasl_password is not None  # checked by the validator
            conf.update({"sasl.mechanisms": "PLAIN",
                         "sasl.username": self.sasl_username,
                         "sasl.password": self.sasl_password.get_secret_value()})
            if self.ssl_ca_location:
                conf["ssl.ca.location"] = self.ssl_ca_location
        conf.update(extra)
        return conf

    def describe(self) -> dict[str, Any]:
        """What is safe to log: everything but the credentials."""
        sasl = self.security_protocol == "SASL_SSL"
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": "PLAIN" if sasl else None,
            "credentials": "api key set" if sasl else "none",
            "ssl_ca_location": self.ssl_ca_location,
        }

    def new_topic_replication(self) -> int:
        """The replication factor for NewTopic: -1 asks the broker for its default."""
        return -1 if self.replication_factor is None else self.replication_factor
