"""The local broker's second listener, SASL_SSL/PLAIN with the stack's self-signed CA, driven through the
project's one Kafka connection config (`KafkaConnection`) — the code path Confluent Cloud uses.

Each test uses its own topics and groups (`test-sasl-<uuid>`) and deletes them at the end.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from consumers.output import read_processed
from consumers.registry import get_consumer
from pipeline.kafka_connection import KafkaConnection
from stack.kafka import SASL_PASSWORD_FILE, SASL_USER, KafkaBroker
from tests.integration.conftest import free_port
from tests.unit.consumers.samples import as_bytes, loan_created

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def sasl(stack) -> KafkaConnection:
    return stack.kafka.sasl_connection()


@pytest.fixture(scope="module")
def plain(stack) -> KafkaConnection:
    return stack.kafka.connection()


@pytest.fixture
def names(plain):
    """A fresh topic and group name; the topic, its DLQ and the group are deleted afterwards."""
    token = uuid.uuid4().hex[:10]
    topic, group = f"test-sasl-{token}", f"test-sasl-group-{token}"
    yield topic, group
    admin = AdminClient(plain.librdkafka())
    for future in admin.delete_topics([topic, topic + ".dlq"], operation_timeout=10).values():
        try:
            future.result(15)
        except KafkaException:
            pass  # never created
    try:
        admin.delete_consumer_groups([group])[group].result(15)
    except KafkaException:
        pass


def create_topic(conn: KafkaConnection, topic: str, partitions: int) -> None:
    admin = AdminClient(conn.librdkafka())
    admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                  replication_factor=conn.new_topic_replication())])[topic].result(30)


def produce(conn: KafkaConnection, topic: str, records: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    errors, where = [], []

    def delivered(err, msg):
        (errors.append(err) if err is not None else where.append((msg.partition(), msg.offset())))

    producer = Producer(conn.librdkafka(**{"enable.idempotence": True, "linger.ms": 0}))
    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert errors == [] and len(where) == len(records)
    return where


def read_all(conn: KafkaConnection, topic: str, want: int, timeout: float = 30) -> list:
    reader = Consumer(conn.librdkafka(**{"group.id": f"test-sasl-reader-{uuid.uuid4().hex[:6]}",
                                         "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    try:
        meta = reader.list_topics(topic, timeout=10).topics[topic]
        assert meta.error is None and meta.partitions, f"topic {topic} does not exist: {meta.error}"
        reader.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        got, deadline = [], time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
        return got
    finally:
        reader.close()


def log_lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def first_client_error(conf: dict, topic: str, timeout: float = 20) -> tuple[KafkaError, float, list]:
    """Subscribe with `conf` and poll until librdkafka reports an error; (error, seconds taken, messages seen)."""
    errors: list[KafkaError] = []
    started = time.monotonic()
    consumer = Consumer({**conf, "group.id": f"test-sasl-denied-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest", "error_cb": errors.append, "log_level": 0})
    messages = []
    try:
        consumer.subscribe([topic])
        while not errors and time.monotonic() - started < timeout:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                messages.append(msg)
        assert errors, f"no client error within {timeout:.0f}s"
        return errors[0], time.monotonic() - started, messages
    finally:
        consumer.close()


# ---- the listener and its files ---------------------------------------------------------------------------

def test_generated_tls_files_password_and_broker_config_are_private(stack, sasl):
    kafka: KafkaBroker = stack.kafka
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert kafka.healthy() and kafka.config_current()
    assert mode(kafka.secrets_dir / SASL_PASSWORD_FILE) == 0o600
    assert mode(kafka.home / "server.properties") == 0o600
    assert mode(kafka.tls_dir / "broker-keystore.pem") == 0o600
    assert mode(kafka.ca_file) == 0o644 and "PRIVATE KEY" not in kafka.ca_file.read_text()
    assert sasl.bootstrap_servers == f"127.0.0.1:{kafka.sasl_port}" and sasl.sasl_username == SASL_USER
    assert sasl.ssl_ca_location == str(kafka.ca_file) and sasl.security_protocol == "SASL_SSL"
    password = sasl.sasl_password.get_secret_value()
    assert len(password) >= 24 and password in (kafka.home / "server.properties").read_text()


# ---- a real round trip over SASL_SSL ----------------------------------------------------------------------

def test_admin_produce_and_consume_over_sasl_ssl(sasl, plain, names):
    topic, _ = names
    create_topic(sasl, topic, 2)
    meta = AdminClient(sasl.librdkafka()).list_topics(topic, timeout=10).topics[topic]
    assert meta.error is None and len(meta.partitions) == 2
    records = [(f"k-{i}".encode(), json.dumps({"n": i}).encode()) for i in range(20)]
    produce(sasl, topic, records)
    got = read_all(sasl, topic, want=20)
    assert sorted((m.key(), m.value()) for m in got) == sorted(records)
    # the same broker behind both listeners: the plaintext side sees what SASL_SSL wrote
    assert len(read_all(plain, topic, want=20)) == 20


def test_wrong_password_fails_at_once_with_an_authentication_error(sasl, plain, names):
    topic, _ = names
    create_topic(plain, topic, 1)
    produce(plain, topic, [(b"k", b"v")])
    wrong = "wrong-" + uuid.uuid4().hex
    bad = sasl.model_copy(update={"sasl_password": SecretStr(wrong)})
    err, seconds, messages = first_client_error(bad.librdkafka(), topic)
    assert err.code() == KafkaError._AUTHENTICATION, err.str()
    assert "Invalid username or password" in err.str() and wrong not in err.str()
    assert seconds < 10 and messages == []
    # an admin call is bounded by its timeout too: a clear failure, never a hang
    started = time.monotonic()
    with pytest.raises(KafkaException):
        AdminClient(bad.librdkafka(log_level=0)).list_topics(timeout=3)
    assert time.monotonic() - started < 6


def test_plaintext_client_on_the_sasl_port_gets_no_data(sasl, plain, names):
    topic, _ = names
    create_topic(plain, topic, 1)
    produce(plain, topic, [(b"k", b"secret-free payload")])
    err, seconds, messages = first_client_error({"bootstrap.servers": sasl.bootstrap_servers}, topic)
    assert err.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN), err.str()
    assert messages == [] and seconds < 10
    with pytest.raises(KafkaException):
        AdminClient({"bootstrap.servers": sasl.bootstrap_servers, "log_level": 0}).list_topics(timeout=3)


def test_the_certificate_is_verified_not_blindly_trusted(sasl, plain, names):
    """Without the stack's CA the broker's certificate does not verify: TLS is real, not just a tunnel."""
    topic, _ = names
    create_topic(plain, topic, 1)
    no_ca = KafkaConnection.sasl(sasl.bootstrap_servers, SASL_USER, sasl.sasl_password, replication_factor=1)
    err, _, messages = first_client_error(no_ca.librdkafka(), topic)
    # librdkafka names it _SSL or _TRANSPORT depending on when the handshake fails; the reason is the same
    assert err.code() in (KafkaError._SSL, KafkaError._TRANSPORT) and "certificate verify failed" in err.str()
    assert messages == []


# ---- a real consumer app over SASL_SSL ---------------------------------------------------------------------

def test_loan_consumer_over_sasl_ssl_processes_what_the_plaintext_side_produced(sasl, plain, names, tmp_path):
    """`python -m consumers.loan` with the seed's variables + KAFKA_SSL_CA_LOCATION: it consumes, commits and
    dead-letters (creating the DLQ topic and producing to it) all over SASL_SSL, and prints no secret."""
    topic, group = names
    create_topic(plain, topic, 1)
    produce(plain, topic, [(b"evt-sasl-1", as_bytes(loan_created("evt-sasl-1"))), (b"poison", b"not json {")])
    spec = get_consumer("loan")
    password = sasl.sasl_password.get_secret_value()
    out_file, stdout, stderr = tmp_path / "processed.jsonl", tmp_path / "loan.stdout", tmp_path / "loan.stderr"
    env = {**os.environ, **spec.environment(bootstrap_servers=sasl.bootstrap_servers, topic=topic, group_id=group,
                                            processed_output=out_file, api_key=sasl.sasl_username,
                                            api_secret=sasl.sasl_password, ssl_ca_location=sasl.ssl_ca_location),
           "CONSUMER_SESSION_TIMEOUT_MS": "6000"}
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.Popen(spec.command(), cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        def alive() -> None:
            assert proc.poll() is None, f"consumer exited ({proc.returncode}): {stderr.read_text()[-2000:]}"

        def done() -> list[str]:
            alive()
            return [r.id for r in read_processed(out_file)] if out_file.exists() else []

        assert wait_for(done, 60, "the event processed over SASL_SSL") == ["evt-sasl-1"]
        wait_for(lambda: alive() or any(line["msg"] == "malformed event dead-lettered"
                                        for line in log_lines_of(stdout)), 30, "the poison dead-lettered")
        dlq = read_all(plain, topic + ".dlq", want=1)
        assert [m.value() for m in dlq] == [b"not json {"]

        def committed():
            reader = Consumer(plain.librdkafka(**{"group.id": group, "enable.auto.commit": False}))
            try:
                return reader.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 2
            finally:
                reader.close()

        wait_for(committed, 30, "both offsets committed over SASL_SSL", every=0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    lines = log_lines_of(stdout)
    start = lines[0]
    assert start["msg"] == "consumer started" and start["security_protocol"] == "SASL_SSL"
    assert start["bootstrap_servers"] == sasl.bootstrap_servers and start["ssl_ca_location"] == sasl.ssl_ca_location
    assert not [line for line in lines if line["msg"] in ("kafka client error", "kafka consumer error")]
    assert lines[-1]["msg"] == "consumer stopped" and lines[-1]["processed"] == 1
    text = stdout.read_text() + stderr.read_text()
    assert password not in text and SASL_USER not in text


# ---- a broker started by an older stack (no SASL_SSL listener, no TLS files) --------------------------------

def test_a_broker_without_the_sasl_listener_is_restarted_with_it_and_keeps_its_data(tmp_path):
    home = tmp_path / "kafka"
    broker = KafkaBroker(home, free_port(), free_port(), free_port())
    try:
        broker.home.mkdir(parents=True)
        broker.prepare()  # formats the storage
        # what the previous version of the stack wrote: one PLAINTEXT listener, no TLS, no SASL user
        old = "\n".join(line for line in (home / "server.properties").read_text().splitlines()
                        if "sasl_ssl." not in line and not line.startswith("# tls"))
        old = old.replace(f",SASL_SSL://127.0.0.1:{broker.sasl_port}", "").replace(",SASL_SSL:SASL_SSL", "")
        assert "SASL" not in old
        (home / "server.properties").write_text(old + "\n")
        (broker.secrets_dir / SASL_PASSWORD_FILE).unlink()
        for f in broker.tls_dir.iterdir():
            f.unlink()
        broker._spawn()
        old_pid = broker.pid()

        def plaintext_up():
            try:
                create_topic(broker.connection(), "kept-across-restart", 1)
                return True
            except KafkaException:
                return False

        wait_for(plaintext_up, 90, "the old-style broker", every=0.5)
        assert not broker.healthy() and not broker.config_current()

        assert broker.start() == "started"
        assert broker.pid() != old_pid and broker.healthy() and broker.config_current()
        assert (broker.secrets_dir / SASL_PASSWORD_FILE).exists() and broker.ca_file.exists()
        topics = AdminClient(broker.sasl_connection().librdkafka()).list_topics(timeout=10).topics
        assert "kept-across-restart" in topics
        assert broker.start() == "reused"
    finally:
        broker.stop()


# ---- the secret stays secret ---------------------------------------------------------------------------------

def test_the_sasl_password_is_in_no_log_or_data_under_the_state_folder(stack, sasl):
    """Runs after the tests above in this module; tests/integration/test_flows.py scans after the flows too."""
    password = sasl.sasl_password.get_secret_value().encode()
    state = stack.kafka.home.parent
    allowed = {stack.kafka.secrets_dir / SASL_PASSWORD_FILE, stack.kafka.home / "server.properties"}
    leaks = []
    for dirpath, _, files in os.walk(state):
        for name in files:
            path = Path(dirpath) / name
            if path in allowed or path.suffix in (".jar", ".whl") or {"jars", "dist"} & set(path.parts):
                continue
            try:
                if password in path.read_bytes():
                    leaks.append(str(path))
            except OSError:
                continue
    assert leaks == []
