from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from filters.compiler import CompiledJob
from pipeline import rollout
from pipeline.paths import FILTERS_FILE
from pipeline.routing import routing_job
from tasks.env import Settings, environment
from tasks.retry import TRANSIENT_RETRIES
from tasks.variant import checked_variant, matching_variant


@task(name="compile-routing-job")
def compile_routing_job(cfg: Settings, filters_file: str | None = None) -> CompiledJob:
    path = Path(filters_file) if filters_file else FILTERS_FILE
    # filters needing __op, or low-latency needing __lsn, behind a variant without it: refused
    checked_variant(cfg.connector_variant, path, cfg.delivery)
    with environment(cfg) as env:
        matching_variant(env, cfg.connector_variant)  # never route for a shape the connector does not write
        return routing_job(env.routing, path)


@task(name="ensure-output-topics", **TRANSIENT_RETRIES)
def ensure_output_topics(cfg: Settings, job: CompiledJob) -> dict[str, str]:
    """Filtered topics (and the dead-letter topic) with the raw topic's partition count (keyed by id, so
    per-id order holds)."""
    with environment(cfg) as env:
        return {topic: env.kafka.ensure_topic(topic, cfg.raw_topic_partitions) for topic in job.output_topics}


@task(name="plan-rollout", **TRANSIENT_RETRIES)
def plan_rollout(cfg: Settings, job: CompiledJob) -> rollout.Plan:
    with environment(cfg) as env:
        plan = rollout.plan_against_running(job, env.routing, env.rollout_store)
    create_markdown_artifact(key="flink-rollout-plan", markdown=plan.markdown(rollout.routes_of(job)),
                             description=f"flink-rollout plan: {plan.action}")
    get_run_logger().info("plan %s: added %s, changed %s, removed %s, unchanged %s", plan.action,
                          plan.added, plan.changed, plan.removed, plan.unchanged)
    return plan


@task(name="apply-rollout")
def apply_rollout(cfg: Settings, plan: rollout.Plan, job: CompiledJob) -> dict:
    # not retried automatically: a half-done switch is resolved inside apply (restore), never by re-running it blind
    with environment(cfg) as env:
        result = rollout.apply(plan, job, env.routing, env.rollout_store, cfg.name)
    get_run_logger().info("rollout %s: job %s", result["action"], result["job_id"])
    return result
