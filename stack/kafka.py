"""Apache Kafka 4.x (KRaft, one combined broker+controller) and the Kafka Connect distributed worker,
both run from the Maven Central jars in stack/maven/kafka/pom.xml with capped heaps."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient

from pipeline.errors import EnvironmentProblem
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


class KafkaBroker(Engine):
    def __init__(self, home: Path, port: int, controller_port: int, heap: str = "512m"):
        super().__init__(name="kafka", home=home,
                         ports={"CDC_KAFKA_PORT": port, "CDC_KAFKA_CONTROLLER_PORT": controller_port},
                         start_timeout=90)
        self.port, self.controller_port, self.heap = port, controller_port, heap

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def prepare(self) -> None:
        (self.home / "log4j2.properties").write_text(LOG4J2)
        props = self.home / "server.properties"
        props.write_text(
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            "inter.broker.listener.name=PLAINTEXT\n"
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
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            proc = subprocess.run(_java("256m", self.home, jars("kafka"), "kafka.tools.StorageTool", "format",
                                        "-t", cluster_id, "-c", str(props)), capture_output=True, text=True)
            if proc.returncode != 0:
                raise EnvironmentProblem(f"formatting Kafka storage failed: {' '.join((proc.stdout + proc.stderr).split())[-300:]}")

    def command(self) -> list[str]:
        return _java(self.heap, self.home, jars("kafka"), "kafka.Kafka", str(self.home / "server.properties"))

    def healthy(self) -> bool:
        if self.pid() is None or not port_open(self.port):
            return False
        try:
            AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000}).list_topics(timeout=3)
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

    def prepare(self) -> None:
        (self.home / "log4j2.properties").write_text(LOG4J2)
        jars("debezium")
        (self.home / "connect.properties").write_text(
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
        )

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
