"""The one factory: each kind of settings gets its adapters, every one of them satisfies its port."""

from __future__ import annotations

import pytest

from environments.factory import build
from environments.settings import load_settings
from pipeline.errors import ConfigError
from pipeline.ports import (Connect, ConsumerFleet, Database, Infrastructure, Kafka, RolloutStore, RoutingJobs,
                            SchemaRegistry)
from tests.unit.test_settings_and_errors import CLOUD_ENV

PORTS = {"database": Database, "connect": Connect, "routing": RoutingJobs, "kafka": Kafka,
         "rollout_store": RolloutStore, "infrastructure": Infrastructure, "consumers": ConsumerFleet}


def test_local_settings_build_local_adapters_with_savepoints(tmp_path, monkeypatch):
    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    with build(load_settings("local")) as env:
        for attr, port in PORTS.items():
            assert isinstance(getattr(env, attr), port), attr
        assert env.routing.SUPPORTS_SAVEPOINTS and env.routing.DIALECT == "local"
        assert not env.connect.MASKS_SECRETS and env.infrastructure.STARTS_SERVERS
        assert env.schema_registry is None
        name, config = env.connector_config()  # writes the 0600 secrets file, holds only a reference
        assert config["database.password"].startswith("${file:") and name.endswith("-local")


def test_cloud_settings_build_confluent_and_aws_adapters():
    cfg = load_settings("dev", environ={**CLOUD_ENV, "CDC_AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    with build(cfg) as env:
        for attr, port in PORTS.items():
            assert isinstance(getattr(env, attr), port), attr
        assert isinstance(env.schema_registry, SchemaRegistry)
        assert not env.routing.SUPPORTS_SAVEPOINTS and env.routing.DIALECT == "confluent"
        assert env.connect.MASKS_SECRETS and not env.infrastructure.STARTS_SERVERS
        name, config = env.connector_config()  # the managed variant, secrets filled for the Connect API only
        assert name == "postgres-cdc-source-v2-debezium-business-events-confluent-cloud"
        assert config["connector.class"] == "PostgresCdcSourceV2"
        assert config["database.password"] == "db-secret-value" and config["kafka.api.secret"] == "kafka-secret-value"


def test_a_self_managed_variant_is_refused_in_the_cloud():
    cfg = load_settings("dev", environ={**CLOUD_ENV, "CDC_CONNECTOR_VARIANT": "debezium"})
    with build(cfg) as env, pytest.raises(ConfigError, match="self-managed Connect worker"):
        env.connector_config()


def test_filters_with_cdc_metadata_behind_the_basic_variant_are_refused():
    from tasks.variant import checked_variant

    with pytest.raises(ConfigError) as info:
        checked_variant("cdc-source-basic")
    assert "filters/filters.yaml sets cdcMetadata: true" in str(info.value)
    assert "business-events-routing-confluent-cloud-no-op.sql" in str(info.value)
    assert checked_variant("v2-debezium").name == "v2-debezium"
