"""Flink statement rollout for the local environment: plan (pure) and apply (SQL Gateway + REST).

What runs is identified by the job name `business-events-routing@<fingerprint>`, the fingerprint being a
hash of the submitted statements; a record per fingerprint under the state folder keeps its routes and
statements, so a plan can say which routes were added, removed or changed, and a failed switch can be
rolled back to the previous job.

A switch loses and duplicates nothing: the new SQL is first validated by Flink (DDL + EXPLAIN) while the
old job keeps running; then the old job is stopped with a savepoint (its exactly-once sink transactions
are committed at that point) and the new job starts from that savepoint. Jobs are submitted as compiled
plans whose node ids we make stable (`stable_plan`), so the Kafka source's offsets in the savepoint map
onto the new job's source even when routes were added or removed. (Starting from the routing group's
committed offsets instead re-reads up to one checkpoint of events: the offsets of the final savepoint
are not committed to Kafka before the old job ends — the integration test caught exactly that.)
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from filters.compiler import CompiledJob
from pipeline.errors import FlinkError
from pipeline.flink_gateway import FlinkRest, SqlGateway

JOB_NAME = "business-events-routing"


def fingerprint(job: CompiledJob) -> str:
    return hashlib.sha256("\n;\n".join(job.statements).encode()).hexdigest()[:12]


def job_name(fp: str) -> str:
    return f"{JOB_NAME}@{fp}"


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


class Deployments:
    """Record of every job we submitted: fingerprint -> routes and statements (for plans and rollback)."""

    def __init__(self, folder: Path):
        self.folder = folder

    @property
    def plans(self) -> Path:
        return self.folder / "plans"

    def save(self, fp: str, job: CompiledJob, job_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{fp}.json").write_text(json.dumps(
            {"fingerprint": fp, "job_id": job_id, "routes": routes_of(job), "statements": list(job.statements),
             "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))

    def load(self, fp: str) -> dict | None:
        path = self.folder / f"{fp}.json"
        return json.loads(path.read_text()) if path.exists() else None


def running_jobs(rest: FlinkRest) -> list[dict]:
    return [{"id": j["jid"], "name": j["name"], "fingerprint": j["name"].split("@", 1)[1] if "@" in j["name"] else ""}
            for j in rest.running(JOB_NAME)]


def plan_against_running(job: CompiledJob, rest: FlinkRest, deployments: Deployments) -> Plan:
    """The plan for `job` given what Flink runs now and what we recorded about it."""
    running = running_jobs(rest)
    record = deployments.load(running[0]["fingerprint"]) if len(running) == 1 else None
    return make_plan(fingerprint(job), routes_of(job), running, record["routes"] if record else None)


def validate(gateway_url: str, statements: tuple[str, ...]) -> None:
    """Have Flink parse and plan the statements in a throwaway session; nothing is started."""
    with SqlGateway(gateway_url) as gw:
        for ddl in statements[:-1]:
            gw.execute(ddl)
        gw.execute("EXPLAIN " + _as_explainable(statements[-1]))


def _as_explainable(statement_set: str) -> str:
    text = statement_set.strip()
    return text.replace("EXECUTE STATEMENT SET", "STATEMENT SET", 1) if text.startswith("EXECUTE STATEMENT SET") else text


def stable_plan(plan: dict) -> dict:
    """Give a compiled plan's nodes ids that do not depend on what else the gateway compiled before.

    Flink numbers plan nodes from a JVM-wide counter, and with compiled plans the operator uids (and so
    the state a savepoint maps to) are derived from those numbers. We renumber: the source scan gets 1,
    and each route's nodes get ids derived from the route's sink table name, so a savepoint restores the
    source's Kafka offsets exactly, and each route's sink state to the same route, whatever routes are
    added or removed around it.
    """
    nodes = {n["id"]: n for n in plan["nodes"]}
    inputs: dict[int, list[int]] = {}
    for edge in plan["edges"]:
        inputs.setdefault(edge["target"], []).append(edge["source"])
    sources = [i for i, n in nodes.items() if n["type"].startswith("stream-exec-table-source-scan")]
    if len(sources) != 1:
        raise FlinkError(f"expected one source scan in the compiled plan, found {len(sources)}")
    mapping = {sources[0]: 1}
    for node_id, node in nodes.items():
        if not node["type"].startswith("stream-exec-sink"):
            continue
        table = json.dumps(node.get("dynamicTableSink", {}).get("table", {}).get("identifier", node_id))
        base = (int(hashlib.sha256(table.encode()).hexdigest()[:6], 16) + 1) * 64
        depth, frontier = 0, [node_id]
        while frontier:
            nxt = []
            for current in frontier:
                if current in mapping:
                    continue
                mapping[current] = base + depth
                depth += 1
                nxt += inputs.get(current, [])
            frontier = nxt
    missing = set(nodes) - set(mapping)
    if missing or len(set(mapping.values())) != len(mapping) or depth > 64:
        raise FlinkError("could not give the compiled plan stable node ids (unexpected plan shape)")
    out = dict(plan)
    out["nodes"] = [{**n, "id": mapping[n["id"]]} for n in plan["nodes"]]
    out["edges"] = [{**e, "source": mapping[e["source"]], "target": mapping[e["target"]]} for e in plan["edges"]]
    return out


def submit(gateway_url: str, statements: list[str] | tuple[str, ...], name: str, plan_dir: Path,
           savepoint: str | None = None) -> str:
    """Compile DDL + statement set to a plan with stable node ids and execute it as one named job.

    Returns the Flink job id. With `savepoint`, the job starts from it (state that no longer has an
    operator is skipped, e.g. the sink of a removed route).
    """
    plan_dir.mkdir(parents=True, exist_ok=True)
    raw_plan = plan_dir / f"{name.replace('@', '-')}.{uuid.uuid4().hex[:8]}.compiled.json"
    final_plan = plan_dir / f"{name.replace('@', '-')}.json"
    with SqlGateway(gateway_url) as gw:
        gw.execute(f"SET 'pipeline.name' = '{name}'")
        if savepoint:
            gw.execute(f"SET 'execution.state-recovery.path' = '{savepoint}'")
            gw.execute("SET 'execution.state-recovery.ignore-unclaimed-state' = 'true'")
        for ddl in statements[:-1]:
            gw.execute(ddl)
        gw.execute(f"COMPILE PLAN 'file://{raw_plan}' FOR {_as_explainable(statements[-1])}")
        final_plan.write_text(json.dumps(stable_plan(json.loads(raw_plan.read_text())), indent=1))
        raw_plan.unlink()
        result = gw.execute(f"EXECUTE PLAN 'file://{final_plan}'")
    job_id = result.job_id or (result.rows[0][0] if result.rows else None)
    if not job_id:
        raise FlinkError(f"Flink accepted the plan but returned no job id (columns {result.columns})")
    return job_id


def apply(plan: Plan, job: CompiledJob, *, gateway_url: str, rest: FlinkRest, deployments: Deployments,
          savepoint_dir: str) -> dict:
    """Carry out a plan. On a rejected SQL the old job keeps running; on a failed start it is restored."""
    if plan.action == "none":
        return {"action": "none", "job_id": plan.running[0]["id"]}
    validate(gateway_url, job.statements)  # raises FlinkError with Flink's message; nothing touched yet

    savepoints: list[tuple[dict, str]] = []
    for old in plan.running:
        savepoints.append((old, rest.stop_with_savepoint(old["id"], savepoint_dir)))
    job_id = None
    try:
        # the new job continues from the old job's savepoint: the source resumes at exactly the offsets
        # the old job had read (its committed group offsets may lag behind by one checkpoint)
        resume_from = savepoints[0][1] if len(savepoints) == 1 else None
        job_id = submit(gateway_url, job.statements, job_name(plan.fingerprint), deployments.plans,
                        savepoint=resume_from)
        rest.wait_state(job_id, {"RUNNING"})
    except FlinkError as err:
        if job_id:
            rest.cancel(job_id)  # never leave a crash-looping job behind
        try:
            restored = _restore(savepoints, gateway_url, rest, deployments)
        except FlinkError as again:
            raise FlinkError(f"the new job did not start ({err.message}) and restoring the previous job failed too "
                             f"({again.message}); NO routing job is running",
                             fix=f"re-run flink-rollout; the previous job's savepoint is {savepoints[0][1]}") from None
        raise FlinkError(f"the new job did not start ({err.message}); "
                         + (f"previous job restored from its savepoint as {restored}" if restored
                            else "no previous job to restore")) from None
    deployments.save(plan.fingerprint, job, job_id)
    return {"action": plan.action, "job_id": job_id, "stopped": [o["id"] for o, _ in savepoints],
            "savepoints": [s for _, s in savepoints]}


def _restore(savepoints: list[tuple[dict, str]], gateway_url: str, rest: FlinkRest, deployments: Deployments) -> str | None:
    for old, location in savepoints:
        record = deployments.load(old["fingerprint"])
        if record:
            job_id = submit(gateway_url, record["statements"], old["name"], deployments.plans, savepoint=location)
            rest.wait_state(job_id, {"RUNNING"})
            return job_id
    return None
