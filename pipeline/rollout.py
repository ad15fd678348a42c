"""Routing-job rollout over the `RoutingJobs` and `RolloutStore` ports: plan (pure), then apply.

What runs is identified by its name `business-events-routing-<fingerprint>`, the fingerprint being a hash
of the submitted statements; the rollout store keeps, per fingerprint, its routes and statements, so a plan
can say which routes were added, removed or changed, and a failed switch can be rolled back.

A switch loses and duplicates nothing: the new SQL is first validated by Flink while the old job keeps
running; then the old job is stopped (locally with a savepoint; in Confluent Cloud the statement is
stopped) and the new one starts from where the old one stopped reading (the savepoint, or the old
statement's offsets through `sql.tables.initial-offset-from`). If anything fails after the old job was
stopped — a rejection, any other exception, an interrupt — the old job is restored from its token; if that
fails too, the error names the token and the command that finishes the switch.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from filters.compiler import CompiledJob
from pipeline.errors import FlinkError, PipelineError
from pipeline.ports import RolloutStore, RoutingJobs, RunningJob

JOB_NAME = "business-events-routing"
#: the rollout-store key naming the routing job deployed last ({"fingerprint", "job_id"}): what pipeline-health
#: restores when no routing job runs
CURRENT_KEY = "routing-current"


def job_name(fp: str) -> str:
    """`[a-z0-9-]` only: a valid Flink job name and a valid Confluent statement name (<= 72 characters)."""
    return f"{JOB_NAME}-{fp}"


def fingerprint_of_name(name: str) -> str:
    return name.removeprefix(JOB_NAME + "-") if name.startswith(JOB_NAME + "-") else ""


def fingerprint(job: CompiledJob) -> str:
    return hashlib.sha256("\n;\n".join(job.statements).encode()).hexdigest()[:12]


def routes_of(job: CompiledJob) -> dict[str, dict]:
    return {r.filter_id: {"output_topic": r.output_topic, "where": r.where} for r in job.routes}


@dataclass
class Plan:
    action: str  # none | start | replace
    fingerprint: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    running: list[dict] = field(default_factory=list)  # [{"id", "name", "fingerprint"}]
    previous_known: bool = True

    def markdown(self, desired: dict[str, dict]) -> str:
        lines = [f"# flink-rollout plan: **{self.action}**", "",
                 f"target job `{job_name(self.fingerprint)}`; running: "
                 + (", ".join(f"`{j['name']}` ({j['id'][:8]})" for j in self.running) or "nothing"), ""]
        if not self.previous_known:
            lines += ["The running job's routes are not on record here; every route is treated as changed.", ""]
        lines += ["| route | change | output topic | condition |", "|---|---|---|---|"]
        for kind, ids in (("added", self.added), ("changed", self.changed), ("removed", self.removed),
                          ("unchanged", self.unchanged)):
            for rid in ids:
                info = desired.get(rid, {})
                where = (info.get("where") or "every event").replace("|", "\\|")
                lines.append(f"| {rid} | {kind} | {info.get('output_topic', '—')} | `{where}` |")
        return "\n".join(lines)


def make_plan(desired_fp: str, desired_routes: dict[str, dict], running: list[dict],
              recorded: dict[str, dict] | None) -> Plan:
    """Pure: compare the desired job with what runs. `recorded` are the routes of the running job, if known."""
    mine = [j for j in running if j["fingerprint"] == desired_fp]
    if mine and len(running) == 1:
        return Plan("none", desired_fp, unchanged=sorted(desired_routes), running=running)
    if not running:
        return Plan("start", desired_fp, added=sorted(desired_routes), running=running)
    plan = Plan("replace", desired_fp, running=running, previous_known=recorded is not None)
    before = recorded or {}
    for rid, info in desired_routes.items():
        if rid not in before:
            (plan.added if recorded is not None else plan.changed).append(rid)
        elif before[rid] != info:
            plan.changed.append(rid)
        else:
            plan.unchanged.append(rid)
    plan.removed = sorted(set(before) - set(desired_routes))
    for bucket in (plan.added, plan.changed, plan.unchanged):
        bucket.sort()
    return plan


def record_of(job: CompiledJob, fp: str, job_id: str) -> dict:
    return {"fingerprint": fp, "job_id": job_id, "routes": routes_of(job), "statements": list(job.statements),
            "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _as_dicts(running: list[RunningJob]) -> list[dict]:
    return [{"id": j.id, "name": j.name, "fingerprint": j.fingerprint} for j in running]


def plan_against_running(job: CompiledJob, jobs: RoutingJobs, store: RolloutStore) -> Plan:
    """The plan for `job` given what runs now and what we recorded about it."""
    running = jobs.running()
    record = store.load(running[0].fingerprint) if len(running) == 1 else None
    return make_plan(fingerprint(job), routes_of(job), _as_dicts(running), record["routes"] if record else None)


def apply(plan: Plan, job: CompiledJob, jobs: RoutingJobs, store: RolloutStore,
          environment: str | None = None) -> dict:
    """Carry out a plan. A rejected SQL leaves the old job running; any failure after the old job stopped — a
    PipelineError, any other exception, an interrupt — restores it (or names how to finish when even that
    fails). `environment` only goes into the command that message names."""
    if plan.action == "none":
        job_id = plan.running[0]["id"]
        if (store.load(CURRENT_KEY) or {}).get("job_id") != job_id:  # recorded by an older version, or healed
            store.save(CURRENT_KEY, {"fingerprint": plan.fingerprint, "job_id": job_id})
        return {"action": "none", "job_id": job_id}
    jobs.validate(job.statements)  # Flink's message on a rejection; nothing touched yet

    stopped: list[tuple[RunningJob, str]] = []
    job_id = None
    try:
        for old in plan.running:
            current = RunningJob(old["id"], old["name"], old["fingerprint"])
            stopped.append((current, jobs.stop(current)))
        # the new job continues from where the old one stopped reading
        resume_from = stopped[0][1] if len(stopped) == 1 else None
        job_id = jobs.start(job.statements, job_name(plan.fingerprint), resume_from=resume_from)
        jobs.wait_running(job_id)
    except BaseException as err:  # noqa: B036 — an interrupt after the stop must not leave no job running
        if job_id:
            try:
                jobs.cancel(job_id)  # never leave a crash-looping job behind
            except Exception:
                pass
        _fail_with_restore(err, stopped, jobs, store, environment)
    store.save(plan.fingerprint, record_of(job, plan.fingerprint, job_id))
    store.save(CURRENT_KEY, {"fingerprint": plan.fingerprint, "job_id": job_id})
    return {"action": plan.action, "job_id": job_id, "stopped": [o.id for o, _ in stopped],
            "savepoints": [t for _, t in stopped]}


def finish_command(environment: str | None) -> str:
    return "./run flow flink-rollout" + (f" --environment {environment}" if environment else "")


def _reason(err: BaseException) -> str:
    """One line for the error that stopped the switch: our own message, or the type and text of anything else."""
    if isinstance(err, PipelineError):
        return err.message
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _fail_with_restore(err: BaseException, stopped: list[tuple[RunningJob, str]], jobs: RoutingJobs,
                       store: RolloutStore, environment: str | None) -> None:
    """Always raises. An Exception becomes a FlinkError saying what became of the old job; an interrupt (any
    other BaseException) is re-raised as it is once the old job is restored."""
    interrupted = not isinstance(err, Exception)
    if not stopped:
        if interrupted:
            raise err
        raise FlinkError(f"the new job did not start ({_reason(err)}); "
                         "no previous job was running (or stopping it failed and it still runs)") from err
    old, token = stopped[0]
    try:
        record = store.load(old.fingerprint)
        restored = jobs.restore(old, token, record["statements"] if record else None)
    except BaseException as again:  # noqa: B036 — a second interrupt while restoring: still name the savepoint
        raise FlinkError(f"the new job did not start ({_reason(err)}) and restoring the previous job failed too "
                         f"({_reason(again)}); NO routing job is running",
                         fix=f"re-run `{finish_command(environment)}`; the previous job {old.name} can resume "
                             f"from {token}") from err
    if interrupted:
        raise err
    raise FlinkError(f"the new job did not start ({_reason(err)}); previous job restored as {restored}") from err
