"""Flink's open-source statement API: the SQL Gateway (REST v1) plus the JobManager's REST API.

The gateway is the local twin of Confluent Cloud's statements: a session holds the table DDL, a
statement set is submitted as one job, and Flink's own error text is what the user sees.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx

from pipeline.errors import FlinkError, TransientError


def _flink_message(resp: httpx.Response) -> str:
    """The root cause from a gateway error body: the last 'Caused by' line, or the first error line."""
    try:
        errors = resp.json().get("errors", [])
    except ValueError:
        return resp.text[:300]
    text = "\n".join(str(e) for e in errors)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.startswith("Caused by:")]
    best = causes[-1].removeprefix("Caused by:").strip() if causes else (lines[0] if lines else resp.reason_phrase)
    # Flink prefixes its messages with exception class names; the user needs the message
    best = re.sub(r"^(?:[a-z][\w$]*\.)+[A-Z][\w$]*: ", "", best)
    return " ".join(best.split())[:600]


@dataclass
class StatementResult:
    columns: list[str]
    rows: list[list]
    job_id: str | None


class SqlGateway:
    def __init__(self, url: str, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        self.session: str | None = None

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise TransientError(f"Flink SQL Gateway at {self.url} is unreachable ({type(err).__name__})",
                                 fix="start it (python -m stack up)") from None

    def reachable(self) -> bool:
        try:
            return self.http.get("/v1/info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def open(self, properties: dict[str, str] | None = None) -> "SqlGateway":
        resp = self._call("POST", "/v1/sessions", json={"properties": properties or {}})
        if resp.status_code != 200:
            raise FlinkError(f"SQL Gateway refused a session: {_flink_message(resp)}")
        self.session = resp.json()["sessionHandle"]
        return self

    def close(self) -> None:
        if self.session:
            self._call("DELETE", f"/v1/sessions/{self.session}")
            self.session = None

    def __enter__(self) -> "SqlGateway":
        return self.open() if self.session is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def execute(self, statement: str, timeout: float = 120.0) -> StatementResult:
        """Run one statement and fetch all its results; Flink's error becomes a FlinkError line."""
        assert self.session, "open() first"
        resp = self._call("POST", f"/v1/sessions/{self.session}/statements", json={"statement": statement})
        if resp.status_code != 200:
            raise FlinkError(f"Flink rejected the statement: {_flink_message(resp)}")
        op = resp.json()["operationHandle"]
        columns: list[str] = []
        rows: list[list] = []
        token: int | None = 0
        deadline = time.monotonic() + timeout
        while token is not None:
            resp = self._call("GET", f"/v1/sessions/{self.session}/operations/{op}/result/{token}",
                              params={"rowFormat": "JSON"})
            if resp.status_code != 200:
                raise FlinkError(f"Flink rejected the statement: {_flink_message(resp)}")
            body = resp.json()
            if body.get("resultType") == "NOT_READY":
                if time.monotonic() > deadline:
                    raise TransientError(f"Flink did not answer within {timeout:.0f}s")
                time.sleep(0.2)
                continue
            results = body.get("results", {})
            columns = columns or [c["name"] for c in results.get("columns", [])]
            rows += [r.get("fields", []) for r in results.get("data", [])]
            if body.get("resultType") == "EOS":
                break
            next_uri = body.get("nextResultUri")
            token = int(next_uri.rstrip("/").rsplit("/", 1)[-1].split("?")[0]) if next_uri else None
        return StatementResult(columns, rows, body.get("jobID"))


class FlinkRest:
    """The JobManager's REST API: jobs, stop-with-savepoint."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def _get(self, path: str) -> dict:
        try:
            resp = self.http.get(path)
        except httpx.TransportError as err:
            raise TransientError(f"Flink at {self.url} is unreachable ({type(err).__name__})") from None
        resp.raise_for_status()
        return resp.json()

    def jobs(self) -> list[dict]:
        return self._get("/jobs/overview")["jobs"]

    def running(self, name_prefix: str) -> list[dict]:
        return [j for j in self.jobs() if j["name"].startswith(name_prefix) and j["state"] in
                ("RUNNING", "CREATED", "INITIALIZING", "RESTARTING")]

    def job(self, job_id: str) -> dict:
        return self._get(f"/jobs/{job_id}")

    def exceptions(self, job_id: str) -> str | None:
        """The newest failure of a job as one line: its deepest 'Caused by', else its first line."""
        body = self._get(f"/jobs/{job_id}/exceptions")
        entries = (body.get("exceptionHistory") or {}).get("entries") or []
        if not entries:
            return None
        lines = [ln.strip() for ln in str(entries[0].get("stacktrace", "")).splitlines() if ln.strip()]
        causes = [ln.removeprefix("Caused by:").strip() for ln in lines if ln.startswith("Caused by:")]
        text = causes[-1] if causes else (lines[0] if lines else str(entries[0].get("exceptionName")))
        text = re.sub(r"^(?:[a-z][\w$]*\.)+(?=[A-Z][\w$]*: )", "", text)  # keep the class name, drop its package
        return " ".join(text.split())[:600]

    def cancel(self, job_id: str) -> None:
        try:
            self.http.patch(f"/jobs/{job_id}", params={"mode": "cancel"})
        except httpx.TransportError:
            pass

    def wait_state(self, job_id: str, states: set[str], timeout: float = 90.0, fail_states=("FAILED", "CANCELED")) -> dict:
        deadline = time.monotonic() + timeout
        last = {}
        while time.monotonic() < deadline:
            last = self.job(job_id)
            if last["state"] in states and (last["state"] != "RUNNING" or _all_tasks_running(last)):
                return last
            if last["state"] in fail_states:
                raise FlinkError(f"Flink job {job_id} is {last['state']}: {self.exceptions(job_id) or 'no exception recorded'}")
            if last["state"] == "RESTARTING":
                # a job that fails right after start keeps restarting; say why instead of waiting it out
                raise FlinkError(f"Flink job {job_id} failed after start and is restarting: "
                                 f"{self.exceptions(job_id) or 'no exception recorded'}")
            time.sleep(0.5)
        raise TransientError(f"Flink job {job_id} not {'/'.join(sorted(states))} after {timeout:.0f}s (state {last.get('state')})")

    def stop_with_savepoint(self, job_id: str, target: str, timeout: float = 120.0) -> str:
        """Stop the job atomically with a savepoint (offsets committed, sink transactions closed)."""
        try:
            resp = self.http.post(f"/jobs/{job_id}/stop", json={"targetDirectory": target, "drain": False})
        except httpx.TransportError as err:
            raise TransientError(f"Flink at {self.url} is unreachable ({type(err).__name__})") from None
        if resp.status_code >= 400:
            raise FlinkError(f"Flink refused to stop job {job_id}: {resp.text[:300]}")
        trigger = resp.json()["request-id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self._get(f"/jobs/{job_id}/savepoints/{trigger}")
            if body["status"]["id"] == "COMPLETED":
                op = body.get("operation", {})
                if "failure-cause" in op:
                    cause = op["failure-cause"].get("stack-trace", "").splitlines()[0:1]
                    raise FlinkError(f"stop-with-savepoint of job {job_id} failed: {' '.join(cause)}")
                return op["location"]
            time.sleep(0.5)
        raise TransientError(f"savepoint of job {job_id} not finished after {timeout:.0f}s")


def _all_tasks_running(job: dict) -> bool:
    return all(v.get("status") == "RUNNING" for v in job.get("vertices", []))
