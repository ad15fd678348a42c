"""pipeline-health's tasks: heal what can be healed (bounded, every action reported), then read every component.

Order matters and follows the data: engines (in start order) first, then the connector (a Kafka restart fails
its task), the routing job (a JobManager restart loses it), the consumers. Each heal is one action with its
outcome as one line; a heal that fails is reported and the rest still runs.
"""

from __future__ import annotations

import time

from prefect import get_run_logger, task

from connectors.config import LOCAL_CONNECTOR_NAME
from consumers.config import DLQ_SUFFIX
from consumers.registry import CONSUMERS
from environments.confluent.schemas import value_subject
from environments.health_probe import group_readings, slot_reading, topic_sizes
from filters.compiler import dead_letter_topic
from pipeline import health
from pipeline.errors import DeployBusy, PipelineError
from pipeline.health import RestartRecord, Row, Thresholds
from pipeline.inactivity import AUTOSTOP_KEY
from pipeline.ports import Environment
from pipeline.rollout import CURRENT_KEY, job_name
from tasks.deploy_slot import one_deploy_at_a_time
from tasks.env import Settings, environment

#: how long a heal waits for a deploy of the same environment to end before leaving capture and routing alone
DEPLOY_SLOT_WAIT = 5.0


def _restart_key(connector: str) -> str:
    return f"health-restarts-{connector}"


def heal_connector(env: Environment, name: str, t: Thresholds, now: float) -> list[str]:
    state = env.connect.status(name)
    store = env.rollout_store
    raw = store.load(_restart_key(name)) or {}
    record = RestartRecord(raw.get("attempts", 0), raw.get("last_at"))
    if state is None or state.failure() is None:
        if record.attempts and state is not None and state.running:
            store.save(_restart_key(name), {})  # healthy again: the next failure starts a fresh budget
        return []
    if not env.connect.RESTARTS_FAILED_TASKS:
        return [f"connector {name}: cannot be restarted through this Connect API: {state.failure()}"]
    action, why = health.task_restart_decision(record, now, t)
    if action != "restart":
        return [f"connector {name}: not restarted ({why}): {state.failure()}"]
    store.save(_restart_key(name), {"attempts": record.attempts + 1, "last_at": now})
    try:
        env.connect.restart_failed(name)
        env.connect.wait_running(name, timeout=60)
    except PipelineError as err:
        return [f"connector {name}: {why} did not bring it back: {err.message}"]
    store.save(_restart_key(name), {})
    return [f"connector {name}: failed task restarted ({why}); RUNNING"]


def heal_routing(env: Environment, readings: list[health.RoutingReading]) -> list[str]:
    """No routing job alive (or only a FAILED one): start the deployed job again from its newest retained
    checkpoint. A job that is RESTARTING is Flink healing it: left alone."""
    probe = env.health
    if probe is None or not probe.RESTORES_FROM_CHECKPOINTS:
        return []
    current = env.rollout_store.load(CURRENT_KEY) or {}
    alive = [r for r in readings if r.state != "FAILED"]
    if len(alive) > 1:
        return _cancel_copies(env, alive, current.get("job_id"))
    if alive:
        return []
    fp = current.get("fingerprint")
    record = env.rollout_store.load(fp) if fp else None
    if not record:
        return ["routing job: nothing recorded as deployed, so nothing to restore (run flink-rollout)"]
    checkpoint = None
    for job_id in [r.id for r in readings] + [record.get("job_id")]:
        checkpoint = checkpoint or (probe.latest_checkpoint(job_id) if job_id else None)
    if checkpoint is None:
        return [f"routing job: no retained checkpoint of job {record.get('job_id')}; not restored "
                "(run flink-rollout)"]
    where = checkpoint.removeprefix("file://")
    try:
        job_id = env.routing.start(record["statements"], job_name(fp), resume_from=checkpoint)
    except PipelineError as err:
        return [f"routing job: restoring from {where} failed: {err.message}"]
    # On record before anything else: the job exists now, and its checkpoints are the ones a later restore
    # must start from. Recorded only after it ran, a job that restarted on its way up (Flink then heals it)
    # stayed off the record and the next restore replayed from the older job's checkpoint, routing twice
    # what the newer job had committed since (seen in CI as 890 duplicates after a JobManager kill).
    env.rollout_store.save(fp, {**record, "job_id": job_id})
    env.rollout_store.save(CURRENT_KEY, {"fingerprint": fp, "job_id": job_id})
    try:
        env.routing.wait_running(job_id)
    except PipelineError as err:
        return [f"routing job restored from {where} as {job_id}, but not running yet: {err.message}"]
    return [f"routing job restored from {where} as {job_id}"]


def _cancel_copies(env: Environment, alive: list[health.RoutingReading], deployed: str | None) -> list[str]:
    """More than one routing job alive (two heals raced, or a person started one): keep the job recorded as
    deployed, cancel the others. With none of them on record, which to keep is a person's call."""
    if deployed not in {r.id for r in alive}:
        return [f"routing job: {len(alive)} run at once and none is the one recorded as deployed; left as they "
                "are (run flink-rollout)"]
    out = []
    for r in alive:
        if r.id == deployed:
            continue
        try:
            env.routing.cancel(r.id)
            out.append(f"routing job {r.id} cancelled: a copy of the deployed job {deployed}")
        except PipelineError as err:
            out.append(f"routing job {r.id}, a copy of the deployed job {deployed}, could not be cancelled: "
                       f"{err.message}")
    return out


def read_all(env: Environment, cfg: Settings, t: Thresholds, connector: str) -> list[Row]:
    asleep = bool(env.rollout_store.load(AUTOSTOP_KEY))
    probe = env.health
    rows: list[Row] = []
    if probe is not None:
        rows += health.engine_rows(probe.engines(), database_asleep=asleep)
    if asleep and env.infrastructure.database_state() != "available":
        rows.append(Row("database", "asleep", f"{env.infrastructure.database_state()} (database-autostop)"))
        slot = None
    else:
        try:
            slot = slot_reading(env.database, cfg.database.slot_name)
        except PipelineError as err:
            rows.append(Row("database", "unhealthy", "unreachable", f"database {env.database.where()}: {err.message}"))
            slot = None
            asleep = True  # the slot row would repeat the same problem
    state = _read(rows, "kafka connect", lambda: env.connect.status(connector))
    if state is not _UNREADABLE:
        rows += health.connector_rows(connector, state, asleep=asleep)
    routing = _read(rows, "routing jobs", lambda: probe.routing() if probe is not None else [
        health.RoutingReading(j.id, j.name, "RUNNING") for j in env.routing.running()])
    if routing is not _UNREADABLE:
        rows += health.routing_rows(routing, t)
    alive = probe.consumers_alive() if probe is not None else {}
    groups = _read(rows, "consumer groups", lambda: group_readings(env.kafka, CONSUMERS.values(), alive))
    if groups is not _UNREADABLE:
        rows += health.group_rows(groups, t)
    rows += health.slot_rows(cfg.database.slot_name, slot, t, asleep=asleep)
    if env.schema_registry is not None:
        subject = value_subject(cfg.raw_topic)
        latest = _read(rows, "schema registry", lambda: env.schema_registry.latest(subject))
        if latest is not _UNREADABLE:
            rows += health.registry_rows(subject, latest)
    # the dead-letter topics whose records are counted: routing's, and each consumer's
    dlqs = [dead_letter_topic(cfg.raw_topic)] + [s.topic + DLQ_SUFFIX for s in CONSUMERS.values()]
    sizes = _read(rows, "dead-letter topics", lambda: topic_sizes(env.kafka, dlqs))
    if sizes is not _UNREADABLE:
        rows += health.dlq_rows(sizes)
    return rows


_UNREADABLE = object()


def _read(rows: list[Row], what: str, read):
    """A reading, or a row saying it could not be read (an engine down must not hide the other rows)."""
    try:
        return read()
    except PipelineError as err:
        rows.append(Row(what, "unhealthy", "unreadable", f"{what}: {err.message}"))
        return _UNREADABLE


@task(name="heal")
def heal(cfg: Settings, t: Thresholds) -> list[str]:
    log = get_run_logger()
    done: list[str] = []
    with environment(cfg) as env:
        probe = env.health
        asleep = bool(env.rollout_store.load(AUTOSTOP_KEY))
        if probe is not None and probe.RESTARTS_ENGINES:
            done += start_dead_engines(probe, asleep)
        connector = connector_name(env)
        done += _heal_capture_and_routing(cfg, env, probe, connector, t, asleep, done)
        if probe is not None:
            done += probe.start_consumers()
    for line in done:
        log.info("heal: %s", line)
    return done


def start_dead_engines(probe, asleep: bool) -> list[str]:
    """Start each dead engine again, in start order. Read again after a start: starting one engine can start
    over another (a TaskManager with a lost JobManager), which then needs nothing more."""
    done: list[str] = []
    readings = probe.engines()
    for name in [e.name for e in readings]:
        engine = next((e for e in readings if e.name == name), None)
        if engine is None or engine.alive or not engine.wanted or (engine.name == "postgres" and asleep):
            continue
        try:
            done += probe.start_engine(engine.name)
        except PipelineError as err:
            done.append(f"engine {engine.name} could not be started: {err.message}")
        readings = probe.engines()
    return done


def _heal_capture_and_routing(cfg: Settings, env: Environment, probe, connector: str, t: Thresholds, asleep: bool,
                              done: list[str]) -> list[str]:
    """The connector and the routing job are what deploys change: healed only while no deploy of this
    environment runs (its slot, tasks/deploy_slot.py), so a rollout or migration between stopping one job and
    starting the next is never "healed" into two jobs."""
    out: list[str] = []
    if asleep:
        return out
    try:
        with one_deploy_at_a_time(cfg.name, wait=DEPLOY_SLOT_WAIT):
            if any(line.startswith("engine connect started") for line in done):
                # its tasks come back on their own from the committed offsets: wait for that before judging them
                try:
                    env.connect.wait_running(connector, timeout=90)
                except PipelineError as err:
                    out.append(f"connector {connector} not RUNNING after the worker started: {err.message}")
            out += heal_connector(env, connector, t, time.time())
            if probe is not None:
                out += heal_routing(env, probe.routing())
    except DeployBusy as err:
        out.append(f"connector and routing job not healed this time: {err.message}")
    return out


@task(name="read-health")
def read_health(cfg: Settings, t: Thresholds) -> list[Row]:
    with environment(cfg) as env:
        return read_all(env, cfg, t, connector_name(env))


def connector_name(env: Environment) -> str:
    return env.connector_config()[0] if env.connector_config else LOCAL_CONNECTOR_NAME
