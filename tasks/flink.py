from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from filters.compiler import CompiledJob
from pipeline import rollout
from pipeline.flink_gateway import FlinkRest
from pipeline.routing import FILTERS_FILE, local_job
from pipeline.settings import Settings, state_dir
from pipeline.topics import ensure_topic
from tasks.retry import TRANSIENT_RETRIES


def _deployments() -> rollout.Deployments:
    return rollout.Deployments(state_dir() / "flink" / "deployments")


@task(name="compile-routing-job")
def compile_routing_job(cfg: Settings, filters_file: str | None = None) -> CompiledJob:
    return local_job(cfg, Path(filters_file) if filters_file else FILTERS_FILE)


@task(name="ensure-output-topics", **TRANSIENT_RETRIES)
def ensure_output_topics(cfg: Settings, job: CompiledJob) -> dict[str, str]:
    """Filtered topics with the raw topic's partition count (keyed by id, so per-id order holds)."""
    return {r.output_topic: ensure_topic(cfg.kafka_bootstrap, r.output_topic, cfg.raw_topic_partitions) for r in job.routes}


@task(name="plan-rollout", **TRANSIENT_RETRIES)
def plan_rollout(cfg: Settings, job: CompiledJob) -> rollout.Plan:
    plan = rollout.plan_against_running(job, FlinkRest(cfg.flink_rest_url), _deployments())
    create_markdown_artifact(key="flink-rollout-plan", markdown=plan.markdown(rollout.routes_of(job)),
                             description=f"flink-rollout plan: {plan.action}")
    get_run_logger().info("plan %s: added %s, changed %s, removed %s, unchanged %s", plan.action,
                          plan.added, plan.changed, plan.removed, plan.unchanged)
    return plan


@task(name="apply-rollout")
def apply_rollout(cfg: Settings, plan: rollout.Plan, job: CompiledJob) -> dict:
    # not retried automatically: a half-done switch is resolved inside apply (restore), never by re-running it blind
    result = rollout.apply(plan, job, gateway_url=cfg.sql_gateway_url, rest=FlinkRest(cfg.flink_rest_url),
                           deployments=_deployments(), savepoint_dir=f"file://{state_dir() / 'flink' / 'savepoints'}")
    get_run_logger().info("rollout %s: job %s", result["action"], result["job_id"])
    return result
