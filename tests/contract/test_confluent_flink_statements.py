"""ConfluentStatements against a sql/v1 statements double (MockTransport; one suite over a real server).

The double keeps statements as the API does: created PENDING (TF create mock), moved through phases a
read at a time, stopped/resumed by PUT of the full object with the current `metadata.resource_version`
(a stale one is a 409), deleted through DELETING, listed in pages whose `metadata.next` carries the
`page_token`. It asserts every request: Basic auth, name rules, organization/environment ids, catalog and
database properties, compute pool, `stopped: false` on create, immutable SQL and properties on PUT.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from environments.confluent.flink_statements import (ConfluentStatements, check_statement_name, next_page_token,
                                                     statement_name)
from pipeline.errors import ConfigError, FlinkError, TransientError
from pipeline.ports import RoutingJobs, RunningJob
from tests.contract.doubles import Double, FakeClock, Reply, assert_clean, fixture, from_fixture

ORG, ENV = "1111aaaa-11aa-11aa-11aa-111111aaaaaa", "env-abc123"
KEY, SECRET = "FLINKKEY9", "flink-secret-Mn4"
CATALOG, DATABASE, POOL = "cdc-dev", "cluster_0", "lfcp-x7rgx1"
HOST = "https://flink.us-east-1.aws.confluent.cloud"
PREFIX = "business-events-routing-"
JOB = PREFIX + "0123456789ab"
OLD = PREFIX + "ba9876543210"
DDL = ("CREATE TABLE IF NOT EXISTS `raw-business-events` (`id` STRING) WITH ('value.format' = 'json-registry')",
       "CREATE TABLE IF NOT EXISTS `filtered-loan-created-events` (`id` STRING) DISTRIBUTED BY (`id`) INTO 6 BUCKETS")
SET = ("EXECUTE STATEMENT SET BEGIN INSERT INTO `filtered-loan-created-events` SELECT `id` "
       "FROM `raw-business-events`; END")
STATEMENTS = (*DDL, SET)
GONE = "<gone>"


class FakeFlink(Double):
    def __init__(self) -> None:
        super().__init__(f"/sql/v1/organizations/{ORG}/environments/{ENV}", KEY, SECRET,
                         host="flink.us-east-1.aws.confluent.cloud")
        self.statements: dict[str, dict] = {}
        self.script: dict[str, list] = {}  # phases (or (phase, detail)) shown by the next reads
        self.plans: dict[str, list] = {}  # name -> the script a statement gets when created
        self.stale_puts = 0  # the next PUTs find the statement changed since the client's GET
        self.page_size = 2
        self.exceptions: dict[str, dict] = {}
        self.dry_run_plan: list = ["PENDING", "COMPLETED"]

        @self.route("POST", "/statements")
        def create(call):
            body = call.json()
            name, spec = body.get("name"), body.get("spec") or {}
            self.expect(set(body) <= {"name", "organization_id", "environment_id", "spec"}, f"create keys {sorted(body)}")
            self.expect(body.get("organization_id") == ORG and body.get("environment_id") == ENV, "ids in create body")
            self.check_name(name)
            self.expect(isinstance(spec.get("statement"), str) and spec["statement"], "spec.statement missing")
            props = spec.get("properties") or {}
            self.expect(all(isinstance(v, str) for v in props.values()), "properties must be strings")
            self.expect(props.get("sql.current-catalog") == CATALOG, f"catalog {props.get('sql.current-catalog')!r}")
            self.expect(props.get("sql.current-database") == DATABASE, f"database {props.get('sql.current-database')!r}")
            self.expect(spec.get("compute_pool_id") == POOL, f"compute pool {spec.get('compute_pool_id')!r}")
            self.expect(spec.get("stopped") is False, "spec.stopped must be false on create")
            if name in self.statements:
                return from_fixture("errors/flink_409", Location=self.statements[name]["metadata"]["self"])
            carry = "sql.tables.initial-offset-from" in props
            stmt = fixture("flink/initial_offset_create_flink_statement" if carry else "flink/create_flink_statement")
            stmt["name"] = name
            stmt["metadata"]["self"] = f"{HOST}{self.base_path}/statements/{name}"
            stmt["metadata"]["resource_version"] = "1"
            stmt["spec"] = {**stmt["spec"], **spec, "principal": "sa-abc123"}
            stmt["status"] = {"phase": "PENDING", "detail": ""}
            self.statements[name] = stmt
            if name in self.plans:
                self.script[name] = list(self.plans.pop(name))
            elif carry:
                detail = fixture("flink/initial_offset_read_pending_flink_statement")["status"]["detail"]
                self.script[name] = [("PENDING", detail.replace("tf-2025-08-20-171534-5f6e0644-dc74-4c30-81c1-"
                                                                "cd9eaede302f", props["sql.tables.initial-offset-from"]))]
            elif props.get("sql.dry-run") == "true":
                self.script[name] = list(self.dry_run_plan)
            elif spec["statement"].startswith("CREATE"):
                self.script[name] = ["PENDING", "COMPLETED"]
            else:
                self.script[name] = ["PENDING", "RUNNING"]
            return Reply(201, stmt, {"Location": stmt["metadata"]["self"]})

        @self.route("GET", "/statements/(?P<name>[^/]+)")
        def read(call, name):
            if name not in self.statements:
                return self.not_found(name)
            script = self.script.get(name) or []
            step = (script.pop(0) if len(script) > 1 else script[0]) if script else None
            if step == GONE:
                del self.statements[name]
                return self.not_found(name)
            if step is not None:
                phase, detail = step if isinstance(step, tuple) else (step, "")
                self.statements[name]["status"] = {**self.statements[name]["status"], "phase": phase, "detail": detail}
            return Reply(200, self.statements[name])

        @self.route("PUT", "/statements/(?P<name>[^/]+)")
        def update(call, name):
            if name not in self.statements:
                return self.not_found(name)
            body, stored = call.json(), self.statements[name]
            self.expect(body.get("name") == name, "PUT body name")
            self.expect(isinstance((body.get("spec") or {}).get("stopped"), bool), "PUT spec.stopped must be a bool")
            sent_version = (body.get("metadata") or {}).get("resource_version")
            self.expect(sent_version is not None, "PUT without metadata.resource_version")
            self.expect(body["spec"].get("statement") == stored["spec"]["statement"], "PUT changed the SQL")
            self.expect(body["spec"].get("properties") == stored["spec"]["properties"], "PUT changed the properties")
            if self.stale_puts:
                self.stale_puts -= 1
                self.bump(name)  # someone else changed it since the client's GET
            if sent_version != stored["metadata"]["resource_version"]:
                # constructed: the spec documents the 409 on PUT without a body example; the Failure shape is its errors' shape
                return Reply(409, {"errors": [{"status": "409", "code": "conflict", "title": "Conflict",
                                               "detail": f"resource version {sent_version} is stale"}]})
            stopped = body["spec"]["stopped"]
            stored["spec"]["stopped"] = stopped
            self.bump(name)
            self.script[name] = ["STOPPING", "STOPPED"] if stopped else ["PENDING", "RUNNING"]
            return Reply(202)

        @self.route("DELETE", "/statements/(?P<name>[^/]+)")
        def delete(call, name):
            if name not in self.statements:
                return self.not_found(name)
            self.script[name] = ["DELETING", GONE]
            return Reply(202)

        @self.route("GET", "/statements")
        def listing(call):
            size = int(call.query.get("page_size", ["10"])[0])
            self.expect(size <= 100, f"page_size {size} > 100")
            token = call.query.get("page_token", [None])[0]
            start = int(token.removeprefix("tok")) if token else 0
            names = sorted(self.statements)
            page = names[start:start + min(size, self.page_size)]
            body = fixture("flink/list_page")
            body["data"] = [self.statements[n] for n in page]
            more = start + len(page) < len(names)
            body["metadata"]["next"] = (f"{HOST}{self.base_path}/statements?page_size={size}&page_token=tok"
                                        f"{start + len(page)}") if more else ""
            return Reply(200, body)

        @self.route("GET", "/statements/(?P<name>[^/]+)/exceptions")
        def exceptions(call, name):
            if name not in self.statements:
                return self.not_found(name)
            return Reply(200, self.exceptions.get(name) or {**fixture("flink/exceptions"), "data": []})

    def check_name(self, name) -> None:
        self.expect(isinstance(name, str) and len(name) <= 72, f"name {name!r} longer than 72")
        try:
            check_statement_name(name)
        except ConfigError:
            self.violations.append(f"invalid statement name {name!r}")

    def not_found(self, name: str) -> Reply:
        body = fixture("flink/read_deleted_flink_statement")
        body["errors"][0]["detail"] = f"Statement resource={name} does not exist"
        return Reply(404, body)

    def bump(self, name: str) -> None:
        meta = self.statements[name]["metadata"]
        meta["resource_version"] = str(int(meta["resource_version"]) + 1)

    def add(self, name: str, phase: str, sql: str = SET, stopped: bool = False) -> dict:
        stmt = fixture("flink/read_running_flink_statement")
        stmt["name"] = name
        stmt["metadata"]["resource_version"] = "1"
        stmt["spec"] = {**stmt["spec"], "statement": sql, "compute_pool_id": POOL, "stopped": stopped,
                        "properties": {"sql.current-catalog": CATALOG, "sql.current-database": DATABASE}}
        stmt["status"]["phase"] = phase
        self.statements[name] = stmt
        self.script[name] = [phase]
        return stmt


@pytest.fixture
def fake():
    double = FakeFlink()
    yield double
    assert double.violations == []


@pytest.fixture
def clock():
    return FakeClock()


def make(fake: FakeFlink, clock: FakeClock, **kwargs) -> ConfluentStatements:
    options = dict(organization_id=ORG, environment_id=ENV, api_key=KEY, api_secret=SecretStr(SECRET),
                   catalog=CATALOG, database=DATABASE, compute_pool_id=POOL, endpoint=HOST,
                   transport=fake.transport(), poll_every=1.0, start_timeout=60.0, sleep=clock.sleep, clock=clock,
                   token=lambda: "c0ffee00")
    options.update(kwargs)
    return ConfluentStatements(**options)


@pytest.fixture
def jobs(fake, clock):
    client = make(fake, clock)
    yield client
    client.close()


def ddl_names(fake: FakeFlink) -> list[str]:
    return [c.json()["name"] for c in fake.calls_to("POST", ".*/statements") if c.json()["name"].startswith("ddl-")]


# --- names ---------------------------------------------------------------------------------------------------

def test_names():
    assert statement_name(PREFIX, "0123456789ab") == JOB
    for bad in ("Business-events", "a_b", "a.b", "-a", "a-", "", "x" * 73):
        with pytest.raises(ConfigError):
            check_statement_name(bad)
    assert check_statement_name("x" * 72)
    assert next_page_token(f"{HOST}/sql/v1/environments/env-abc123/statements?page_token=UvmDWOB1iwfAIBPj6EYb") \
        == "UvmDWOB1iwfAIBPj6EYb"
    assert next_page_token("") is None and next_page_token(None) is None


def test_invalid_name_is_refused_before_any_request(jobs, fake):
    with pytest.raises(ConfigError) as err:
        jobs.start(STATEMENTS, "business-events-routing@0123")
    assert "fix: use lowercase letters" in assert_clean(err.value, SECRET)
    assert fake.calls == []


def test_endpoint_from_region_and_cloud(fake, clock):
    client = make(fake, clock, endpoint=None, region="us-east-1", cloud="AWS")
    client.running()
    assert fake.calls[0].url.startswith(f"{HOST}/sql/v1/organizations/{ORG}/environments/{ENV}/statements?")
    with pytest.raises(ConfigError):
        make(fake, clock, endpoint=None)


# --- start -------------------------------------------------------------------------------------------------------

def test_start_runs_each_ddl_then_the_statement_set(jobs, fake):
    assert isinstance(jobs, RoutingJobs) and jobs.SUPPORTS_SAVEPOINTS is False and jobs.DIALECT == "confluent"
    assert jobs.compile_options()["confluent"].buckets == 6
    assert jobs.start(STATEMENTS, JOB) == JOB
    posts = [c.json() for c in fake.calls_to("POST", ".*/statements")]
    assert [p["spec"]["statement"] for p in posts] == list(STATEMENTS)
    assert all(p["name"].startswith("ddl-") for p in posts[:2]) and posts[2]["name"] == JOB
    assert posts[2]["spec"]["properties"] == {"sql.current-catalog": CATALOG, "sql.current-database": DATABASE}
    # each DDL waited to COMPLETED and deleted before the next statement is created
    d0, d1 = ddl_names(fake)
    b = fake.base_path + "/statements"
    assert fake.sequence() == [f"POST {b}", f"GET {b}/{d0}", f"GET {b}/{d0}", f"DELETE {b}/{d0}",
                               f"POST {b}", f"GET {b}/{d1}", f"GET {b}/{d1}", f"DELETE {b}/{d1}",
                               f"POST {b}", f"GET {b}/{JOB}", f"GET {b}/{JOB}"]
    assert fake.statements[JOB]["status"]["phase"] == "RUNNING"


def test_start_with_carry_over_sets_the_property_and_counts_pending_as_started(jobs, fake, clock):
    fake.add(OLD, "STOPPED", stopped=True)
    assert jobs.start(STATEMENTS, JOB, resume_from=OLD) == JOB
    main = fake.calls_to("POST", ".*/statements")[-1].json()
    assert main["spec"]["properties"]["sql.tables.initial-offset-from"] == OLD
    assert fake.statements[JOB]["status"]["phase"] == "PENDING"
    assert f"until referenced statement {OLD} is stopped" in fake.statements[JOB]["status"]["detail"]


def test_start_failure_names_status_detail_and_the_newest_exception(jobs, fake):
    fake.plans[JOB] = ["PENDING", ("FAILED", "Table `raw-business-events` does not exist.")]
    fake.exceptions[JOB] = fixture("flink/exceptions")
    with pytest.raises(FlinkError) as err:
        jobs.start(STATEMENTS, JOB)
    text = assert_clean(err.value, SECRET)
    assert text.startswith(f"statement {JOB} is FAILED: Table `raw-business-events` does not exist.; "
                           "TableNotExistException: Table (or view) `raw-business-events` does not exist")


def test_start_replaces_a_terminal_statement_holding_the_name(jobs, fake):
    fake.add(JOB, "STOPPED", stopped=True)
    assert jobs.start(STATEMENTS, JOB, resume_from=OLD) == JOB
    seq = fake.sequence()
    assert f"DELETE {fake.base_path}/statements/{JOB}" in seq
    assert sum(1 for c in fake.calls_to("POST", ".*/statements") if c.json()["name"] == JOB) == 2


def test_start_joins_its_own_statement_from_an_interrupted_run(jobs, fake):
    fake.add(JOB, "PENDING")
    fake.script[JOB] = ["PENDING", "RUNNING"]
    assert jobs.start(STATEMENTS, JOB) == JOB
    assert f"DELETE {fake.base_path}/statements/{JOB}" not in fake.sequence()


def test_start_refuses_a_running_statement_with_other_sql(jobs, fake):
    fake.add(JOB, "RUNNING", sql="SELECT 1")
    with pytest.raises(FlinkError) as err:
        jobs.start(STATEMENTS, JOB)
    assert "already runs different SQL" in assert_clean(err.value, SECRET)


def test_a_left_over_ddl_statement_is_run_again(jobs, fake):
    jobs.start(STATEMENTS, JOB)
    first = ddl_names(fake)[0]
    fake.add(first, "COMPLETED", sql=DDL[0])  # deleted last time; pretend the delete was lost
    fake.statements.pop(JOB)
    jobs.start(STATEMENTS, JOB)
    assert f"DELETE {fake.base_path}/statements/{first}" in fake.sequence()


def test_start_422_is_one_line_with_the_apis_detail(jobs, fake):
    fake.fail_next("POST", "/statements", from_fixture("errors/flink_422"))
    with pytest.raises(FlinkError) as err:
        jobs.start(STATEMENTS, JOB)
    assert assert_clean(err.value, SECRET).startswith(
        "Confluent Flink rejected statement ddl-")
    assert "422 Unprocessable Entity: The property '/cluster/storage_size' of type string did not match the " \
           "following type: integer (at /cluster/storage_size)" in str(err.value)


def test_start_429_is_retried(jobs, fake, clock):
    fake.fail_next("POST", "/statements", Reply(429, None, {"Retry-After": "5"}))
    jobs.start(STATEMENTS, JOB)
    assert 5.0 in clock.sleeps


@pytest.mark.parametrize("name,status", [("errors/flink_401", 401), ("errors/flink_403", 403)])
def test_rejected_flink_key_names_the_variable(jobs, fake, name, status):
    fake.fail_next("GET", "/statements", from_fixture(name))
    with pytest.raises(ConfigError) as err:
        jobs.running()
    assert assert_clean(err.value, SECRET).startswith(
        f"Confluent Cloud Flink SQL API rejected the Flink API key (CDC_FLINK_API_KEY): {status} ")


def test_5xx_is_transient(jobs, fake):
    fake.fail_next("GET", "/statements", from_fixture("errors/flink_500"))
    with pytest.raises(TransientError) as err:
        jobs.running()
    assert "The DeLorean has run out of gas" in assert_clean(err.value, SECRET)


# --- running, wait, stop / restore / cancel ---------------------------------------------------------------------

def test_running_pages_through_the_list_and_keeps_live_routing_jobs(jobs, fake):
    fake.add(PREFIX + "aaaaaaaaaaaa", "RUNNING")
    fake.add(PREFIX + "bbbbbbbbbbbb", "PENDING")
    fake.add(PREFIX + "cccccccccccc", "DEGRADED")
    fake.add(PREFIX + "dddddddddddd", "STOPPED")
    fake.add(PREFIX + "eeeeeeeeeeee", "FAILED")
    fake.add("ddl-0123456789", "RUNNING", sql=DDL[0])
    fake.add("workspace-2023-11-15-030109", "RUNNING")
    assert jobs.running() == [RunningJob(PREFIX + f, PREFIX + f, f) for f in
                              ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc")]
    lists = fake.calls_to("GET", ".*/statements")
    assert len(lists) == 4  # 7 statements, 2 per page
    assert [c.query.get("page_token") for c in lists] == [None, ["tok2"], ["tok4"], ["tok6"]]
    assert all(c.query["page_size"] == ["100"] for c in lists)


def test_wait_running_and_its_timeout(jobs, fake, clock):
    fake.add(JOB, "PENDING")
    fake.script[JOB] = ["PENDING", "PENDING", "RUNNING"]
    jobs.wait_running(JOB, timeout=30)
    assert clock.sleeps == [1.0, 1.0]
    fake.script[JOB] = [("DEGRADED", "1 of 6 tasks is restarting")]
    with pytest.raises(FlinkError) as err:
        jobs.wait_running(JOB, timeout=3)
    assert "not reached after 3s (phase DEGRADED: 1 of 6 tasks is restarting)" in str(err.value)


def test_stop_puts_stopped_with_the_resource_version_and_rereads_on_409(jobs, fake):
    fake.add(JOB, "RUNNING")
    fake.stale_puts = 1
    token = jobs.stop(RunningJob(JOB, JOB, "0123456789ab"))
    assert token == JOB
    puts = fake.calls_to("PUT", f".*/statements/{JOB}")
    assert [p.json()["metadata"]["resource_version"] for p in puts] == ["1", "2"]
    assert all(p.json()["spec"]["stopped"] is True for p in puts)
    seq = fake.sequence()
    first_put = seq.index(f"PUT {fake.base_path}/statements/{JOB}")
    assert seq[first_put + 1] == f"GET {fake.base_path}/statements/{JOB}"  # re-read after the 409
    assert fake.statements[JOB]["status"]["phase"] == "STOPPED"


def test_stop_gives_up_after_bounded_conflicts(fake, clock):
    jobs = make(fake, clock, conflict_retries=2)
    fake.add(JOB, "RUNNING")
    fake.stale_puts = 10
    with pytest.raises(TransientError) as err:
        jobs.stop(RunningJob(JOB, JOB, "0123456789ab"))
    assert "kept changing" in assert_clean(err.value, SECRET)
    assert len(fake.calls_to("PUT", ".*")) == 3


def test_stop_of_a_failed_statement_cannot_hand_offsets_over(jobs, fake):
    fake.add(JOB, "FAILED")
    fake.script[JOB] = [("FAILED", "Job failed")]
    with pytest.raises(FlinkError) as err:
        jobs.stop(RunningJob(JOB, JOB, "0123456789ab"))
    assert f"statement {JOB} is FAILED and cannot hand its offsets over: Job failed" in assert_clean(err.value, SECRET)
    assert not fake.calls_to("PUT", ".*")


def test_restore_resumes_the_stopped_statement_in_place(jobs, fake):
    fake.add(OLD, "STOPPED", stopped=True)
    assert jobs.restore(RunningJob(OLD, OLD, "ba9876543210"), OLD, None) == OLD
    put = fake.calls_to("PUT", f".*/statements/{OLD}")[0].json()
    assert put["spec"]["stopped"] is False and put["metadata"]["resource_version"] == "1"
    assert fake.statements[OLD]["status"]["phase"] == "RUNNING"
    assert not fake.calls_to("POST", ".*")


def test_restore_of_a_deleted_statement_is_one_line(jobs, fake):
    with pytest.raises(FlinkError) as err:
        jobs.restore(RunningJob(OLD, OLD, "x"), OLD, STATEMENTS)
    assert f"statement {OLD} no longer exists" in assert_clean(err.value, SECRET)


def test_cancel_stops_and_leaves_terminal_statements_alone(jobs, fake):
    fake.add(JOB, "RUNNING")
    jobs.cancel(JOB)
    assert fake.statements[JOB]["status"]["phase"] == "STOPPED"
    puts = len(fake.calls_to("PUT", ".*"))
    jobs.cancel(JOB)
    jobs.cancel("business-events-routing-missing")
    assert len(fake.calls_to("PUT", ".*")) == puts


# --- validate, delete, exceptions ------------------------------------------------------------------------------

def test_validate_runs_ddl_and_dry_runs_the_set_under_a_throwaway_name(jobs, fake):
    jobs.validate(STATEMENTS)
    posts = [c.json() for c in fake.calls_to("POST", ".*/statements")]
    dry = posts[-1]
    assert dry["spec"]["statement"] == SET and dry["spec"]["properties"]["sql.dry-run"] == "true"
    assert dry["name"].startswith("dry-run-c0ffee00-")
    assert f"DELETE {fake.base_path}/statements/{dry['name']}" in fake.sequence()
    assert not any(n.startswith(PREFIX) for n in fake.statements)


def test_validate_failure_is_flinks_message(jobs, fake):
    fake.dry_run_plan = ["PENDING", ("FAILED", "SQL validation failed. Column 'nope' not found in any table")]
    with pytest.raises(FlinkError) as err:
        jobs.validate(STATEMENTS)
    assert assert_clean(err.value, SECRET).startswith(
        "Confluent Flink rejected the routing statement: SQL validation failed. Column 'nope' not found in any table")
    assert fake.sequence()[-1].startswith(f"DELETE {fake.base_path}/statements/dry-run-")


def test_delete_waits_until_gone(jobs, fake, clock):
    fake.add(JOB, "STOPPED")
    assert jobs.delete(JOB) is True
    assert JOB not in fake.statements
    assert jobs.delete(JOB) is False


def test_exceptions_newest_as_one_line(jobs, fake):
    fake.add(JOB, "FAILED")
    assert jobs.exceptions(JOB) is None
    fake.exceptions[JOB] = fixture("flink/exceptions")
    assert jobs.exceptions(JOB) == "TableNotExistException: Table (or view) `raw-business-events` does not exist"
    assert jobs.exceptions("business-events-routing-missing") is None


# --- transport paths -------------------------------------------------------------------------------------------

def test_gateway_redirect_to_another_host_keeps_auth(jobs, fake):
    fake.add(JOB, "RUNNING")
    other = "https://flink-gw-7.us-east-1.aws.confluent.cloud"
    fake.fail_next("GET", f"/statements/{JOB}",
                   Reply(307, None, {"Location": f"{other}{fake.base_path}/statements/{JOB}"}))
    jobs.wait_running(JOB)
    assert fake.calls[-1].url.startswith(other) and fake.calls[-1].headers["authorization"] == fake.auth


def test_start_stop_restore_over_a_real_server(fake, clock):
    with fake.serve() as url:
        client = make(fake, clock, endpoint=url, transport=None)
        fake.add(OLD, "RUNNING")
        token = client.stop(RunningJob(OLD, OLD, "ba9876543210"))
        assert client.start(STATEMENTS, JOB, resume_from=token) == JOB
        client.cancel(JOB)
        assert client.restore(RunningJob(OLD, OLD, "ba9876543210"), token, None) == OLD
        assert [j.name for j in client.running()] == [OLD]
        client.close()
