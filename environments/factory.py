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
    from environments.consumer_fleet import LocalConsumerFleet
    from environments.kafka import KafkaClients
    from environments.local.connect import LocalConnect, write_connect_secrets
    from environments.local.flink import LocalFlinkJobs
    from environments.local.infrastructure import LocalInfrastructure
    from environments.postgres import PostgresDatabase
    from environments.rollout_store import FileRolloutStore
    from stack.local import LocalStack
    from stack.settings import state_dir

    state = state_dir()
    connect = LocalConnect(cfg.connect_url)
    routing = LocalFlinkJobs(cfg.sql_gateway_url, cfg.flink_rest_url, state / "flink", cfg.kafka.bootstrap_servers)

    def connector_config() -> tuple[str, dict[str, str]]:
        secrets = write_connect_secrets(state / "secrets", cfg.database.password.get_secret_value())
        return LOCAL_CONNECTOR_NAME, local_debezium_config(cfg, secrets)

    return Environment(
        name=cfg.name, kind=cfg.kind,
        database=PostgresDatabase(cfg.database),
        connect=connect,
        routing=routing,
        kafka=KafkaClients(cfg.kafka),
        rollout_store=FileRolloutStore(state / "flink" / "deployments"),
        infrastructure=LocalInfrastructure(LocalStack(cfg.database)),
        consumers=LocalConsumerFleet(state / "consumers", cfg.kafka),
        schema_registry=None,
        connector_config=connector_config,
        closers=[connect.close, routing.close],
    )


def _cloud(cfg: CloudSettings) -> Environment:
    raise NotImplementedError("cloud adapters are wired in the next slice")
