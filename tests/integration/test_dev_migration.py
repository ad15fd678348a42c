"""migrate-connector for `dev`, in-process, through the cloud doubles: cdc-source-fixed -> v2-debezium.

The set-up is test_dev_deploy's (tests/integration/helpers.py::dev_cloud): Confluent Cloud's control plane is
the stateful double (tests/doubles/confluent_cloud.py), AWS is moto, and the data plane is the real local
stack over its SASL_SSL listener. deploy-pipeline runs first with CDC_CONNECTOR_VARIANT=cdc-source-fixed, so
the double holds the V1 "fixed" connector and the routing statement; then the migration runs against them.

What is proven here and what is not:

- the calls the migration makes on the Confluent APIs, in order, with their bodies' relevant parts (the
  new connector's offsets are the old one's, the statement is stopped with its current resource_version,
  a new statement's `sql.tables.initial-offset-from` names a STOPPED statement — the double asserts it);
- what a failure at each mutating step leaves in the double's state, and the one line the flow fails with;
- the `verify` step is the real smoke test through the real local data plane. The double's connectors
  move no data: the LOCAL connector captures (in the local v2-debezium shape, with `__op`) and the LOCAL
  Flink job routes. For cdc-source-fixed <-> v2-debezium that is an honest check: every filter in
  filters/filters.yaml is `operations: [c]`, and both variants carry `__op`, so the routing expected for
  the fixed shape and for the v2 shape is identical (asserted below, not assumed) — the smoke test then
  checks the expectations of the target's shape against events that really went through.
  The local stack is shared: if the verify step fails because the raw records suddenly lack `__op`, or
  because the consumers missed events, someone's local migration test has the local connector on the basic
  variant, or has started the LOCAL consumers (they share the consumer groups with the dev ones, so each
  gets part of the partitions) — wait until it is done and re-run.
- whether Confluent really accepts these bodies and carries a PostgreSQL source's offsets over between
  the V1 and V2 classes rests on documentation only (docs/migration.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connectors.config import cloud_config
from connectors.migration import MIGRATION_KEY, STEPS, VARIANT_KEY, MigrationError
from connectors.variants import get_variant
from environments.confluent.connect import ConfluentConnect
from environments.confluent.flink_statements import ConfluentStatements
from environments.rollout_store import PrefectVariableRolloutStore
from filters.loader import load_pipeline
# imported at collection (as test_dev_deploy does): Prefect's console handler binds to the session's stderr
from flows.deploy_pipeline import deploy_pipeline
from flows.migrate_connector import migrate_connector
from pipeline.paths import FILTERS_FILE
from pipeline.smoke import expected_routing, plan_changes
from tasks.migration import shape_for
from tests.contract.doubles import Reply, fixture
from tests.integration.helpers import MARKERS, dev_cloud, dev_secrets_allowed, secret_leaks

pytestmark = pytest.mark.integration

FIXED, V2, BASIC = get_variant("cdc-source-fixed"), get_variant("v2-debezium"), get_variant("cdc-source-basic")
#: the managed connectors are named after the seed's files (connectors/<name>.json)
OLD, NEW, BASIC_NAME = (cloud_config(v)["name"] for v in (FIXED, V2, BASIC))
STATEMENT_PREFIX = "business-events-routing-"


@pytest.fixture(scope="module")
def dev(cfg, stack, request, tmp_path_factory):
    # the connector class differs per variant: checked per connector below, not by the double
    with dev_cloud(cfg, stack, request, tmp_path_factory.mktemp("aws")) as dev, \
            pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDC_CONNECTOR_VARIANT", "cdc-source-fixed")
        # the adapters poll every 5 s (sensible against the real service); the double answers at once
        mp.setitem(ConfluentConnect.__init__.__kwdefaults__, "poll_every", 0.02)
        mp.setitem(ConfluentStatements.__init__.__kwdefaults__, "poll_every", 0.02)
        dev.store = PrefectVariableRolloutStore("dev")
        yield dev


@pytest.fixture
def dev_environ(dev, caplog, capfd):
    caplog.set_level(logging.INFO, logger="prefect")  # the flows' lines reach the console and the API
    yield dev
    out, err = capfd.readouterr()
    dev.texts += [out, err, caplog.text]


# --- reading the double ----------------------------------------------------------------------------------

def _label(call) -> str:
    name = call.summary.get("name") or ""
    if call.api == "connect" and call.op == "pause-or-resume":
        return f"{call.summary.get('action')} {name}"
    if call.api == "flink" and call.op == "update" and "stopped" in call.summary:
        return f"{'stop' if call.summary['stopped'] else 'resume'} {name}"
    return f"{call.op} {name}".strip()


def steps_seen(cloud, since: int) -> list[tuple[str, str, int]]:
    """What the migration did on the double: every call that tried to change state, plus the read of the old
    connector's offsets (statement reads and status polls left out); DDL statements (created, waited,
    deleted) are left out too (test_dev_deploy covers them)."""
    return [(c.api, _label(c), c.status) for c in cloud.log[since:]
            if (c.mutating or c.op == "offsets") and not str(c.summary.get("name", "")).startswith("ddl-")]


def state(cloud, job: str) -> dict:
    """Connector name -> state; the routing statement's (phase, spec.stopped); which routing statements run."""
    live = sorted(n for n, s in cloud.flink.statements.items()
                  if n.startswith(STATEMENT_PREFIX) and s["status"]["phase"] in ("RUNNING", "PENDING", "DEGRADED"))
    stmt = cloud.flink.statements[job]
    return {"connectors": {n: c["state"] for n, c in cloud.connect.connectors.items()},
            "statement": (stmt["status"]["phase"], stmt["spec"]["stopped"]), "live": live}


def running(*connectors: tuple[str, str], job: str) -> dict:
    return {"connectors": dict(connectors), "statement": ("RUNNING", False), "live": [job]}


def fails(dev, target: str) -> str:
    """Run the migration, expect it to fail; the error's one line (kept for the secret scan)."""
    with pytest.raises(MigrationError) as info:
        migrate_connector(environment="dev", target=target)
    line = str(info.value)
    dev.texts.append(line)
    assert "\n" not in line
    return line


def recorded(dev) -> tuple[str | None, dict | None]:
    return (dev.store.load(VARIANT_KEY) or {}).get("variant"), dev.store.load(MIGRATION_KEY) or None


def server_error(message: str) -> Reply:
    """A 500 from managed Connect (OAS createConnectv1Connector 500 example's shape)."""
    body = fixture("errors/connect_500_create")
    body["message"] = message
    return Reply(500, body)


def flink_error(message: str) -> Reply:
    """A 500 from the Flink SQL API (OAS getSqlv1Statement 500 example's shape)."""
    body = fixture("errors/flink_500")
    body["errors"][0]["detail"] = message
    return Reply(500, body)


# --- the tests (in order: each starts from the state the previous one left) ------------------------------

def test_fixed_and_v2_route_the_smoke_events_identically():
    """What makes the verify step honest here (see the module docstring): the target's expectations are the
    source's, so the local data plane's routing can stand in for the cloud's."""
    pipeline = load_pipeline(FILTERS_FILE)
    changes = plan_changes("same-routing", copies=3)
    assert all(f.operations == ("c",) for f in pipeline.enabled_filters)  # deletes and updates route nowhere
    assert expected_routing(pipeline, changes, shape_for(FIXED)) == expected_routing(pipeline, changes, shape_for(V2))


def test_deploy_fixed_then_the_dry_run_only_reads(dev_environ):
    from prefect.artifacts import Artifact

    dev, cloud, aws = dev_environ, dev_environ.cloud, dev_environ.aws
    deployed = deploy_pipeline(environment="dev")
    dev.runs["deploy"] = deployed
    steps = deployed["steps"]
    assert steps["register-connectors"]["connector"] == OLD and steps["register-connectors"]["outcome"] == "created"
    created = [c for c in cloud.calls("connect") if c.op == "put-config"]
    assert [c.summary["config"]["connector.class"] for c in created] == ["PostgresCdcSource"]
    assert all(r["expected"] == r["in_topic"] == r["processed"] for r in steps["smoke-test"]["routes"])
    dev.job = steps["flink-rollout"]["job_id"]
    assert dev.job.startswith(STATEMENT_PREFIX)
    assert recorded(dev) == ("cdc-source-fixed", None)
    before, before_aws, before_state = len(cloud.log), aws.count(), state(cloud, dev.job)
    assert before_state == running((OLD, "RUNNING"), job=dev.job)

    result = migrate_connector(environment="dev", target="v2-debezium", dry_run=True)

    plan = result["plan"]
    assert result["applied"] is False
    assert (plan["action"], plan["source"], plan["target"]) == ("migrate", "cdc-source-fixed", "v2-debezium")
    assert plan["steps"] == list(STEPS)  # drain-routing is a no-op in the cloud; retire-old comes last
    assert plan["consumer_impact"] == ['deletes start to arrive as the old row with `__op: d` and '
                                       '`__deleted: "true"`']
    markdown = Artifact.get("migrate-connector-plan").data
    dev.texts.append(markdown)
    assert "(dry run)" in markdown and "cdc-source-fixed → v2-debezium" in markdown
    # the connector change: the seed files' connectors (their names are the files' names)
    assert f"`{Path(FIXED.seed_file).stem}` → `{Path(V2.seed_file).stem}`" in markdown
    assert "`business-events-routing-confluent-cloud.sql` → `business-events-routing-confluent-cloud.sql`" in markdown
    assert "sql.tables.initial-offset-from" in markdown and "__deleted" in markdown
    assert "| `connector.class` | `PostgresCdcSource` | `PostgresCdcSourceV2` |" in markdown
    assert [line for line in markdown.splitlines() if line[:1].isdigit()] == [
        f"{i}. {s}" for i, s in enumerate(STEPS, 1)]
    # nothing that changes state: no call but reads on the double, only reads on AWS, the same state
    assert cloud.mutations(before) == [] and all(c.method == "GET" for c in cloud.log[before:])
    assert all(a.split(":")[1].startswith(("Get", "Describe")) for a in aws.actions(before_aws)), aws.actions()
    assert state(cloud, dev.job) == before_state and recorded(dev) == ("cdc-source-fixed", None)


@pytest.mark.parametrize("case", ["pause-old", "stop-statement", "create-new", "pause-new", "resume-statement",
                                  "new-statement-failed"])
def test_a_failure_before_capture_resumes_is_undone(dev_environ, case):
    """A fault injected in the double at each mutating step before capture resumes: the flow fails with one
    line saying what was undone; the old connector runs again, its statement is resumed (not stopped), a
    new connector that had been created is deleted."""
    dev, cloud = dev_environ, dev_environ.cloud
    job, boom = dev.job, f"injected at {case}"
    target, new = ("cdc-source-basic", BASIC_NAME) if case == "new-statement-failed" else ("v2-debezium", NEW)
    if case == "pause-old":
        cloud.connect.fail_next("PUT", f"/connectors/{OLD}/pause", server_error(boom))
    elif case == "stop-statement":
        cloud.flink.fail_next("PUT", f"/statements/{job}", flink_error(boom))
    elif case == "create-new":
        cloud.connect.fail_next("POST", "/connectors", *[server_error(boom)] * 3)
    elif case == "pause-new":
        cloud.connect.fail_next("PUT", f"/connectors/{NEW}/pause", server_error(boom))
    elif case == "resume-statement":
        cloud.flink.fail_when("PUT", f"/statements/{job}", lambda call: call.json()["spec"]["stopped"] is False,
                              flink_error(boom))
    else:  # the new statement (the basic variant's -no-op routing, new SQL) is rejected by the runtime
        cloud.flink.fail_on_create(STATEMENT_PREFIX, boom)
    before = len(cloud.log)

    line = fails(dev, target)

    # the new statement, when there is one (-> basic only): named after the -no-op SQL's fingerprint
    created = [c.summary for c in cloud.calls("flink", since=before)
               if c.op == "create" and not c.summary["name"].startswith("ddl-")]
    new_job = created[0]["name"] if created else None
    stop, resume_old = ("flink", f"stop {job}", 202), [("flink", f"resume {job}", 202), ("connect", f"resume {OLD}", 202)]
    pause, switched = ("connect", f"pause {OLD}", 202), [("connect", f"offsets {OLD}", 200),
                                                         ("connect", f"create {new}", 201),
                                                         ("connect", f"pause {new}", 202)]
    assert steps_seen(cloud, before) == {
        # nothing had changed: nothing to undo
        "pause-old": [("connect", f"pause {OLD}", 500)],
        # the statement never stopped (the PUT was refused): only the connector is resumed
        "stop-statement": [pause, ("flink", f"update {job}", 500), ("connect", f"resume {OLD}", 202)],
        # one 500 fails the step (no retry inside a migration step: a half-done switch is never re-run blind)
        "create-new": [pause, stop, ("connect", f"offsets {OLD}", 200), ("connect", "create", 500),
                       ("connect", f"delete {NEW}", 404), *resume_old],
        "pause-new": [pause, stop, *switched[:2], ("connect", f"pause {NEW}", 500), ("connect", f"delete {NEW}", 200),
                      *resume_old],
        # fixed -> v2 keeps the routing SQL: the stopped statement is resumed in place (start-routing), refused once
        "resume-statement": [pause, stop, *switched, ("flink", f"update {job}", 500), ("connect", f"delete {NEW}", 200),
                             *resume_old],
        # -> basic needs new SQL: a new statement carrying the stopped one's offsets, which goes FAILED (and, being
        # terminal, needs no cancelling)
        "new-statement-failed": [pause, stop, *switched, ("flink", f"create {new_job}", 201),
                                 ("connect", f"delete {BASIC_NAME}", 200), *resume_old],
    }[case]
    if case == "new-statement-failed":
        assert len(created) == 1 and new_job != job
        assert created[0]["properties"]["sql.tables.initial-offset-from"] == job
        assert created[0]["carry_over_from"] == {"name": job, "phase": "STOPPED"}  # the double checked it stopped
        assert cloud.flink.statements[new_job]["status"]["phase"] == "FAILED"
    else:
        assert created == []
    # every fault was used, except the 2nd and 3rd 500 of the POST: the step is not retried
    assert len(cloud.connect.faults) == (2 if case == "create-new" else 0)
    assert not cloud.flink.faults and not cloud.flink.conditional_faults
    cloud.connect.faults.clear()

    assert boom in line and "undone" in line
    if case != "pause-old":
        assert f"connector {OLD} resumed" in line
    if case in ("pause-new", "resume-statement", "new-statement-failed"):
        assert f"new connector {new} deleted" in line
    if case == "create-new":
        assert f"new connector {NEW} never created" in line
    if case in ("pause-old", "stop-statement"):
        assert "its routing job was never stopped" in line
    else:
        assert f"routing job {job} restored" in line
    # the double's state: the old connector RUNNING again, its statement resumed, no new connector
    assert state(cloud, job) == running((OLD, "RUNNING"), job=job)
    assert recorded(dev) == ("cdc-source-fixed", None)  # a re-run starts from the beginning
    assert cloud.violations == []


def test_fixed_to_v2_in_order_then_a_rerun_does_nothing(dev_environ):
    dev, cloud = dev_environ, dev_environ.cloud
    job = dev.job
    before = len(cloud.log)

    result = migrate_connector(environment="dev", target="v2-debezium")

    dev.runs["migrate"] = result
    assert result["applied"] is True and result["steps"] == list(STEPS)
    assert result["step_seconds"]["drain-routing"] < 0.1  # not observable in the cloud: nothing is called
    assert steps_seen(cloud, before) == [
        ("connect", f"pause {OLD}", 202),      # pause-connector: changes wait in the replication slot
        # drain-routing: no call (the stopped statement's offsets carry the read position)
        ("flink", f"stop {job}", 202),         # stop-routing: PUT spec.stopped=true with its resource_version
        ("connect", f"offsets {OLD}", 200),    # switch-connector: where the old connector reads ...
        ("connect", f"create {NEW}", 201),     # ... the V2 connector created from those offsets ...
        ("connect", f"pause {NEW}", 202),      # ... and paused
        # start-routing: fixed and v2 share the routing SQL (both carry __op), so the statement's name (its
        # fingerprint) is the same and a statement cannot carry offsets over from itself: the stopped one
        # is resumed in place, from its own offsets
        ("flink", f"resume {job}", 202),
        ("connect", f"resume {NEW}", 202),     # resume-connector
        # verify: the smoke test, through the local data plane (no control-plane call)
        ("connect", f"delete {OLD}", 200),     # retire-old: only after verification
    ]
    calls = cloud.calls(since=before)
    offsets = next(c for c in calls if c.op == "offsets").summary["offsets"]
    create = next(c for c in calls if c.op == "create" and c.api == "connect").summary
    assert create["offsets"] == offsets and offsets  # the new connector starts where the old one stopped
    assert create["config"]["connector.class"] == "PostgresCdcSourceV2"
    assert create["checked"] == {k: "as expected" for k in create["checked"]}  # the real credentials, unlogged
    updates = [c for c in calls if c.op == "update"]
    assert [(c.summary["stopped"], c.status) for c in updates] == [(True, 202), (False, 202)]
    assert all(c.summary["resource_version"] for c in updates)  # the current one (a stale one is a 409)
    assert state(cloud, job) == running((NEW, "RUNNING"), job=job)
    assert recorded(dev) == ("v2-debezium", None)

    before = len(cloud.log)
    again = migrate_connector(environment="dev", target="v2-debezium")
    assert again["applied"] is False and again["plan"]["action"] == "none"
    assert cloud.mutations(before) == [] and all(c.method == "GET" for c in cloud.log[before:])
    assert state(cloud, job) == running((NEW, "RUNNING"), job=job)


def test_a_failure_at_resume_leaves_the_new_connector_paused_and_a_rerun_resumes_it(dev_environ):
    """v2 -> fixed (the way back), the new connector's resume refused: not reverted (the routing already runs
    for the new shape); the line says what is left paused; a re-run continues from resume-connector."""
    dev, cloud = dev_environ, dev_environ.cloud
    job = dev.job
    cloud.connect.fail_next("PUT", f"/connectors/{OLD}/resume", server_error("injected at resume"))
    before = len(cloud.log)

    line = fails(dev, "cdc-source-fixed")

    assert "resume-connector failed" in line and "injected at resume" in line
    assert f"the connector {OLD} is left PAUSED" in line and "re-run migrate-connector to resume it" in line
    assert f"the old connector {NEW} stays PAUSED until retire-old deletes it" in line
    assert steps_seen(cloud, before)[-1] == ("connect", f"resume {OLD}", 500)
    assert state(cloud, job) == running((NEW, "PAUSED"), (OLD, "PAUSED"), job=job)
    assert recorded(dev)[1]["done"] == list(STEPS[:5])

    before = len(cloud.log)
    result = migrate_connector(environment="dev", target="cdc-source-fixed")
    assert result["applied"] is True and result["steps"] == list(STEPS)
    assert steps_seen(cloud, before) == [("connect", f"resume {OLD}", 202), ("connect", f"delete {NEW}", 200)]
    assert state(cloud, job) == running((OLD, "RUNNING"), job=job)
    assert recorded(dev) == ("cdc-source-fixed", None)


def test_a_failure_at_retire_old_is_reported_and_a_rerun_retires_it(dev_environ):
    """fixed -> v2 again, the old connector's delete refused after verification: reported, not reverted; going
    back meanwhile is refused without a change; a re-run retires the old connector."""
    dev, cloud = dev_environ, dev_environ.cloud
    job = dev.job
    cloud.connect.fail_next("DELETE", f"/connectors/{OLD}", server_error("injected at retire-old"))
    before = len(cloud.log)

    line = fails(dev, "v2-debezium")

    assert "retire-old failed" in line and "injected at retire-old" in line and "re-run to retry retire-old" in line
    assert f"the old connector {OLD} stays PAUSED until retire-old deletes it" in line
    assert f"delete {OLD} (its offsets are stale now) and run migrate-connector with target cdc-source-fixed" in line
    assert steps_seen(cloud, before)[-1] == ("connect", f"delete {OLD}", 500)
    assert state(cloud, job) == running((OLD, "PAUSED"), (NEW, "RUNNING"), job=job)
    pending = recorded(dev)[1]
    assert pending["done"] == list(STEPS[:-1])

    # going back now would create the fixed connector over the paused one: refused before anything changes
    # (undoing the failed create used to delete that connector, and the pending record was overwritten)
    before = len(cloud.log)
    line = fails(dev, "cdc-source-fixed")
    assert f"connector {OLD} already exists" in line and "nothing was changed" in line
    assert cloud.mutations(before) == [] and recorded(dev)[1] == pending
    assert state(cloud, job) == running((OLD, "PAUSED"), (NEW, "RUNNING"), job=job)

    before = len(cloud.log)
    result = migrate_connector(environment="dev", target="v2-debezium")
    assert result["applied"] is True
    assert steps_seen(cloud, before) == [("connect", f"delete {OLD}", 200)]
    # v2-debezium again: the variant test_dev_deploy expects by default
    assert state(cloud, job) == running((NEW, "RUNNING"), job=job)
    assert recorded(dev) == ("v2-debezium", None)


def test_no_cloud_secret_in_any_message_artifact_or_log(dev, stack):
    """The Prefect database (logs, artifacts, variables), every file under the state folder, and every line
    printed, logged or raised by the runs above hold none of the secrets."""
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_HOME

    from stack.settings import state_dir

    assert dev.runs.get("migrate"), "the migration did not run"
    APILogHandler().flush()
    assert secret_leaks(dev_secrets_allowed(dev, stack), [state_dir(), Path(PREFECT_HOME.value())]) == []
    texts = "\n".join(dev.texts)
    assert "migrate-connector" in texts  # the scan saw the runs' lines
    assert [s for s in (*MARKERS, dev.db_password, dev.kafka_secret) if s in texts] == []


def test_the_double_serves_offsets_create_with_offsets_and_checks_the_carry_over():
    """What the migration relies on, through the real adapters (no stack needed): a connector created from
    another's offsets answers them; a statement carrying offsets over from a RUNNING one is a violation
    (and stays PENDING, as Terraform's mock shows); `fail_on_create` makes a statement go FAILED."""
    from pydantic import SecretStr

    from pipeline.errors import FlinkError
    from pipeline.ports import RunningJob
    from tests.doubles.confluent_cloud import ConfluentCloudDouble
    from tests.integration.helpers import CLOUD_SECRET, DEV_CATALOG, DEV_DATABASE, DEV_ENV, DEV_LKC, DEV_ORG, \
        DEV_POOL, FLINK_SECRET, SR_SECRET

    cloud = ConfluentCloudDouble(
        organization_id=DEV_ORG, environment_id=DEV_ENV, kafka_cluster_id=DEV_LKC,
        cloud_api_key="CK1", cloud_api_secret=CLOUD_SECRET, flink_api_key="FK1", flink_api_secret=FLINK_SECRET,
        schema_registry_api_key="SK1", schema_registry_api_secret=SR_SECRET,
        flink_catalog=DEV_CATALOG, flink_database=DEV_DATABASE, flink_compute_pool_id=DEV_POOL)
    sql = ["EXECUTE STATEMENT SET BEGIN INSERT INTO `t` SELECT 'x'; END"]
    with cloud.serve() as url:
        connect = ConfluentConnect(environment_id=DEV_ENV, cluster_id=DEV_LKC, api_key="CK1",
                                   api_secret=SecretStr(CLOUD_SECRET), api_url=url, poll_every=0.01)
        config = {"connector.class": "PostgresCdcSource", "kafka.api.key": "K", "kafka.api.secret": "S3cr3t-value"}
        assert connect.put_config("old", config) == "created"
        lsn = connect.offsets("old")
        assert lsn == fixture("connect/offsets_source")["offsets"]  # the OAS example, for a PUT-created one
        mine = [{"partition": {"server": "cdc"}, "offset": {"lsn": 24023128, "txId": 555, "ts_usec": 1}}]
        assert connect.create_with_offsets("new", {**config, "connector.class": "PostgresCdcSourceV2"}, mine) == "created"
        assert connect.offsets("new") == mine and connect.status("new").state == "PROVISIONING"
        connect.pause("new")
        assert connect.status("new").state == "PAUSED"
        with pytest.raises(Exception, match="already exists"):
            connect.create_with_offsets("new", config, mine)
        assert [(c.op, c.status) for c in cloud.calls("connect") if c.op == "create"] == [("create", 201),
                                                                                        ("create", 409)]
        assert all("S3cr3t-value" not in str(c.summary) for c in cloud.log)

        jobs = ConfluentStatements(organization_id=DEV_ORG, environment_id=DEV_ENV, api_key="FK1",
                                   api_secret=SecretStr(FLINK_SECRET), catalog=DEV_CATALOG, database=DEV_DATABASE,
                                   endpoint=url, compute_pool_id=DEV_POOL, poll_every=0.01, start_timeout=0.5)
        old = jobs.start(sql, "business-events-routing-aaa")
        assert cloud.violations == []
        # carrying offsets over from a statement that still runs: the double says so, the new one waits
        with pytest.raises(FlinkError, match="PENDING|timed out|pending"):
            jobs.start(sql, "business-events-routing-bbb", resume_from=old)
            jobs.wait_running("business-events-routing-bbb", timeout=0.2)
        assert cloud.connect.violations == [] and cloud.flink.violations == [
            "create business-events-routing-bbb: sql.tables.initial-offset-from names business-events-routing-aaa, "
            "which is RUNNING, not a STOPPED statement"]
        assert "business-events-routing-aaa is stopped" in cloud.flink.statements["business-events-routing-bbb"][
            "status"]["detail"]
        cloud.flink.violations.clear()
        # the way the migration does it: stop first, then carry over; and a statement the runtime rejects
        assert jobs.stop(RunningJob(old, old, "aaa")) == old
        cloud.flink.fail_on_create("business-events-routing-ccc", "TableException: boom")
        assert jobs.start(sql, "business-events-routing-ccc", resume_from=old) == "business-events-routing-ccc"
        with pytest.raises(FlinkError, match="boom"):
            jobs.wait_running("business-events-routing-ccc")
        carried = [c.summary for c in cloud.calls("flink") if c.op == "create" and "carry_over_from" in c.summary]
        assert [s["carry_over_from"] for s in carried] == [{"name": old, "phase": "RUNNING"},
                                                          {"name": old, "phase": "STOPPED"}]
        connect.close()
        jobs.close()
    assert cloud.violations == [] and cloud.rejected == []
