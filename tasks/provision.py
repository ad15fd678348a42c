from __future__ import annotations

from prefect import get_run_logger, task

from tasks.env import Settings, environment
from tasks.retry import TRANSIENT_RETRIES


@task(name="ensure-infrastructure", **TRANSIENT_RETRIES)
def ensure_infrastructure(cfg: Settings) -> list[dict]:
    """Locally: start the engines (healthy ones are reused). Cloud: check the provisioned resources exist."""
    with environment(cfg) as env:
        checks = env.infrastructure.ensure_up()
    log = get_run_logger()
    for c in checks:
        log.info("%s %s in %.1fs %s", c.resource, c.outcome, c.seconds, c.detail)
    return [vars(c) for c in checks]


@task(name="ensure-raw-topic", **TRANSIENT_RETRIES)
def ensure_raw_topic(cfg: Settings) -> str:
    with environment(cfg) as env:
        outcome = env.kafka.ensure_topic(cfg.raw_topic, cfg.raw_topic_partitions)
    get_run_logger().info("topic %s: %s", cfg.raw_topic, outcome)
    return outcome


@task(name="register-raw-schema", **TRANSIENT_RETRIES)
def register_raw_schema(cfg: Settings) -> str:
    """Where tables are typed by a schema registry (Confluent's json-registry), the raw topic's JSON Schema."""
    from environments.confluent.schemas import raw_topic_json_schema, value_subject

    with environment(cfg) as env:
        if env.schema_registry is None:
            return "not needed (no schema registry)"
        outcome = env.schema_registry.ensure_schema(value_subject(cfg.raw_topic), raw_topic_json_schema(cfg.raw_topic))
    get_run_logger().info("schema %s-value: %s", cfg.raw_topic, outcome)
    return outcome
