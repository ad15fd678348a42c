"""One Kafka connection config for every client: admin, producers, watchers and the consumers' runtime.

Plaintext on the local stack's first listener; SASL_SSL with PLAIN (an API key and secret) for Confluent
Cloud and for the local stack's second listener, optionally with a CA file (the local self-signed one).
The secret only leaves the model inside `librdkafka()`'s dict, which is never logged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator

from pipeline.base import StrictModel
from pipeline.errors import ConfigError


class KafkaConnection(StrictModel):
    bootstrap_servers: str
    security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    #: None: the cluster's default (Confluent Cloud decides); locally 1 (a single broker)
    replication_factor: int | None = 1

    @model_validator(mode="after")
    def _credentials_with_sasl(self) -> KafkaConnection:
        if self.security_protocol == "SASL_SSL" and not (self.sasl_username and self.sasl_password):
            raise ConfigError("Kafka SASL_SSL needs an API key and secret",
                              fix="set CDC_KAFKA_API_KEY and CDC_KAFKA_API_SECRET")
        return self

    @classmethod
    def sasl(cls, bootstrap_servers: str, key: str, secret: str | SecretStr, ca_location: str | None = None,
             replication_factor: int | None = None) -> KafkaConnection:
        return cls(bootstrap_servers=bootstrap_servers, security_protocol="SASL_SSL", sasl_username=key,
                   sasl_password=secret if isinstance(secret, SecretStr) else SecretStr(secret),
                   ssl_ca_location=ca_location, replication_factor=replication_factor)

    def librdkafka(self, **extra) -> dict:
        """The confluent-kafka client config (do not log it: it holds the secret)."""
        conf: dict = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol == "SASL_SSL":
            conf.update({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                         "sasl.username": self.sasl_username,
                         "sasl.password": self.sasl_password.get_secret_value()})
            if self.ssl_ca_location:
                conf["ssl.ca.location"] = self.ssl_ca_location
        conf.update(extra)
        return conf

    def new_topic_replication(self) -> int:
        """The replication factor for NewTopic: -1 asks the broker for its default."""
        return -1 if self.replication_factor is None else self.replication_factor
