"""Apache Kafka 4.x (KRaft, one combined broker+controller) and the Kafka Connect distributed worker,
both run from the Maven Central jars in stack/maven/kafka/pom.xml with capped heaps.

The broker has two client listeners on loopback:

- `PLAINTEXT://127.0.0.1:<CDC_KAFKA_PORT>`: the first listener and the inter-broker one; Connect, Flink,
  the flows and the local consumers use it.
- `SASL_SSL://127.0.0.1:<CDC_KAFKA_SASL_PORT>`: SASL/PLAIN over TLS, the way Confluent Cloud is reached, so
  that code path runs against a real broker. On first start the stack generates, under `<home>/tls/`, a
  self-signed CA (`ca.pem`, public: the clients' `ssl.ca.location`) and a server certificate for
  127.0.0.1/localhost signed by it (`broker-keystore.pem`: key + chain, 0600, a PEM keystore); the CA's
  key is discarded once it has signed. One PLAIN user, `cdc-client`, gets a generated password in
  `<state>/secrets/kafka-sasl-password` (0600). The broker reads it from its own `server.properties`
  (0600: it holds the JAAS line); nothing else writes it anywhere.

Clients get a `KafkaConnection` from `KafkaBroker.connection()` / `.sasl_connection()`, or from
`local_plaintext_connection()` / `local_sasl_connection()` without a broker object.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import secrets
import subprocess
import uuid
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from pipeline.errors import EnvironmentProblem
from pipeline.kafka_connection import KafkaConnection
from stack.dist import connect_plugin_dir, java_bin, jars
from stack.process import Engine, port_open

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""


def _java(heap: str, home: Path, classpath: Path, main: str, *args: str) -> list[str]:
    return [java_bin(), f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
            "-cp", f"{classpath}/*", main, *args]


#: PORT_DEFAULTS["kafka_sasl"] of the local settings (CDC_KAFKA_SASL_PORT); LocalStack always passes it
DEFAULT_SASL_PORT = 29094
SASL_USER = "cdc-client"
SASL_PASSWORD_FILE = "kafka-sasl-password"
CA_FILE = "ca.pem"
KEYSTORE_FILE = "broker-keystore.pem"
#: the server certificate is renewed (with a broker restart) when it has less than this left
RENEW_BEFORE = dt.timedelta(days=30)
CERT_LIFETIME = dt.timedelta(days=825)


def _secrets_dir(home: Path) -> Path:
    """`<state>/secrets`: the broker's home is `<state>/kafka`, the DB password lives next door."""
    return home.parent / "secrets"


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with `mode` from the first byte (a secret is never readable by others, even briefly)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    path.chmod(mode)


def read_sasl_password(secrets_dir: Path) -> SecretStr | None:
    try:
        value = (secrets_dir / SASL_PASSWORD_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return SecretStr(value) if value else None


def ensure_sasl_password(secrets_dir: Path) -> SecretStr:
    """The `cdc-client` password: generated once (0600), then reused so clients keep working across restarts."""
    existing = read_sasl_password(secrets_dir)
    if existing is not None:
        return existing
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    # url-safe alphabet: nothing to escape inside the JAAS line's quotes or a properties file
    _write_file(secrets_dir / SASL_PASSWORD_FILE, secrets.token_urlsafe(24).encode(), 0o600)
    password = read_sasl_password(secrets_dir)
    assert password is not None
    return password


def _ca_fingerprint(tls_dir: Path) -> str | None:
    try:
        return hashlib.sha256((tls_dir / CA_FILE).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def tls_current(tls_dir: Path, now: dt.datetime | None = None) -> bool:
    """True when the CA and keystore exist and the server certificate is valid for a while longer."""
    from cryptography import x509

    try:
        x509.load_pem_x509_certificate((tls_dir / CA_FILE).read_bytes())
        chain = x509.load_pem_x509_certificates((tls_dir / KEYSTORE_FILE).read_bytes())
    except (FileNotFoundError, ValueError):
        return False
    now = now or dt.datetime.now(dt.timezone.utc)
    return bool(chain) and chain[0].not_valid_after_utc - now > RENEW_BEFORE


def ensure_tls(tls_dir: Path) -> bool:
    """Generate the self-signed CA and the broker's certificate unless current ones exist; True when generated."""
    if tls_current(tls_dir):
        return False
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    tls_dir.mkdir(parents=True, exist_ok=True)
    tls_dir.chmod(0o755)  # ca.pem is public; the keystore file itself is 0600
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)  # tolerate a little clock skew
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"cdc local Kafka CA {uuid.uuid4().hex[:8]}")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + CERT_LIFETIME + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    # Kafka's PEM keystore: an unencrypted PKCS#8 key (no ssl.key.password) followed by the chain
    keystore = (key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    _write_file(tls_dir / KEYSTORE_FILE, keystore, 0o600)
    _write_file(tls_dir / CA_FILE, ca_cert.public_bytes(pem), 0o644)
    return True


def local_plaintext_connection(port: int) -> KafkaConnection:
    """The local broker's first listener (what Connect, Flink and the local flows use)."""
    return KafkaConnection.plaintext(f"127.0.0.1:{port}", replication_factor=1)


def local_sasl_connection(home: Path, port: int, secrets_dir: Path | None = None) -> KafkaConnection | None:
    """SASL_SSL/PLAIN to the local broker's second listener as `cdc-client`, trusting the stack's own CA.

    `home` is the broker's home (`<state>/kafka`); the password is read from `<state>/secrets` (or
    `secrets_dir`). None until the stack has generated the user and the certificate (its first start with
    this code): settings can be loaded on a fresh machine; `KafkaBroker.sasl_connection()` insists instead.
    """
    password = read_sasl_password(secrets_dir or _secrets_dir(home))
    ca = Path(home) / "tls" / CA_FILE
    if password is None or not ca.exists():
        return None
    return KafkaConnection.sasl(f"127.0.0.1:{port}", SASL_USER, password, ca_location=str(ca),
                                replication_factor=1)


def _quiet_logger() -> logging.Logger:
    """Health probes fail routinely while the broker starts: keep librdkafka's lines off the console."""
    logger = logging.getLogger("stack.kafka.health")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


class KafkaBroker(Engine):
    def __init__(self, home: Path, port: int, controller_port: int, sasl_port: int = DEFAULT_SASL_PORT,
                 heap: str = "512m", secrets_dir: Path | None = None):
        super().__init__(name="kafka", home=home,
                         ports={"CDC_KAFKA_PORT": port, "CDC_KAFKA_SASL_PORT": sasl_port,
                                "CDC_KAFKA_CONTROLLER_PORT": controller_port},
                         start_timeout=90)
        self.port, self.controller_port, self.sasl_port, self.heap = port, controller_port, sasl_port, heap
        self.secrets_dir = secrets_dir or _secrets_dir(home)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / CA_FILE

    def connection(self) -> KafkaConnection:
        return local_plaintext_connection(self.port)

    def sasl_connection(self) -> KafkaConnection:
        conn = local_sasl_connection(self.home, self.sasl_port, self.secrets_dir)
        if conn is None:
            raise EnvironmentProblem("the local Kafka's SASL_SSL listener has no user or CA yet",
                                     fix="start the stack with ./run stack up")
        return conn

    def _server_properties(self, password: SecretStr) -> str:
        sasl = "listener.name.sasl_ssl."
        return (
            # written by stack/kafka.py; holds the SASL users' passwords: mode 0600, never copied elsewhere
            f"# tls: sha256 of ca.pem {_ca_fingerprint(self.tls_dir)}\n"
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_SSL://127.0.0.1:{self.sasl_port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_SSL://127.0.0.1:{self.sasl_port}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            f"{sasl}sasl.enabled.mechanisms=PLAIN\n"
            f"{sasl}plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
            f' user_{SASL_USER}="{password.get_secret_value()}";\n'
            f"{sasl}ssl.keystore.type=PEM\n"
            f"{sasl}ssl.keystore.location={self.tls_dir / KEYSTORE_FILE}\n"
            f"{sasl}ssl.client.auth=none\n"
            f"log.dirs={self.home / 'data'}\n"
            "num.partitions=1\n"
            "offsets.topic.replication.factor=1\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "share.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            # Flink's exactly-once sink keeps transactions open across a checkpoint interval
            "transaction.max.timeout.ms=900000\n"
            "auto.create.topics.enable=true\n"
        )

    def config_current(self) -> bool:
        """Does the running broker's config (server.properties as written at its start) match this code's?

        False for a broker started by an older version of the stack (no SASL_SSL listener), with other
        ports, or whose certificate is due for renewal.
        """
        password = read_sasl_password(self.secrets_dir)
        if password is None or not tls_current(self.tls_dir):
            return False
        try:
            return (self.home / "server.properties").read_text() == self._server_properties(password)
        except OSError:
            return False

    def start(self) -> str:
        # A broker left running by an older version of this code has no SASL_SSL listener, so it is never
        # healthy and waiting for it would only time out. `stack up` restarts it with the current config
        # instead (data is kept; Connect, Flink and consumers reconnect on their own). Once, per upgrade.
        if self.pid() is not None and not self.config_current():
            self.stop()
        return super().start()

    def prepare(self) -> None:
        (self.home / "log4j2.properties").write_text(LOG4J2)
        # an existing broker home without TLS files or password (older stack) gets them here
        password = ensure_sasl_password(self.secrets_dir)
        ensure_tls(self.tls_dir)
        props = self.home / "server.properties"
        _write_file(props, self._server_properties(password).encode(), 0o600)
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            # `=`: one id in 64 starts with "-", which as a separate argument argparse takes for an option
            # Without eligible leader replicas (KIP-966, on by default since Kafka 4.1): with them, this one broker
            # restarting after a SIGKILL (an "unclean shutdown") is no longer an eligible leader of its own
            # partitions, so each comes back through an unclean election and a RECOVERING leader, which aborts
            # the transactions open on it (KIP-704), also ones their coordinator had already decided to commit.
            # The chaos suite lost records of Connect's exactly-once transactions that way, and Connect's
            # offsets topic was left unreadable (read_committed) for minutes. A single broker gains nothing from
            # ELR: it is its only replica.
            proc = subprocess.run(_java("256m", self.home, jars("kafka"), "kafka.tools.StorageTool", "format",
                                        f"--cluster-id={cluster_id}", "-c", str(props),
                                        "--feature", "eligible.leader.replicas.version=0"),
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise EnvironmentProblem(f"formatting Kafka storage failed: {' '.join((proc.stdout + proc.stderr).split())[-300:]}")

    def command(self) -> list[str]:
        return _java(self.heap, self.home, jars("kafka"), "kafka.Kafka", str(self.home / "server.properties"))

    def healthy(self) -> bool:
        """Both client listeners answer a metadata request; the SASL_SSL one as `cdc-client` over TLS."""
        if self.pid() is None or not port_open(self.port) or not port_open(self.sasl_port):
            return False
        try:
            connections = [self.connection(), self.sasl_connection()]
        except EnvironmentProblem:
            return False
        quiet = _quiet_logger()
        try:
            for conn in connections:
                AdminClient(conn.librdkafka(**{"socket.timeout.ms": 2000, "logger": quiet})).list_topics(timeout=3)
            return True
        except Exception:
            return False


class KafkaConnect(Engine):
    def __init__(self, home: Path, port: int, bootstrap: str, heap: str = "768m"):
        super().__init__(name="connect", home=home, ports={"CDC_CONNECT_PORT": port}, start_timeout=120)
        self.port, self.bootstrap, self.heap = port, bootstrap, heap

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def properties(self) -> str:
        return (
            f"bootstrap.servers={self.bootstrap}\n"
            "group.id=cdc-connect-local\n"
            "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
            "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
            "key.converter.schemas.enable=false\n"
            "value.converter.schemas.enable=false\n"
            "config.storage.topic=_connect-configs\n"
            "offset.storage.topic=_connect-offsets\n"
            "status.storage.topic=_connect-status\n"
            "config.storage.replication.factor=1\n"
            "offset.storage.replication.factor=1\n"
            "status.storage.replication.factor=1\n"
            "offset.flush.interval.ms=1000\n"
            f"listeners=http://127.0.0.1:{self.port}\n"
            "rest.advertised.host.name=127.0.0.1\n"
            f"plugin.path={connect_plugin_dir()}\n"
            # connector configs reference secrets as ${file:...} so passwords never sit in Connect's
            # config topic or come back from its REST API
            "config.providers=file\n"
            "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n"
            # KIP-618: each source task writes its records and its offsets in one Kafka transaction, so a
            # worker crash neither loses nor duplicates a change for read_committed readers (the connector
            # asks for it with exactly.once.support=required; connectors/config.py LOCAL_EXACTLY_ONCE)
            "exactly.once.source.support=enabled\n"
        )

    def start(self) -> str:
        # a worker started with other properties (an older stack, before exactly-once capture) is restarted
        # once: connectors resume from their committed offsets
        if self.pid() is not None and not self.config_current():
            self.stop()
        return super().start()

    def config_current(self) -> bool:
        try:
            return (self.home / "connect.properties").read_text() == self.properties()
        except OSError:
            return False

    def prepare(self) -> None:
        (self.home / "log4j2.properties").write_text(LOG4J2)
        jars("debezium")
        (self.home / "connect.properties").write_text(self.properties())

    def command(self) -> list[str]:
        return _java(self.heap, self.home, jars("kafka"), "org.apache.kafka.connect.cli.ConnectDistributed",
                     str(self.home / "connect.properties"))

    def healthy(self) -> bool:
        if self.pid() is None or not port_open(self.port):
            return False
        try:
            resp = httpx.get(f"{self.url}/connector-plugins", timeout=3)
        except httpx.HTTPError:
            return False
        return resp.status_code == 200 and "PostgresConnector" in resp.text
