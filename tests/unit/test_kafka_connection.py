"""KafkaConnection: the one Kafka client config (plaintext locally, SASL_SSL/PLAIN in the cloud)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from pipeline.errors import ConfigError
from pipeline.kafka_connection import KafkaConnection

KEY, SECRET = "CCKEY-4Q7Z", "cc-secret-Wm3-value"


def test_plaintext_is_the_default_and_carries_no_credentials():
    conn = KafkaConnection(bootstrap_servers="127.0.0.1:29092")
    assert conn.librdkafka() == {"bootstrap.servers": "127.0.0.1:29092", "security.protocol": "PLAINTEXT"}
    assert conn.new_topic_replication() == 1
    assert KafkaConnection.plaintext("127.0.0.1:29092") == conn


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


# ---- the local broker's SASL_SSL connection (files only; the broker itself is in tests/integration) ------

def test_local_sasl_connection_is_none_until_the_stack_generated_user_and_ca(tmp_path):
    from stack.kafka import ensure_sasl_password, ensure_tls, local_sasl_connection

    home = tmp_path / "kafka"
    assert local_sasl_connection(home, 29094) is None
    password = ensure_sasl_password(tmp_path / "secrets")
    assert local_sasl_connection(home, 29094) is None  # no CA yet
    assert ensure_tls(home / "tls") is True
    conn = local_sasl_connection(home, 29094)
    assert conn is not None and conn.librdkafka() == {
        "bootstrap.servers": "127.0.0.1:29094", "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
        "sasl.username": "cdc-client", "sasl.password": password.get_secret_value(),
        "ssl.ca.location": str(home / "tls" / "ca.pem")}
    assert conn.new_topic_replication() == 1
    assert ensure_sasl_password(tmp_path / "secrets") == password  # generated once, then reused
    assert len(password.get_secret_value()) >= 24


def test_generated_certificate_is_signed_by_the_ca_for_loopback_and_the_key_is_private(tmp_path):
    import ipaddress
    import stat

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from stack.kafka import ensure_tls, tls_current

    tls = tmp_path / "tls"
    assert not tls_current(tls)
    assert ensure_tls(tls) is True and tls_current(tls)
    assert ensure_tls(tls) is False  # current files are kept
    keystore = (tls / "broker-keystore.pem").read_bytes()
    assert stat.S_IMODE((tls / "broker-keystore.pem").stat().st_mode) == 0o600
    assert keystore.startswith(b"-----BEGIN PRIVATE KEY-----")  # unencrypted PKCS#8: no ssl.key.password
    ca = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    server, chain_ca = x509.load_pem_x509_certificates(keystore)
    assert chain_ca == ca and b"PRIVATE KEY" not in (tls / "ca.pem").read_bytes()
    ca.public_key().verify(server.signature, server.tbs_certificate_bytes, padding.PKCS1v15(),
                           server.signature_hash_algorithm)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert ExtendedKeyUsageOID.SERVER_AUTH in server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_certificate_near_its_end_is_renewed(tmp_path):
    import datetime as dt

    from stack.kafka import ensure_tls, tls_current

    tls = tmp_path / "tls"
    ensure_tls(tls)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=800)
    assert not tls_current(tls, now=later)
    old_ca = (tls / "ca.pem").read_bytes()
    (tls / "broker-keystore.pem").write_text("truncated")
    assert not tls_current(tls) and ensure_tls(tls) is True and (tls / "ca.pem").read_bytes() != old_ca


def test_broker_config_from_an_older_stack_is_not_current(tmp_path):
    """An older stack wrote server.properties without the SASL_SSL listener: `stack up` must restart that
    broker (KafkaBroker.start) rather than wait for it to become healthy."""
    from stack.kafka import KafkaBroker, ensure_sasl_password, ensure_tls

    broker = KafkaBroker(tmp_path / "kafka", 1, 2, 3)
    broker.home.mkdir()
    assert not broker.config_current()  # nothing generated yet
    password = ensure_sasl_password(broker.secrets_dir)
    ensure_tls(broker.tls_dir)
    props = broker._server_properties(password)
    assert "listeners=PLAINTEXT://127.0.0.1:1,SASL_SSL://127.0.0.1:3,CONTROLLER://127.0.0.1:2" in props
    assert "inter.broker.listener.name=PLAINTEXT" in props and "ssl.keystore.type=PEM" in props
    (broker.home / "server.properties").write_text(props.replace(",SASL_SSL://127.0.0.1:3", ""))
    assert not broker.config_current()
    (broker.home / "server.properties").write_text(props)
    assert broker.config_current()
    (broker.tls_dir / "broker-keystore.pem").write_text("lost")
    assert ensure_tls(broker.tls_dir) is True  # a new CA: the running broker still serves the old one
    assert not broker.config_current()
