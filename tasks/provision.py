from __future__ import annotations

from prefect import get_run_logger, task

from pipeline.settings import Settings
from pipeline.topics import ensure_topic
from tasks.retry import TRANSIENT_RETRIES


@task(name="start-local-stack")
def start_local_stack(cfg: Settings) -> list[dict]:
    from stack.local import LocalStack

    reports = LocalStack(cfg).up()
    log = get_run_logger()
    for r in reports:
        log.info("%s %s in %.1fs", r.engine, r.outcome, r.seconds)
    return [vars(r) for r in reports]


@task(name="ensure-raw-topic", **TRANSIENT_RETRIES)
def ensure_raw_topic(cfg: Settings) -> str:
    outcome = ensure_topic(cfg.kafka_bootstrap, cfg.raw_topic, cfg.raw_topic_partitions)
    get_run_logger().info("topic %s: %s", cfg.raw_topic, outcome)
    return outcome
