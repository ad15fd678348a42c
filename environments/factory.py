"""The one factory: settings in, a `pipeline.ports.Environment` out — the only place that branches on the
environment's kind. Everything else receives the ports and branches, where targets differ, on their
capability flags.
"""

from __future__ import annotations

from environments.settings import CloudSettings, LocalSettings
from pipeline.ports import Environment


def build(settings: LocalSettings | CloudSettings) -> Environment:
    if settings.kind == "local":
        return _local(settings)
    return _cloud(settings)


def _local(cfg: LocalSettings) -> Environment:
    from connectors.config import LOCAL_CONNECTOR_NAME, local_debezium_config
    from connectors.variants import get_variant, local_variant_for
    from environments.consumer_fleet import LocalConsumerFleet
    from environments.kafka import KafkaClients
    from environments.local.connect import LocalConnect, write_connect_secrets
    from environments.local.flink import LocalFlinkJobs
    from environments.local.health import LocalHealthProbe
    from environments.local.activity import FileActivityMeter
    from environments.local.infrastructure import LocalInfrastructure
    from environments.postgres import PostgresDatabase
    from environments.rollout_store import FileRolloutStore
    from stack.local import LocalStack
    from stack.settings import api_activity_file, state_dir

    state = state_dir()
    connect = LocalConnect(cfg.connect_url)
    mode = cfg.delivery
    routing = LocalFlinkJobs(cfg.sql_gateway_url, cfg.flink_rest_url, state / "flink", cfg.kafka.bootstrap_servers,
                             delivery_guarantee=mode.sink_guarantee, source_isolation_level=mode.isolation_level)

    def connector_config(variant_name: str | None = None) -> tuple[str, dict[str, str]]:
        secrets = write_connect_secrets(state / "secrets", cfg.database.password.get_secret_value())
        # locally every seed variant is reproduced by the open-source connector with the same output shape
        variant = local_variant_for(get_variant(variant_name or cfg.connector_variant))
        return LOCAL_CONNECTOR_NAME, local_debezium_config(cfg, secrets, variant=variant)

    stack = LocalStack(cfg.database)
    fleet = LocalConsumerFleet(state / "consumers", cfg.kafka, mode)
    return Environment(
        name=cfg.name, kind=cfg.kind,
        database=PostgresDatabase(cfg.database),
        connect=connect,
        routing=routing,
        kafka=KafkaClients(cfg.kafka, mode.isolation_level),
        rollout_store=FileRolloutStore(state / "flink" / "deployments"),
        infrastructure=LocalInfrastructure(stack),
        consumers=fleet,
        delivery=mode,
        schema_registry=None,
        activity=FileActivityMeter(api_activity_file()),
        connector_config=connector_config,
        health=LocalHealthProbe(stack, routing.rest, fleet, state / "flink" / "checkpoints"),
        closers=[connect.close, routing.close],
    )


def _cloud(cfg: CloudSettings) -> Environment:
    """Confluent Cloud (managed Connect, Flink statements, Schema Registry, Kafka over SASL_SSL) + Aurora."""
    from connectors.config import cloud_config, render_placeholders
    from connectors.variants import get_variant
    from environments.aws.activity import CloudWatchActivityMeter
    from environments.aws.aurora import AuroraCluster
    from environments.confluent.connect import ConfluentConnect
    from environments.confluent.flink_statements import ConfluentStatements
    from environments.confluent.health import ConfluentHealthProbe
    from environments.confluent.schema_registry import ConfluentSchemaRegistry
    from environments.consumer_fleet import LocalConsumerFleet
    from environments.kafka import KafkaClients
    from environments.postgres import PostgresDatabase
    from environments.rollout_store import PrefectVariableRolloutStore
    from pipeline.errors import ConfigError
    from stack.settings import state_dir

    cc = cfg.confluent
    aurora = AuroraCluster.from_settings(cfg.aws)
    password_cache: list = []

    def password():
        """The database password: from the settings, else from Secrets Manager (once per environment)."""
        if cfg.database.password is not None:
            return cfg.database.password
        if not password_cache:
            password_cache.append(aurora.db_password())
        return password_cache[0]

    connect = ConfluentConnect(environment_id=cc.environment_id, cluster_id=cc.kafka_cluster_id,
                               api_key=cc.cloud_api_key, api_secret=cc.cloud_api_secret, api_url=cc.api_url)
    routing = ConfluentStatements(organization_id=cc.organization_id, environment_id=cc.environment_id,
                                  api_key=cc.flink_api_key, api_secret=cc.flink_api_secret, catalog=cc.flink_catalog,
                                  database=cc.flink_database, region=cc.flink_region, cloud=cc.flink_cloud,
                                  endpoint=cc.flink_url, compute_pool_id=cc.flink_compute_pool_id,
                                  buckets=cfg.raw_topic_partitions)
    registry = ConfluentSchemaRegistry(url=cc.schema_registry_url, api_key=cc.schema_registry_api_key,
                                       api_secret=cc.schema_registry_api_secret)

    fleet = LocalConsumerFleet(state_dir() / f"consumers-{cfg.name}", cfg.kafka, cfg.delivery)

    def connector_config(variant_name: str | None = None) -> tuple[str, dict[str, str]]:
        variant = get_variant(variant_name or cfg.connector_variant)
        if not variant.managed:
            raise ConfigError(f"connector variant {variant.name} runs on a self-managed Connect worker, not on "
                              f"Confluent Cloud's managed Connect", fix="set CDC_CONNECTOR_VARIANT to v2-debezium, "
                              "cdc-source-fixed or cdc-source-basic")
        db = cfg.database
        config = cloud_config(variant, db_port=str(db.port), slot_name=db.slot_name, publication=db.publication,
                              raw_topic=cfg.raw_topic)
        values = {"CDC_DB_HOST": db.host, "CDC_DB_NAME": db.dbname, "CDC_DB_USER": db.user,
                  "CDC_DB_PASSWORD": password().get_secret_value(),
                  "CDC_KAFKA_API_KEY": cfg.kafka.sasl_username or "",
                  "CDC_KAFKA_API_SECRET": cfg.kafka.sasl_password.get_secret_value() if cfg.kafka.sasl_password else ""}
        return config["name"], render_placeholders(config, values)

    return Environment(
        name=cfg.name, kind=cfg.kind,
        database=PostgresDatabase(cfg.database, password=password,
                                  user_variable="CDC_DB_USER / CDC_DB_PASSWORD (or CDC_DB_SECRET_ARN)"),
        connect=connect,
        routing=routing,
        # Confluent Cloud statements are always exactly-once: low-latency changes only how they are read
        kafka=KafkaClients(cfg.kafka, cfg.delivery.isolation_level),
        rollout_store=PrefectVariableRolloutStore(cfg.name),
        infrastructure=aurora,
        consumers=fleet,
        delivery=cfg.delivery,
        schema_registry=registry,
        activity=CloudWatchActivityMeter.from_settings(cfg.aws),
        connector_config=connector_config,
        health=ConfluentHealthProbe(routing, fleet),
        closers=[connect.close, routing.close, registry.close],
    )
