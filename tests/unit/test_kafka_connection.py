"""KafkaConnection: the one Kafka client config (plaintext locally, SASL_SSL/PLAIN in the cloud)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from pipeline.errors import ConfigError
from pipeline.kafka_connection import KafkaConnection

KEY, SECRET = "CCKEY-4Q7Z", "cc-secret-Wm3-value"


def test_plaintext_is_the_default_and_carries_no_credentials():
    conn = KafkaConnection(bootstrap_servers="127.0.0.1:59092")
    assert conn.librdkafka() == {"bootstrap.servers": "127.0.0.1:59092", "security.protocol": "PLAINTEXT"}
    assert conn.new_topic_replication() == 1
    assert KafkaConnection.plaintext("127.0.0.1:59092") == conn


def test_sasl_builds_sasl_ssl_plain_with_ca_and_cluster_default_replication():
    conn = KafkaConnection.sasl("pkc-1.aws.confluent.cloud:9092", KEY, SECRET, ca_location="/etc/ca.pem")
    assert conn.librdkafka() == {
        "bootstrap.servers": "pkc-1.aws.confluent.cloud:9092", "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "PLAIN", "sasl.username": KEY, "sasl.password": SECRET, "ssl.ca.location": "/etc/ca.pem",
    }
    assert conn.replication_factor is None and conn.new_topic_replication() == -1  # the broker's default


def test_without_ca_the_system_trust_store_is_used():
    cfg = KafkaConnection.sasl("b:9092", KEY, SecretStr(SECRET)).librdkafka()
    assert "ssl.ca.location" not in cfg and cfg["sasl.password"] == SECRET


def test_extra_client_settings_are_added_and_may_override():
    conn = KafkaConnection.sasl("b:9092", KEY, SECRET, replication_factor=3)
    cfg = conn.librdkafka(**{"group.id": "g", "socket.timeout.ms": 2000})
    assert cfg["group.id"] == "g" and cfg["socket.timeout.ms"] == 2000 and cfg["security.protocol"] == "SASL_SSL"
    assert conn.new_topic_replication() == 3


def test_the_secret_appears_in_no_repr_dump_or_description():
    conn = KafkaConnection.sasl("b:9092", KEY, SECRET, ca_location="/ca.pem")
    for text in (repr(conn), str(conn), conn.model_dump_json(), str(conn.model_dump()), str(conn.describe())):
        assert SECRET not in text
    assert KEY not in repr(conn) and KEY not in str(conn.describe())
    assert conn.describe() == {"bootstrap_servers": "b:9092", "security_protocol": "SASL_SSL",
                               "sasl_mechanism": "PLAIN", "credentials": "api key set", "ssl_ca_location": "/ca.pem"}


@pytest.mark.parametrize("kwargs", [
    {"security_protocol": "SASL_SSL"},
    {"security_protocol": "SASL_SSL", "sasl_username": KEY},
    {"security_protocol": "SASL_SSL", "sasl_password": SecretStr(SECRET)},
    {"security_protocol": "SASL_SSL", "sasl_username": KEY, "sasl_password": SecretStr("")},
])
def test_sasl_without_key_and_secret_is_one_line(kwargs):
    with pytest.raises(ConfigError) as info:
        KafkaConnection(bootstrap_servers="b:9092", **kwargs)
    assert str(info.value) == ("Kafka SASL_SSL needs an API key and secret"
                               " — fix: set CDC_KAFKA_API_KEY and CDC_KAFKA_API_SECRET")


@pytest.mark.parametrize("kwargs", [
    {"sasl_username": KEY},
    {"sasl_password": SecretStr(SECRET)},
    {"ssl_ca_location": "/ca.pem"},
])
def test_credentials_or_ca_on_plaintext_are_refused_not_ignored(kwargs):
    with pytest.raises(ConfigError, match="given for a PLAINTEXT connection") as info:
        KafkaConnection(bootstrap_servers="b:9092", **kwargs)
    assert SECRET not in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("bootstrap", ["", "localhost", "a:1,,b:2", "a:1 b:2", "host:port"])
def test_bootstrap_must_be_host_port_pairs(bootstrap):
    with pytest.raises(ConfigError, match="not a comma-separated list of host:port"):
        KafkaConnection(bootstrap_servers=bootstrap)


def test_several_bootstrap_servers_with_spaces_are_accepted():
    assert KafkaConnection(bootstrap_servers="a:1, b:2").librdkafka()["bootstrap.servers"] == "a:1, b:2"


def test_replication_factor_below_one_is_refused():
    with pytest.raises(ConfigError, match="replication factor 0 is not >= 1"):
        KafkaConnection(bootstrap_servers="b:9092", replication_factor=0)


def test_unknown_protocols_and_fields_are_refused():
    with pytest.raises(ValidationError):
        KafkaConnection(bootstrap_servers="b:9092", security_protocol="SSL")
    with pytest.raises(ValidationError):
        KafkaConnection(bootstrap_servers="b:9092", sasl_mechanism="SCRAM-SHA-512")


def test_the_model_is_immutable():
    conn = KafkaConnection.sasl("b:9092", KEY, SECRET)
    with pytest.raises(ValidationError):
        conn.bootstrap_servers = "other:1"  # type: ignore[misc]

