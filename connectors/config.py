"""Pure builders for connector configurations: settings in, Kafka Connect config dict out.

The local connector is the open-source Debezium PostgreSQL connector with the same shape of output
as the seed's recommended variants: ExtractNewRecordState unwraps the envelope and adds `__op`,
`__table`, `__ts_ms`; deletes are rewritten as the old row with `__deleted: "true"` (no tombstones);
RegexRouter sends everything to raw-business-events; JSON without embedded schemas.
"""

from __future__ import annotations

from pipeline.settings import Settings

LOCAL_CONNECTOR_NAME = "postgres-debezium-business-events-local"
PASSWORD_KEY = "database.password"
TOPIC_PREFIX = "cdc-local"


def password_reference(secrets_file: str) -> str:
    """A Kafka FileConfigProvider reference: Connect resolves it, nobody else ever sees the value."""
    return "${file:" + secrets_file + ":" + PASSWORD_KEY + "}"


def local_debezium_config(cfg: Settings, secrets_file: str) -> dict[str, str]:
    db = cfg.database
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "database.hostname": db.host,
        "database.port": str(db.port),
        "database.user": db.user,
        PASSWORD_KEY: password_reference(secrets_file),
        "database.dbname": db.dbname,
        "topic.prefix": TOPIC_PREFIX,
        "plugin.name": "pgoutput",
        "slot.name": db.slot_name,
        "publication.name": db.publication,
        # replication-setup owns the publication and the slot; the connector must not invent others
        "publication.autocreate.mode": "disabled",
        "table.include.list": "public.business_events",
        "snapshot.mode": "initial",
        "tombstones.on.delete": "false",
        "heartbeat.interval.ms": "10000",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "unwrap,route",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.add.fields": "op,table,ts_ms",
        "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        # only the table's topic: heartbeats keep their own topic and never reach the raw topic
        "transforms.route.regex": rf"^{TOPIC_PREFIX}\.public\.business_events$",
        "transforms.route.replacement": cfg.raw_topic,
    }


def redacted(config: dict[str, str]) -> dict[str, str]:
    """A copy safe to log or publish: any password-like value that is not a provider reference is masked."""
    out = {}
    for key, value in config.items():
        secretish = any(word in key.lower() for word in ("password", "secret", "api.key", "sasl.jaas"))
        out[key] = "********" if secretish and not str(value).startswith("${") else value
    return out
