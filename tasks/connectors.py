from __future__ import annotations

from prefect import get_run_logger, task

from connectors.register import register_connector
from tasks.env import Settings, environment
from tasks.retry import TRANSIENT_RETRIES
from tasks.variant import checked_variant, matching_variant, record_variant


@task(name="register-connector", **TRANSIENT_RETRIES)
def register_connector_task(cfg: Settings) -> dict:
    checked_variant(cfg.connector_variant, mode=cfg.delivery)
    with environment(cfg) as env:
        variant = matching_variant(env, cfg.connector_variant)
        name, config = env.connector_config()
        result = register_connector(env.connect, name, config, store=env.rollout_store)
        record_variant(env, variant)
    result["variant"] = cfg.connector_variant
    get_run_logger().info("connector %s %s: %s, tasks %s", result["connector"], result["outcome"],
                          result["state"], result["tasks"])
    return result
