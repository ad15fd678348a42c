from pydantic import SecretStr

from connectors.config import local_debezium_config, redacted
from environments.settings import LocalSettings as Settings
from pipeline.database_settings import DatabaseSettings
from pipeline.kafka_connection import KafkaConnection


def _cfg():
    return Settings(name="local", database=DatabaseSettings(password=SecretStr("s3cr3t-value"), port=25432),
                    kafka=KafkaConnection(bootstrap_servers="127.0.0.1:29092"))


def test_local_config_unwraps_routes_and_rewrites_deletes():
    config = local_debezium_config(_cfg(), "/state/secrets/connect.properties")
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert config["transforms"] == "unwrap,route"
    assert config["transforms.unwrap.type"] == "io.debezium.transforms.ExtractNewRecordState"
    assert config["transforms.unwrap.add.fields"] == "op,table,ts_ms,lsn"
    assert config["transforms.unwrap.delete.tombstone.handling.mode"] == "rewrite"
    assert config["transforms.route.replacement"] == "raw-business-events"
    assert config["transforms.route.regex"] == r"^cdc-local\.public\.business_events$"
    assert config["value.converter.schemas.enable"] == "false"
    assert config["slot.name"] == "business_events_cdc_slot"
    assert config["publication.autocreate.mode"] == "disabled"
    assert config["tombstones.on.delete"] == "false"
    assert all(isinstance(v, str) for v in config.values())


def test_password_is_a_provider_reference_never_the_value():
    config = local_debezium_config(_cfg(), "/state/secrets/connect.properties")
    assert "s3cr3t-value" not in repr(config)
    assert config["database.password"] == "${file:/state/secrets/connect.properties:database.password}"


def test_redacted_masks_literal_secrets_but_keeps_references():
    out = redacted({"database.password": "hunter22", "kafka.api.secret": "x", "other": "y",
                    "db.password": "${file:/p:database.password}"})
    assert out == {"database.password": "********", "kafka.api.secret": "********", "other": "y",
                   "db.password": "${file:/p:database.password}"}
