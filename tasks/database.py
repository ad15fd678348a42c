"""database-autostop / database-autostart tasks: read the database's state and the API's activity, decide
(pure: `pipeline.inactivity`), pause capture before a stop, resume it once the database accepts connections.

Ordering (why): the capture connector holds a replication connection to the database. It is paused (locally
Connect's STOP: its tasks shut down and commit their offsets) before the database stops, so it is never
left FAILED mid-stream, and resumed only once the database accepts connections again. The replication slot
lives in the database and survives the stop, so the connector continues from its committed position.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from connectors.migration import pending_migration
from pipeline.errors import PipelineError
from pipeline.inactivity import (AUTOSTOP_KEY, Verdict, autostart_verdict, autostop_verdict, capture_after_start,
                                 inactivity_window)
from pipeline.polling import poll_until
from pipeline.ports import Environment
from tasks.env import Settings, environment
from tasks.migration import running_variant
from tasks.retry import TRANSIENT_RETRIES


def _one_line(err: Exception) -> str:
    if isinstance(err, PipelineError):
        return err.one_line()
    return f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"


def capture_connector(env: Environment, cfg: Settings) -> str:
    """The name of the connector that captures business_events now (the variant a migration left running)."""
    name, _ = env.connector_config(running_variant(env, cfg).name)
    return name


def _migration_open(env: Environment) -> str | None:
    record = pending_migration(env.rollout_store)
    if record is None:
        return None
    return f"{record.source} -> {record.target}, {len(record.done)} step(s) done"


def verdict_dict(verdict: Verdict) -> dict:
    return {"action": verdict.action, "reason": verdict.reason, "figures": dict(verdict.figures)}


def publish_verdict(key: str, title: str, verdict: dict, steps: dict[str, str] | None = None) -> None:
    """The decision, the figures it used and what was done, as a markdown artifact (never holds a secret)."""
    lines = [f"# {title}", "", f"**{verdict['action']}** — {verdict['reason']}", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in verdict["figures"].items()]
    if steps:
        lines += ["", "| step | result |", "|---|---|"]
        lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in steps.items()]
    create_markdown_artifact(key=key, markdown="\n".join(lines), description=title)


# --- database-autostop --------------------------------------------------------------------------------

@task(name="decide-autostop", **TRANSIENT_RETRIES)
def decide_autostop(cfg: Settings, inactivity_hours: float, now: datetime | None = None) -> dict:
    """The verdict and the figures it used. A failed activity read is not an error here: it is the doubt that
    keeps the database running (fail-safe); a failed state read fails the task (retried when transient)."""
    window = inactivity_window(inactivity_hours)
    now = now or datetime.now(timezone.utc)
    reading, unreadable = None, None
    with environment(cfg) as env:
        state = env.infrastructure.database_state()
        busy = _migration_open(env)
        if state == "available" and not busy:
            if env.activity is None:
                unreadable = f"environment {cfg.name} has no activity source"
            else:
                try:
                    reading = env.activity.reading(now - window, now)
                except Exception as err:  # any doubt keeps the database running; the reason is reported
                    unreadable = _one_line(err)
    verdict = autostop_verdict(state=state, window=window, now=now, reading=reading, unreadable=unreadable,
                               capture_busy=busy)
    get_run_logger().info("database-autostop (%s): %s — %s", cfg.name, verdict.action, verdict.reason)
    return verdict_dict(verdict)


@task(name="pause-capture-and-stop-database")
def pause_capture_and_stop_database(cfg: Settings) -> dict[str, str]:
    """Pause the connector (recorded first, so auto-start knows it is ours to resume), stop the database, wait
    until it is stopped. Not retried by Prefect: a failed stop request is undone here (connector resumed) and
    said in one line; a stop that was requested but not yet seen finished is left to finish (a re-run sees it)."""
    log = get_run_logger()
    steps: dict[str, str] = {}
    with environment(cfg) as env:
        connector = capture_connector(env, cfg)
        state = env.connect.status(connector)
        paused_now = False
        if state is not None and state.state not in ("PAUSED", "STOPPED"):
            env.rollout_store.save(AUTOSTOP_KEY, {"connector": connector,
                                                  "paused_at": datetime.now(timezone.utc).isoformat()})
            t0 = time.monotonic()
            env.connect.pause(connector)
            paused_now = True
            steps["pause capture"] = f"{connector} paused in {time.monotonic() - t0:.1f}s"
        else:
            steps["pause capture"] = f"{connector} {'absent' if state is None else state.state}: nothing to pause"
        log.info("%s", steps["pause capture"])
        t0 = time.monotonic()
        try:
            env.infrastructure.stop_database()
        except Exception as err:
            undone = "nothing to undo"
            if paused_now:
                try:
                    env.connect.resume(connector)
                    env.rollout_store.save(AUTOSTOP_KEY, {})
                    undone = f"connector {connector} resumed"
                except Exception as resume_err:
                    undone = (f"connector {connector} is still paused ({_one_line(resume_err)}); run "
                              f"database-autostart to resume it")
            raise PipelineError(f"stopping the database failed: {_one_line(err)}; {undone}") from None
        try:
            env.infrastructure.wait_stopped()
        except Exception as err:
            raise PipelineError(f"the database stop was requested but is not seen finished: {_one_line(err)}; "
                                f"capture stays paused",
                                fix="run database-autostop again to confirm, or database-autostart to undo") from None
        steps["stop database"] = f"stopped in {time.monotonic() - t0:.1f}s"
        log.info("database stopped in %.1fs", time.monotonic() - t0)
    return steps


# --- database-autostart -------------------------------------------------------------------------------

@task(name="decide-autostart", **TRANSIENT_RETRIES)
def decide_autostart(cfg: Settings) -> dict:
    with environment(cfg) as env:
        verdict = autostart_verdict(env.infrastructure.database_state())
    get_run_logger().info("database-autostart (%s): %s — %s", cfg.name, verdict.action, verdict.reason)
    return verdict_dict(verdict)


@task(name="start-database", **TRANSIENT_RETRIES)
def start_database(cfg: Settings) -> str:
    """Start from stopped (a database already starting or available is reported, not started again)."""
    with environment(cfg) as env:
        return env.infrastructure.start_database()


@task(name="wait-database-accepting", **TRANSIENT_RETRIES)
def wait_database_accepting(cfg: Settings) -> float:
    """Until the database is available (within its infrastructure's own bound: minutes for Aurora, seconds
    locally) and accepts a connection; returns the seconds waited."""
    t0 = time.monotonic()
    with environment(cfg) as env:
        env.infrastructure.wait_available()
        poll_until(lambda: env.database.query("SELECT 1") == [(1,)], timeout=60, every=0.5,
                   what=f"the database at {env.database.where()} accepting connections")
    return round(time.monotonic() - t0, 1)


@task(name="resume-capture", **TRANSIENT_RETRIES)
def resume_capture(cfg: Settings) -> dict:
    """Resume the connector auto-stop paused (only that one); its record is cleared once it runs again."""
    with environment(cfg) as env:
        connector = capture_connector(env, cfg)
        state = env.connect.status(connector)
        record = env.rollout_store.load(AUTOSTOP_KEY) or None
        verdict = capture_after_start(connector, state.state if state else None, record)
        if verdict.action == "resume":
            env.connect.resume(connector)
        if record and (verdict.action == "resume" or (state is not None and state.state == "RUNNING")):
            env.rollout_store.save(AUTOSTOP_KEY, {})
    get_run_logger().info("%s", verdict.reason)
    return verdict_dict(verdict)
