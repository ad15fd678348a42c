"""The `RoutingJobs` port on Confluent Cloud Flink statements (sql/v1).

Base URL `https://flink.{region}.{cloud}.confluent.cloud/sql/v1/organizations/{org}/environments/{env}`,
HTTP Basic with a (region-specific) Flink API key. The gateway may redirect to another host; the client
puts Authorization back on such https hops as Confluent's CLI does (see environments/http.py).

How the routing job maps onto statements:

- A job is one statement named `business-events-routing-<fingerprint>` (`statement_name`) running the
  `EXECUTE STATEMENT SET`. Each DDL before it runs first as its own statement, named `ddl-<hash of its
  text>` (outside the job prefix, so never mistaken for a job), waited to COMPLETED and then deleted. A
  DDL statement of that name left over by an interrupted run is joined while it still runs, otherwise
  deleted and run again (the DDL is `CREATE TABLE IF NOT EXISTS`: running it twice is harmless).
- SQL is immutable, so a switch is: stop the old statement (`PUT` with `spec.stopped=true` and the
  current `metadata.resource_version`; a 409 means someone changed it since our GET: read again, reapply,
  retry, a bounded number of times), then create the new statement with
  `sql.tables.initial-offset-from = <old statement name>`, which carries the old one's read offsets over
  (stateless statements only — the routing job is stateless). The resume token is the old name.
- With carry-over, PENDING counts as started (Terraform: the new statement waits for the old one to stop);
  without it PENDING is pending and RUNNING/COMPLETED is started; FAILED/FAILING fail with `status.detail`.
- `restore` resumes the stopped statement in place (`spec.stopped=false`, same 409 handling).
- `cancel` STOPS a statement rather than deleting it: a stopped statement costs nothing (billing is per
  CFU-minute of running statements), keeps its exceptions and offsets for diagnosis for 30 days, and can
  still be resumed or used as an offset source; `start` deletes a terminal statement that holds the name
  it needs, so the name is not lost.
- `validate` runs the DDL for real (idempotent `CREATE TABLE IF NOT EXISTS`: output topics may exist
  before the switch, which harms nothing and is what lets the statement set resolve its tables), then
  submits the statement set with `sql.dry-run = true` under a throwaway name and deletes it afterwards.

Names must match `[a-z0-9-]` and be at most 72 characters (the documented limit; the spec allows 100).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, quote, urlsplit

from pydantic import SecretStr

from environments.http import RestClient, one_line, summarise
from pipeline.errors import ConfigError, FlinkError, TransientError
from pipeline.polling import poll_until
from pipeline.ports import RunningJob

JOB_PREFIX = "business-events-routing-"
NAME_MAX = 72
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CARRY_OVER = "sql.tables.initial-offset-from"
LIVE_PHASES = ("RUNNING", "PENDING", "DEGRADED")
FAILED_PHASES = ("FAILED", "FAILING")
TERMINAL_PHASES = ("STOPPED", "FAILED", "COMPLETED")
PAGE_SIZE = 100
MAX_PAGES = 1000


def check_statement_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > NAME_MAX:
        raise ConfigError(f"{name!r} is not a valid Confluent Flink statement name",
                          fix=f"use lowercase letters, digits and '-' only (not at either end), "
                              f"at most {NAME_MAX} characters")
    return name


def statement_name(prefix: str, fingerprint: str) -> str:
    """The routing job's statement name: `<prefix><fingerprint>`, validated."""
    return check_statement_name(f"{prefix}{fingerprint}")


def _fit(head: str, base: str) -> str:
    """`head + base`, shortened with a hash of `base` when it would exceed the name limit."""
    name = head + base
    if len(name) <= NAME_MAX:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{head}{base[: NAME_MAX - len(head) - 9].rstrip('-')}-{digest}"


def next_page_token(next_url: str | None) -> str | None:
    """The `page_token` in the query string of `metadata.next` (as the Confluent CLI reads it)."""
    if not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("page_token")
    return values[0] if values and values[0] else None


class ConfluentStatements:
    """Routing jobs as Confluent Cloud Flink statements in one environment (and compute pool)."""

    SUPPORTS_SAVEPOINTS = False
    DIALECT = "confluent"

    def __init__(self, *, organization_id: str, environment_id: str, api_key: str, api_secret: SecretStr,
                 catalog: str, database: str, region: str | None = None, cloud: str | None = None,
                 endpoint: str | None = None, compute_pool_id: str | None = None, principal: str | None = None,
                 key_variable: str = "CDC_FLINK_API_KEY", name_prefix: str = JOB_PREFIX, buckets: int = 6,
                 properties: dict[str, str] | None = None, timeout: float = 30.0, transport=None,
                 poll_every: float = 5.0, start_timeout: float = 900.0, conflict_retries: int = 5,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 token: Callable[[], str] = lambda: secrets.token_hex(4)):
        if endpoint is None:
            if not (region and cloud):
                raise ConfigError("the Confluent Flink endpoint needs a region and a cloud",
                                  fix="set CDC_FLINK_REGION and CDC_FLINK_CLOUD (or CDC_FLINK_URL)")
            endpoint = f"https://flink.{region}.{cloud.lower()}.confluent.cloud"
        self.organization_id = organization_id
        self.environment_id = environment_id
        self.http = RestClient(
            f"{endpoint.rstrip('/')}/sql/v1/organizations/{quote(organization_id, safe='')}"
            f"/environments/{quote(environment_id, safe='')}",
            service="Confluent Cloud Flink SQL API", auth=(api_key, api_secret), key_variable=key_variable,
            credential="Flink API key", timeout=timeout, transport=transport, reauth_on_redirect=True,
            sleep=sleep)
        self.catalog = catalog
        self.database = database
        self.compute_pool_id = compute_pool_id
        self.principal = principal
        self.prefix = name_prefix
        self.buckets = buckets
        self.properties = dict(properties or {})
        self.poll_every = poll_every
        self.start_timeout = start_timeout
        self.conflict_retries = conflict_retries
        self.sleep = sleep
        self.clock = clock
        self.token = token

    def close(self) -> None:
        self.http.close()

    def compile_options(self) -> dict:
        from filters.compiler import ConfluentOptions

        return {"confluent": ConfluentOptions(buckets=self.buckets)}

    # --- the port ----------------------------------------------------------------------------------------

    def running(self) -> list[RunningJob]:
        """Routing-job statements that run (RUNNING, PENDING or DEGRADED), over every page of the list."""
        jobs = []
        for stmt in self.list_statements():
            name = stmt.get("name") or ""
            if name.startswith(self.prefix) and _phase(stmt) in LIVE_PHASES:
                jobs.append(RunningJob(name, name, name[len(self.prefix):]))
        return jobs

    def validate(self, statements: Sequence[str]) -> None:
        """DDL for real (idempotent), then the statement set as a dry run; Flink's message on a rejection."""
        ddl, main = _split(statements)
        for text in ddl:
            self._run_ddl(text)
        name = _fit(f"dry-run-{self.token()}-", _digest(main))
        created = self._create(name, main, {**self._properties(), "sql.dry-run": "true"})
        if created is None:
            raise FlinkError(f"a statement named {name} already exists", fix="run the validation again")
        try:
            self._wait(name, done=("COMPLETED", "RUNNING", "STOPPED"), pending=("PENDING",),
                       timeout=self.start_timeout, what="the routing statement's dry run",
                       failure="Confluent Flink rejected the routing statement")
        finally:
            self._delete_quietly(name)

    def start(self, statements: Sequence[str], name: str, resume_from: str | None = None) -> str:
        """Run the DDL, then create the statement set as `name` (carrying `resume_from`'s offsets over)."""
        check_statement_name(name)
        if resume_from is not None:
            check_statement_name(resume_from)
            if resume_from == name:
                raise ConfigError(f"statement {name} cannot carry offsets over from itself",
                                  fix="resume it with restore() instead")
        ddl, main = _split(statements)
        for text in ddl:
            self._run_ddl(text)
        properties = self._properties()
        if resume_from:
            properties[CARRY_OVER] = resume_from
        if self._create(name, main, properties) is None:  # the name is taken
            existing = self._get(name)
            if existing is not None and _phase(existing) in LIVE_PHASES and _sql(existing) == main:
                pass  # our own statement from an interrupted run: wait for it below
            elif existing is not None and _phase(existing) in LIVE_PHASES:
                raise FlinkError(f"statement {name} already runs different SQL",
                                 fix=f"stop or delete {name}, then roll out again")
            else:
                self.delete(name)
                if self._create(name, main, properties) is None:
                    raise TransientError(f"statement {name} was re-created by someone else meanwhile")
        done = ("RUNNING", "COMPLETED") + (("PENDING",) if resume_from else ())
        self._wait(name, done=done, pending=() if resume_from else ("PENDING",), timeout=self.start_timeout,
                   what=f"statement {name} started")
        return name

    def wait_running(self, job_id: str, timeout: float = 90.0) -> None:
        self._wait(job_id, done=("RUNNING",), pending=("PENDING", "DEGRADED"), timeout=timeout,
                   what=f"statement {job_id} RUNNING")

    def stop(self, job: RunningJob) -> str:
        """Stop the statement and wait for STOPPED; the resume token is its name."""
        name = job.id
        stmt = self._require(name)
        phase = _phase(stmt)
        if phase in FAILED_PHASES:
            raise FlinkError(f"statement {name} is {phase} and cannot hand its offsets over: "
                             f"{self._failure_text(name, stmt)}",
                             fix=f"delete {name}; the next rollout then starts from the tables' startup mode")
        if phase in ("STOPPED", "COMPLETED"):
            return name
        self._set_stopped(name, True)
        self._wait(name, done=("STOPPED",), pending=("PENDING", "RUNNING", "DEGRADED", "STOPPING"),
                   timeout=self.start_timeout, what=f"statement {name} STOPPED")
        return name

    def restore(self, job: RunningJob, token: str, statements: Sequence[str] | None = None) -> str:
        """Resume the stopped statement `token` in place (its SQL is immutable: `statements` is not needed)."""
        name = token or job.id
        stmt = self._get(name)
        if stmt is None:
            raise FlinkError(f"statement {name} no longer exists and cannot be resumed",
                             fix="roll out again; the new statement starts from the tables' startup mode")
        if _phase(stmt) != "RUNNING":
            self._set_stopped(name, False)
            self._wait(name, done=("RUNNING",), pending=("PENDING", "STOPPED", "STOPPING", "DEGRADED"),
                       timeout=self.start_timeout, what=f"statement {name} resumed")
        return name

    def cancel(self, job_id: str) -> None:
        """Stop a statement that should not run (see the module docstring for why stop, not delete)."""
        stmt = self._get(job_id)
        if stmt is None or _phase(stmt) in TERMINAL_PHASES:
            return
        self._set_stopped(job_id, True)
        self._wait(job_id, done=TERMINAL_PHASES, pending=("PENDING", "RUNNING", "DEGRADED", "STOPPING", "FAILING"),
                   timeout=self.start_timeout, what=f"statement {job_id} stopped", fail_on_failed=False)

    def exceptions(self, job_id: str) -> str | None:
        """The newest of the statement's exceptions as one line, or None."""
        resp = self.http.get(f"/statements/{_seg(job_id)}/exceptions")
        if resp.status_code == 404:
            return None
        self.http.expect(resp, (200,), FlinkError, f"Confluent Flink could not list the exceptions of {job_id}")
        data = self.http.json(resp, FlinkError, f"listing the exceptions of {job_id}").get("data") or []
        if not data:
            return None
        newest = max(data, key=lambda e: str(e.get("timestamp") or ""))
        text = newest.get("message") or newest.get("name")
        return self.http.scrub(one_line(summarise(str(text)))) if text else None

    # --- more than the port ------------------------------------------------------------------------------

    def delete(self, name: str) -> bool:
        """`DELETE` (202), then wait until the statement is gone; False when there was none."""
        resp = self.http.delete(f"/statements/{_seg(name)}")
        if resp.status_code == 404:
            return False
        self.http.expect(resp, (200, 202, 204), FlinkError, f"Confluent Flink did not delete statement {name}")
        poll_until(lambda: self._get(name) is None, timeout=self.start_timeout, every=self.poll_every,
                   what=f"statement {name} deleted", sleep=self.sleep, clock=self.clock)
        return True

    def statement(self, name: str) -> dict | None:
        """The statement as the API returns it, or None."""
        return self._get(name)

    def list_statements(self) -> list[dict]:
        """Every statement of the environment, following `metadata.next` page tokens."""
        found: list[dict] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = {"page_size": PAGE_SIZE, **({"page_token": token} if token else {})}
            resp = self.http.get("/statements", params=params)
            self.http.expect(resp, (200,), FlinkError, "Confluent Flink could not list statements")
            body = self.http.json(resp, FlinkError, "listing statements")
            found.extend(body.get("data") or [])
            token = next_page_token((body.get("metadata") or {}).get("next"))
            if token is None:
                return found
            if token in seen:
                raise FlinkError(f"the statement list repeats page token {token!r}")
            seen.add(token)
        raise FlinkError(f"the statement list has more than {MAX_PAGES} pages")

    # --- internals ---------------------------------------------------------------------------------------

    def _properties(self) -> dict[str, str]:
        return {**self.properties, "sql.current-catalog": self.catalog, "sql.current-database": self.database}

    def _get(self, name: str) -> dict | None:
        resp = self.http.get(f"/statements/{_seg(name)}")
        if resp.status_code == 404:
            return None
        self.http.expect(resp, (200,), FlinkError, f"Confluent Flink could not read statement {name}")
        return self.http.json(resp, FlinkError, f"reading statement {name}")

    def _require(self, name: str) -> dict:
        stmt = self._get(name)
        if stmt is None:
            raise FlinkError(f"there is no statement {name} in environment {self.environment_id}")
        return stmt

    def _create(self, name: str, sql: str, properties: dict[str, str]) -> dict | None:
        """POST /statements; None when the name is taken (409)."""
        check_statement_name(name)
        spec: dict = {"statement": sql, "properties": properties, "stopped": False}
        if self.compute_pool_id:
            spec["compute_pool_id"] = self.compute_pool_id
        if self.principal:
            spec["principal"] = self.principal
        resp = self.http.post("/statements", json={"name": name, "organization_id": self.organization_id,
                                                   "environment_id": self.environment_id, "spec": spec})
        if resp.status_code == 409:
            return None
        self.http.expect(resp, (200, 201, 202), FlinkError, f"Confluent Flink rejected statement {name}")
        return self.http.json(resp, FlinkError, f"creating statement {name}") if resp.content else {}

    def _run_ddl(self, sql: str) -> None:
        """One DDL statement, named after its text, waited to COMPLETED, then deleted."""
        name = f"ddl-{_digest(sql)}"
        if self._create(name, sql, self._properties()) is None:
            # left over by an interrupted run: join it while it runs, else run it again (DDL is idempotent)
            existing = self._get(name)
            in_progress = existing is not None and _sql(existing) == sql and _phase(existing) in ("PENDING", "RUNNING")
            if not in_progress:
                if existing is not None:
                    self.delete(name)
                if self._create(name, sql, self._properties()) is None:
                    raise TransientError(f"statement {name} was re-created by someone else meanwhile")
        self._wait(name, done=("COMPLETED",), pending=("PENDING", "RUNNING"), timeout=self.start_timeout,
                   what=f"DDL statement {name} COMPLETED")
        self._delete_quietly(name)

    def _delete_quietly(self, name: str) -> None:
        """Best effort, no wait: the statement is done and only its name would linger (30 days)."""
        try:
            self.http.delete(f"/statements/{_seg(name)}")
        except (TransientError, FlinkError):
            pass

    def _set_stopped(self, name: str, stopped: bool) -> None:
        """GET, flip `spec.stopped`, PUT with the current `resource_version`; on 409 read again and retry."""
        for _ in range(self.conflict_retries + 1):
            stmt = self._require(name)
            if (stmt.get("spec") or {}).get("stopped") is stopped:
                return
            body = {key: stmt[key] for key in ("name", "organization_id", "environment_id", "metadata", "spec")
                    if key in stmt}
            body["name"] = name
            body["spec"] = {**(stmt.get("spec") or {}), "stopped": stopped}
            resp = self.http.put(f"/statements/{_seg(name)}", json=body)
            if resp.status_code == 409:
                continue
            self.http.expect(resp, (200, 202, 204), FlinkError,
                             f"Confluent Flink did not {'stop' if stopped else 'resume'} statement {name}")
            return
        raise TransientError(f"statement {name} kept changing while we tried to "
                             f"{'stop' if stopped else 'resume'} it ({self.conflict_retries + 1} conflicts)")

    def _wait(self, name: str, *, done: Sequence[str], pending: Sequence[str], timeout: float, what: str,
              failure: str | None = None, fail_on_failed: bool = True) -> dict:
        last: list[dict | None] = [None]

        def check() -> dict | None:
            stmt = last[0] = self._get(name)
            if stmt is None:
                raise FlinkError(f"statement {name} disappeared while waiting for {what}")
            phase = _phase(stmt)
            if phase in done:
                return stmt
            if phase in pending:
                return None
            if fail_on_failed or phase not in FAILED_PHASES:
                head = f"{failure}: " if failure else f"statement {name} is {phase}: "
                raise FlinkError(head + self._failure_text(name, stmt),
                                 fix=f"see GET /statements/{name}/exceptions, or the statement in the Confluent "
                                     "Cloud console")
            return None

        return poll_until(check, timeout=timeout, every=self.poll_every, what=what, last=lambda: _seen(last[0]),
                          error=FlinkError, sleep=self.sleep, clock=self.clock)

    def _failure_text(self, name: str, stmt: dict) -> str:
        detail = ((stmt.get("status") or {}).get("detail") or "").strip()
        newest = None
        if _phase(stmt) in FAILED_PHASES:
            try:
                newest = self.exceptions(name)
            except (TransientError, FlinkError):
                newest = None
        parts = [self.http.scrub(one_line(summarise(detail)))] if detail else []
        if newest and newest not in parts:
            parts.append(newest)
        return "; ".join(parts) or "no detail given"


def _phase(stmt: dict) -> str:
    return str((stmt.get("status") or {}).get("phase") or "UNKNOWN")


def _sql(stmt: dict) -> str | None:
    return (stmt.get("spec") or {}).get("statement")


def _seen(stmt: dict | None) -> str:
    if stmt is None:
        return "not visible yet"
    detail = (stmt.get("status") or {}).get("detail")
    return f"phase {_phase(stmt)}" + (f": {one_line(detail)}" if detail else "")


def _split(statements: Sequence[str]) -> tuple[list[str], str]:
    items = [s.strip() for s in statements if s and s.strip()]
    if not items:
        raise ConfigError("no statements to run")
    return items[:-1], items[-1]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _seg(value: str) -> str:
    return quote(str(value), safe="")
