"""migrate-connector's tasks: read which variant runs, plan the switch (markdown artifact), carry it out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from connectors.migration import (STEPS, MigrationError, MigrationPlan, Switch, migrate, pending_migration,
                                  plan_migration)
from connectors.variants import Variant
from filters.compiler import compile_job, derive_no_op
from filters.loader import load_pipeline
from filters.model import Pipeline
from pipeline import rollout
from pipeline.business_events import COLUMNS, Change
from pipeline.errors import ConfigError, PipelineError
from pipeline.paths import FILTERS_FILE, display
from pipeline.ports import Environment
from pipeline.smoke import run_smoke
from tasks.env import Settings, environment
from pipeline.delivery import check_mode_fits
from tasks.variant import as_run_by, record_variant, recorded_variant


def running_variant(env: Environment, cfg: Settings) -> Variant:
    """The variant that runs now: what the last register/migration recorded, else what the connector's config
    says (the connector's own config is compared with each candidate's)."""
    recorded = recorded_variant(env)
    if recorded:
        return as_run_by(env, recorded)
    from connectors.variants import LOCAL_VARIANTS, SEED_VARIANTS

    candidates = LOCAL_VARIANTS if env.kind == "local" else [v for v in SEED_VARIANTS if v.managed]
    found = []
    for variant in candidates:
        name, config = env.connector_config(variant.name)
        current = env.connect.config(name)
        if current is None:
            continue
        same = {k: v for k, v in current.items() if k != "name"} == {k: v for k, v in config.items() if k != "name"}
        if same or env.connect.MASKS_SECRETS:  # masked: the connector's name says the variant
            found.append(variant)
    if len(found) != 1:
        fallback = as_run_by(env, cfg.connector_variant)
        if not found:
            return fallback
        if fallback in found:
            return fallback
        raise ConfigError(f"cannot tell which connector variant runs: {', '.join(v.name for v in found)} match",
                          fix="delete the stale connector(s) or record the variant by running register-connectors")
    return found[0]


def routing_pipeline(variant: Variant, filters_file: Path = FILTERS_FILE) -> Pipeline:
    """The filters as `variant`'s records can be routed: as written, or the derived -no-op routing (every event
    an insert) for a variant without CDC metadata — what the seed's -no-op SQL file holds."""
    pipeline = load_pipeline(filters_file)
    if variant.adds_cdc_metadata or not pipeline.source.cdc_metadata:
        return pipeline
    return derive_no_op(pipeline)[0]


def shape_for(variant: Variant) -> Callable[[Change], dict | None]:
    """What `variant` writes to raw-business-events for a change (None: nothing, e.g. a dropped delete)."""
    def shape(change: Change) -> dict | None:
        if change.op == "d" and variant.deletes == "dropped":
            return None
        record = {c: change.row[c] for c in COLUMNS}
        if "__op" in variant.cdc_fields:
            record["__op"] = change.op
        if "__table" in variant.cdc_fields:
            record["__table"] = "business_events"
        if "__deleted" in variant.cdc_fields:
            record["__deleted"] = "true" if change.op == "d" else "false"
        return record

    return shape


def _sql_label(env: Environment, variant: Variant) -> str:
    if env.routing.DIALECT == "local":
        return "business-events-routing-local.sql" + ("" if variant.adds_cdc_metadata else " (derived -no-op routing)")
    return variant.sql_file


def build_switch(env: Environment, cfg: Settings, target_name: str, filters_file: Path = FILTERS_FILE,
                 smoke_copies: int = 3) -> Switch:
    target = as_run_by(env, target_name)
    pending = pending_migration(env.rollout_store)
    # a finished migration clears its record, so any record left is unfinished — in the cloud even with 7 steps
    # done (retire-old failed after verify): `< len(STEPS) - 1` took that one for finished and never retired
    if pending and pending.target == target.name and len(pending.done) < len(STEPS):
        source = as_run_by(env, pending.source)  # an interrupted migration: continue it from its record
    else:
        source = running_variant(env, cfg)
    check_mode_fits(env.delivery, target.name, target.carries_lsn)  # low-latency needs __lsn after the switch
    if env.kind != "local" and not target.managed:
        raise ConfigError(f"connector variant {target.name} runs on a self-managed Connect worker",
                          fix="migrate to v2-debezium, cdc-source-fixed or cdc-source-basic")
    name_before, config_before = env.connector_config(source.name)
    name_after, config_after = env.connector_config(target.name)
    routed = routing_pipeline(target, filters_file)
    job = compile_job(routed, env.routing.DIALECT, source_name=display(filters_file), **env.routing.compile_options())
    for topic in job.output_topics:  # idempotent; a dead-letter topic is new to a job compiled before it existed
        env.kafka.ensure_topic(topic, cfg.raw_topic_partitions)
    fp = rollout.fingerprint(job)
    plan: MigrationPlan = plan_migration(
        source, target, connector_before=name_before, connector_after=name_after, config_before=config_before,
        config_after=config_after, sql_before=_sql_label(env, source), sql_after=_sql_label(env, target),
        supports_savepoints=env.routing.SUPPORTS_SAVEPOINTS)

    def verify() -> None:
        env.consumers.deploy()  # idempotent: the consumers are part of what is verified, dead ones restarted
        result = run_smoke(env, routed, copies=smoke_copies, timeout=90, settle=3, shape=shape_for(target))
        problems = result.problems()
        if problems:
            raise PipelineError(f"smoke test {result.run} after the switch: " + "; ".join(problems))

    group = env.routing.compile_options().get("local")
    return Switch(plan=plan, config_before=config_before, config_after=config_after,
                  statements_after=tuple(job.statements), fingerprint_after=fp, job_name_after=rollout.job_name(fp),
                  record_after=rollout.record_of(job, fp, ""), raw_topic=cfg.raw_topic,
                  routing_group=group.group_id if group is not None else None, verify=verify)


@task(name="plan-connector-migration")
def plan_connector_migration(cfg: Settings, target: str, dry_run: bool) -> dict:
    with environment(cfg) as env:
        switch = build_switch(env, cfg, target)
    plan = switch.plan
    create_markdown_artifact(key="migrate-connector-plan", markdown=plan.markdown(dry_run),
                             description=f"migrate-connector plan: {plan.source} -> {plan.target}")
    get_run_logger().info("plan %s: %s -> %s, steps %s", plan.action, plan.source, plan.target, plan.steps)
    return {"action": plan.action, "source": plan.source, "target": plan.target, "steps": plan.steps,
            "consumer_impact": plan.consumer_impact}


@task(name="migrate-connector")
def run_connector_migration(cfg: Settings, target: str) -> dict:
    """Not retried by Prefect: a half-done switch is continued or undone inside, never re-run blind."""
    log = get_run_logger()
    with environment(cfg) as env:
        switch = build_switch(env, cfg, target)
        if switch.plan.action == "none":
            return {"action": "none", "variant": switch.plan.target}
        record = migrate(switch, connect=env.connect, routing=env.routing, kafka=env.kafka, store=env.rollout_store,
                         log=log.info)
        record_variant(env, as_run_by(env, target))
        env.rollout_store.save("migration-in-progress", {})  # finished: nothing to continue
    return {"action": "migrate", "source": record.source, "target": record.target, "steps": record.done,
            "step_seconds": record.step_seconds, "new_job": record.new_job}


__all__ = ["MigrationError", "build_switch", "plan_connector_migration", "run_connector_migration",
           "running_variant", "record_variant", "routing_pipeline", "shape_for"]
