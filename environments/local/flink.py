"""The `RoutingJobs` port on an open-source Flink cluster: the SQL Gateway (REST v1) and the JobManager REST.

The gateway is the local twin of Confluent Cloud's statements: a session holds the table DDL and a
statement set is submitted as one job, and Flink's own error text is what the user sees. Jobs switch by
stop-with-savepoint (SUPPORTS_SAVEPOINTS): the resume token is the savepoint's path.

Jobs are submitted as compiled plans whose node ids we make stable (`stable_plan`), so the Kafka source's
offsets in a savepoint map onto the new job's source even when routes were added or removed. (Starting
from the routing group's committed offsets instead re-reads up to one checkpoint of events: the offsets
of the final savepoint are not committed to Kafka before the old job ends — an integration test caught that.)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from environments.http import RestClient
from filters.compiler import UNPARSED_SUFFIX, LocalOptions
from pipeline.errors import FlinkError, TransientError
from pipeline.polling import poll_until
from pipeline.ports import RunningJob
from pipeline.rollout import JOB_NAME, fingerprint_of_name
from pipeline.traces import summarize_trace


def _flink_message(resp: httpx.Response) -> str:
    """The root cause from a gateway error body."""
    try:
        errors = resp.json().get("errors", [])
    except ValueError:
        return resp.text[:300]
    return summarize_trace("\n".join(str(e) for e in errors), keep_class=False) or resp.reason_phrase


class _Rest:
    """A local Flink REST API on the project's one transport. Flink answers a rejected statement with 500
    and its trace, so only 502/503/504 (and unreachable) count as transient here."""

    def __init__(self, url: str, service: str, timeout: float):
        self.url = url.rstrip("/")
        self.service = service
        self.rest = RestClient(self.url, service=service, timeout=timeout, server_errors_transient=False)

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.rest.request(method, path, **kwargs)

    def close(self) -> None:
        self.rest.close()


@dataclass
class StatementResult:
    columns: list[str]
    rows: list[list]
    job_id: str | None


class SqlGateway(_Rest):
    def __init__(self, url: str, timeout: float = 60.0):
        super().__init__(url, "Flink SQL Gateway", timeout)
        self.session: str | None = None

    def open(self, properties: dict[str, str] | None = None) -> SqlGateway:
        resp = self.call("POST", "/v1/sessions", json={"properties": properties or {}})
        if resp.status_code != 200:
            raise FlinkError(f"SQL Gateway refused a session: {_flink_message(resp)}")
        self.session = resp.json()["sessionHandle"]
        return self

    def close(self) -> None:
        if self.session:
            try:
                self.call("DELETE", f"/v1/sessions/{self.session}")
            finally:
                self.session = None
        super().close()

    def __enter__(self) -> SqlGateway:
        return self.open() if self.session is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def execute(self, statement: str, timeout: float = 120.0) -> StatementResult:
        """Run one statement and fetch all its results; Flink's error becomes a FlinkError line."""
        if not self.session:
            self.open()
        resp = self.call("POST", f"/v1/sessions/{self.session}/statements", json={"statement": statement})
        if resp.status_code != 200:
            raise FlinkError(f"Flink rejected the statement: {_flink_message(resp)}")
        op = resp.json()["operationHandle"]
        columns: list[str] = []
        rows: list[list] = []
        state = {"token": 0, "body": {}}

        def fetched_all() -> bool:
            r = self.call("GET", f"/v1/sessions/{self.session}/operations/{op}/result/{state['token']}",
                          params={"rowFormat": "JSON"})
            if r.status_code != 200:
                raise FlinkError(f"Flink rejected the statement: {_flink_message(r)}")
            body = state["body"] = r.json()
            if body.get("resultType") == "NOT_READY":
                return False
            results = body.get("results", {})
            columns[:] = columns or [c["name"] for c in results.get("columns", [])]
            rows.extend(rec.get("fields", []) for rec in results.get("data", []))
            next_uri = body.get("nextResultUri")
            if body.get("resultType") == "EOS" or not next_uri:
                return True
            state["token"] = int(next_uri.rstrip("/").rsplit("/", 1)[-1].split("?")[0])
            return False

        poll_until(fetched_all, timeout=timeout, every=0.2, what="Flink's answer to a statement")
        return StatementResult(columns, rows, state["body"].get("jobID"))


class FlinkRest(_Rest):
    """The JobManager's REST API: jobs, exceptions, cancel, stop-with-savepoint."""

    def __init__(self, url: str, timeout: float = 30.0):
        super().__init__(url, "Flink", timeout)

    def _get(self, path: str) -> dict:
        resp = self.call("GET", path)
        if resp.status_code >= 400:
            raise FlinkError(f"Flink answered {resp.status_code} on GET {path}: {_flink_message(resp)}")
        return resp.json()

    def jobs(self) -> list[dict]:
        return self._get("/jobs/overview")["jobs"]

    def running(self, name_prefix: str) -> list[dict]:
        return [j for j in self.jobs() if j["name"].startswith(name_prefix) and j["state"] in
                ("RUNNING", "CREATED", "INITIALIZING", "RESTARTING")]

    def job(self, job_id: str) -> dict:
        return self._get(f"/jobs/{job_id}")

    def checkpoint_config(self, job_id: str) -> dict:
        """The job's checkpointing settings (`interval` in ms, `mode`, ...)."""
        return self._get(f"/jobs/{job_id}/checkpoints/config")

    def exceptions(self, job_id: str) -> str | None:
        """The newest failure of a job as one line (class name kept, package dropped)."""
        entries = (self._get(f"/jobs/{job_id}/exceptions").get("exceptionHistory") or {}).get("entries") or []
        if not entries:
            return None
        return summarize_trace(str(entries[0].get("stacktrace", ""))) or str(entries[0].get("exceptionName"))

    def cancel(self, job_id: str) -> None:
        resp = self.call("PATCH", f"/jobs/{job_id}", params={"mode": "cancel"})
        if resp.status_code >= 400 and resp.status_code != 404:
            raise FlinkError(f"Flink refused to cancel job {job_id}: {_flink_message(resp)}")

    def wait_state(self, job_id: str, states: set[str], timeout: float = 90.0,
                   fail_states=("FAILED", "CANCELED")) -> dict:
        last: dict = {}

        def reached() -> dict | None:
            last.update(self.job(job_id))
            if last["state"] in states and (last["state"] != "RUNNING" or _all_tasks_running(last)):
                return dict(last)
            if last["state"] in fail_states:
                raise FlinkError(f"Flink job {job_id} is {last['state']}: {self.exceptions(job_id) or 'no exception recorded'}")
            if last["state"] == "RESTARTING":
                # a job that fails right after start keeps restarting; say why instead of waiting it out
                raise FlinkError(f"Flink job {job_id} failed after start and is restarting: "
                                 f"{self.exceptions(job_id) or 'no exception recorded'}")
            return None

        return poll_until(reached, timeout=timeout, what=f"Flink job {job_id} {'/'.join(sorted(states))}",
                          last=lambda: f"state {last.get('state')}")

    def stop_with_savepoint(self, job_id: str, target: str, timeout: float = 120.0) -> str:
        """Stop the job atomically with a savepoint (offsets committed, sink transactions closed)."""
        resp = self.call("POST", f"/jobs/{job_id}/stop", json={"targetDirectory": target, "drain": False})
        if resp.status_code >= 400:
            raise FlinkError(f"Flink refused to stop job {job_id}: {_flink_message(resp)}")
        trigger = resp.json()["request-id"]

        def done() -> str | None:
            body = self._get(f"/jobs/{job_id}/savepoints/{trigger}")
            if body["status"]["id"] != "COMPLETED":
                return None
            op = body.get("operation", {})
            if "failure-cause" in op:
                cause = summarize_trace(op["failure-cause"].get("stack-trace", "")) or "no cause given"
                raise FlinkError(f"stop-with-savepoint of job {job_id} failed: {cause}")
            return op["location"]

        return poll_until(done, timeout=timeout, what=f"savepoint of job {job_id}")


def _all_tasks_running(job: dict) -> bool:
    return all(v.get("status") == "RUNNING" for v in job.get("vertices", []))


def as_explainable(statement_set: str) -> str:
    text = statement_set.strip()
    return text.replace("EXECUTE STATEMENT SET", "STATEMENT SET", 1) if text.startswith("EXECUTE STATEMENT SET") else text


def stable_plan(plan: dict) -> dict:
    """Give a compiled plan's nodes ids that do not depend on what else the gateway compiled before.

    Flink numbers plan nodes from a JVM-wide counter, and with compiled plans the operator uids (and so
    the state a savepoint maps to) are derived from those numbers. We renumber: the scan of the raw topic
    as JSON gets 1, and each sink's nodes get ids derived from the sink table's name (and, for a table two
    INSERTs write, the INSERT's place among them), so a savepoint restores the source's Kafka offsets
    exactly, and each route's state to the same route, whatever routes are added or removed around it. The
    dead letters' second scan of the raw topic (as bytes) is numbered with the sink it feeds.
    """
    nodes = {n["id"]: n for n in plan["nodes"]}
    inputs: dict[int, list[int]] = {}
    for edge in plan["edges"]:
        inputs.setdefault(edge["target"], []).append(edge["source"])
    sources = [i for i, n in nodes.items() if n["type"].startswith("stream-exec-table-source-scan")
               and not _scanned_table(n).endswith(UNPARSED_SUFFIX + "`")]
    if len(sources) != 1:
        raise FlinkError(f"expected one scan of the raw topic as JSON in the compiled plan, found {len(sources)}")
    mapping = {sources[0]: 1}
    depth = 0
    seen_tables: dict[str, int] = {}
    for node_id, node in nodes.items():
        if not node["type"].startswith("stream-exec-sink"):
            continue
        table = json.dumps(node.get("dynamicTableSink", {}).get("table", {}).get("identifier", node_id))
        seen_tables[table] = seen_tables.get(table, 0) + 1
        if seen_tables[table] > 1:  # the second INSERT into the same table (the dead-letter topic)
            table += f"#{seen_tables[table]}"
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


def _scanned_table(node: dict) -> str:
    return str(node.get("scanTableSource", {}).get("table", {}).get("identifier", ""))


class LocalFlinkJobs:
    """RoutingJobs on the local cluster: compiled plans with stable ids, stop-with-savepoint switches."""

    SUPPORTS_SAVEPOINTS = True
    DIALECT = "local"

    def __init__(self, gateway_url: str, rest_url: str, work_dir: Path, bootstrap_servers: str,
                 delivery_guarantee: str = "exactly-once", source_isolation_level: str = "read_committed"):
        self.gateway_url = gateway_url
        self.rest = FlinkRest(rest_url)
        self.plans = work_dir / "plans"
        self.savepoint_dir = f"file://{work_dir / 'savepoints'}"
        self.bootstrap_servers = bootstrap_servers
        self.delivery_guarantee = delivery_guarantee
        self.source_isolation_level = source_isolation_level

    def compile_options(self) -> dict:
        # exactly-once sinks: with stop-with-savepoint this is what makes a job switch lose and duplicate nothing
        return {"local": LocalOptions(bootstrap_servers=self.bootstrap_servers,
                                      delivery_guarantee=self.delivery_guarantee,
                                      source_isolation_level=self.source_isolation_level)}

    def close(self) -> None:
        self.rest.close()

    def running(self) -> list[RunningJob]:
        return [RunningJob(j["jid"], j["name"], fingerprint_of_name(j["name"])) for j in self.rest.running(JOB_NAME)]

    def validate(self, statements: Sequence[str]) -> None:
        """Have Flink parse and plan the statements in a throwaway session; nothing is started."""
        with SqlGateway(self.gateway_url) as gw:
            for ddl in statements[:-1]:
                gw.execute(ddl)
            gw.execute("EXPLAIN " + as_explainable(statements[-1]))

    def start(self, statements: Sequence[str], name: str, resume_from: str | None = None) -> str:
        """Compile DDL + statement set to a plan with stable node ids and execute it as one named job.

        With `resume_from` (a savepoint), the job starts from it; state that no longer has an operator is
        skipped (e.g. the sink of a removed route).
        """
        self.plans.mkdir(parents=True, exist_ok=True)
        raw_plan = self.plans / f"{name}.{uuid.uuid4().hex[:8]}.compiled.json"
        final_plan = self.plans / f"{name}.json"
        with SqlGateway(self.gateway_url) as gw:
            gw.execute(f"SET 'pipeline.name' = '{name}'")
            if resume_from:
                gw.execute(f"SET 'execution.state-recovery.path' = '{resume_from}'")
                gw.execute("SET 'execution.state-recovery.ignore-unclaimed-state' = 'true'")
            for ddl in statements[:-1]:
                gw.execute(ddl)
            gw.execute(f"COMPILE PLAN 'file://{raw_plan}' FOR {as_explainable(statements[-1])}")
            final_plan.write_text(json.dumps(stable_plan(json.loads(raw_plan.read_text())), indent=1))
            raw_plan.unlink()
            result = gw.execute(f"EXECUTE PLAN 'file://{final_plan}'")
        job_id = result.job_id or (result.rows[0][0] if result.rows else None)
        if not job_id:
            raise FlinkError(f"Flink accepted the plan but returned no job id (columns {result.columns})")
        return job_id

    def wait_running(self, job_id: str, timeout: float = 90.0) -> None:
        self.rest.wait_state(job_id, {"RUNNING"}, timeout=timeout)

    def wait_finished(self, job_id: str, timeout: float = 300.0) -> None:
        self.rest.wait_state(job_id, {"FINISHED"}, timeout=timeout)

    def stop(self, job: RunningJob) -> str:
        return self.rest.stop_with_savepoint(job.id, self.savepoint_dir)

    def restore(self, job: RunningJob, token: str, statements: Sequence[str] | None) -> str:
        if statements is None:  # a savepoint alone cannot be run: the job's SQL is needed
            raise FlinkError(f"the statements of {job.name} are not on record")
        job_id = self.start(statements, job.name, resume_from=token)
        self.wait_running(job_id)
        return job_id

    def cancel(self, job_id: str) -> None:
        self.rest.cancel(job_id)

    def exceptions(self, job_id: str) -> str | None:
        return self.rest.exceptions(job_id)
