"""deploy-pipeline for `dev`, run in-process through the cloud code path, twice, then once with a bad key.

What is real and what is a double:

- Confluent Cloud's control plane (managed Connect, Flink statements, Schema Registry) is the in-process
  double of tests/doubles/confluent_cloud.py: one HTTP server on 127.0.0.1 serving the documented paths and
  the sourced response fixtures, checking every request's Basic auth and shape, recording every call. It
  routes no data: its "RUNNING" connector and statement move nothing.
- AWS is moto's ThreadedMotoServer (tests/doubles/aws.py): the Aurora cluster `cdc-dev` with a cluster
  parameter group setting rds.logical_replication=1, and a Secrets Manager secret holding the database
  password; the run reads the password from there (CDC_DB_SECRET_ARN, no CDC_DB_PASSWORD).
- The data plane is the real local stack: the dev settings point the database at the local PostgreSQL and
  Kafka at the local broker's SASL_SSL listener (PLAIN user, the stack's self-signed CA). The changes are
  captured and routed by the LOCAL Debezium connector and the LOCAL Flink job (set up as every integration
  test does), so the dev smoke test passes only if the dev consumers — four processes connecting over
  SASL_SSL — really receive the routed events, and the smoke test's own watchers read them over SASL_SSL.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from environments.confluent.schemas import raw_topic_json_schema
from environments.kafka import KafkaClients
from filters.loader import load_pipeline
# imported at collection (as test_flows does): Prefect's console handler then binds to the session's stderr,
# not to one test's captured stream
from flows.deploy_pipeline import deploy_pipeline
from flows.pipeline_health import pipeline_health
from pipeline.cli import run_cli
from pipeline.paths import FILTERS_FILE
from tests.doubles.confluent_cloud import MASK, TOPIC_REGEX_ROUTER, ConfluentCloudDouble
from tests.integration.helpers import (AWS_SECRET, CLOUD_SECRET, FLINK_SECRET, MARKERS, SR_SECRET,  # noqa: F401
                                       WRONG_FLINK_SECRET, dev_cloud, dev_secrets_allowed, secret_leaks)
from tests.integration.helpers import DEV_CATALOG as CATALOG
from tests.integration.helpers import DEV_CLUSTER as CLUSTER
from tests.integration.helpers import DEV_DATABASE as DATABASE
from tests.integration.helpers import DEV_ENV as ENV
from tests.integration.helpers import DEV_LKC as LKC
from tests.integration.helpers import DEV_ORG as ORG
from tests.integration.helpers import DEV_POOL as POOL

pytestmark = pytest.mark.integration

CONNECTOR = "postgres-cdc-source-v2-debezium-business-events-confluent-cloud"
SUBJECT = "raw-business-events-value"


@pytest.fixture(scope="module")
def dev(cfg, stack, request, tmp_path_factory):
    """The doubles, the dev variables, and the local data plane ready to route; the dev fleet stopped after
    (tests/integration/helpers.py::dev_cloud)."""
    with dev_cloud(cfg, stack, request, tmp_path_factory.mktemp("aws"),
                   connector_expects={"connector.class": "PostgresCdcSourceV2"}) as dev:
        yield dev


@pytest.fixture
def dev_environ(dev, caplog):
    # INFO: the flows' own lines reach the console and the Prefect API, so the secret scan sees them
    caplog.set_level(logging.INFO, logger="prefect")
    return dev


def _keep_texts(dev, capfd, caplog, *more) -> None:
    out, err = capfd.readouterr()
    dev.texts += [out, err, caplog.text, *[str(m) for m in more]]


def test_dev_deploy_pipeline_twice_through_the_cloud_doubles_and_sasl_kafka(dev_environ, capfd, caplog):
    dev, cloud, aws = dev_environ, dev_environ.cloud, dev_environ.aws
    first = deploy_pipeline(environment="dev")
    first_calls, first_aws = len(cloud.log), aws.count()
    second = deploy_pipeline(environment="dev")
    second_aws = aws.count()
    dev.runs.update(first=first, second=second)
    _keep_texts(dev, capfd, caplog, json.dumps(first, default=str), json.dumps(second, default=str))

    assert cloud.violations == [] and cloud.rejected == []
    # both runs green, and the data really went through: 10 expected = in topic = processed, per route
    for run in (first, second):
        routes = run["steps"]["smoke-test"]["routes"]
        assert [r["route"] for r in routes] == [f.id for f in load_pipeline(FILTERS_FILE).enabled_filters]
        assert all(r["expected"] == r["in_topic"] == r["processed"] == 10 for r in routes), routes

    # --- first run, step by step --------------------------------------------------------------------------
    steps = first["steps"]
    cluster_rds = aws.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    # AWS calls in order, marked per step (the Confluent calls carry how many AWS calls preceded them)
    assert aws.actions()[:first_aws] == [
        "rds:DescribeDBClusters",                                       # provision: the cluster exists
        "rds:DescribeDBClusters", "rds:DescribeDBClusterParameters",    # replication-setup: the group is read
        "secretsmanager:GetSecretValue",                                #   ... and the password, to connect
        "secretsmanager:GetSecretValue",                                # register-connectors: into the config
        "secretsmanager:GetSecretValue",                                # smoke-test: to write the events
    ]

    # provision: terraform had nothing to change (helpers.dev_cloud's stand-in); the cluster described in moto;
    # the raw topic on the SASL_SSL broker; the raw schema
    assert steps["provision"]["terraform"]["verdict"] == "no changes"
    assert steps["provision"]["resources"] == [
        {"resource": f"aurora cluster {CLUSTER}", "outcome": "exists", "seconds": pytest.approx(0, abs=5),
         "detail": cluster_rds["Status"]}]
    # the topic already exists: the local pipeline created it on the same broker (it is read over SASL_SSL)
    assert steps["provision"]["raw_topic"] == "unchanged"
    seen_over_sasl = KafkaClients(dev.cfg.kafka).admin().list_topics(timeout=10).topics
    assert len(seen_over_sasl[dev.cfg.raw_topic].partitions) == dev.cfg.raw_topic_partitions
    assert steps["provision"]["schema"] == "registered"
    registry = cloud.calls("registry")[:3]
    assert [str(c) for c in registry] == [f"registry read-latest {SUBJECT}", f"registry check-compatibility {SUBJECT}",
                                          f"registry register {SUBJECT}"]
    assert [c.status for c in registry] == [404, 404, 200]  # a new subject: 40401, nothing to be compatible with
    assert registry[2].summary["schemaType"] == "JSON" and "__op" in registry[2].summary["properties"]
    # the schema the Schema Registry contract tests describe (nullable fields, __ts_ms an integer)
    assert json.loads(cloud.registry.versions[SUBJECT][-1]["schema"]) == raw_topic_json_schema()
    assert all(c.mark == 1 for c in registry)  # after provision's DescribeDBClusters, before replication-setup

    # replication-setup: the parameter group was read (above); the local database needed no change
    assert steps["replication-setup"]["changed"] == []
    assert steps["replication-setup"]["settings"]["wal_level"] == "logical"

    # register-connectors: validate -> read config (404) -> PUT config -> status until RUNNING
    connect = cloud.calls("connect")[:4]
    assert [(c.op, c.status) for c in connect] == [("validate", 200), ("read-config", 404), ("put-config", 200),
                                                   ("status", 200)]
    assert all(c.summary["name"] == CONNECTOR for c in connect)
    assert all(c.mark == 5 for c in connect)  # after the connector's password was read from Secrets Manager
    put = connect[2].summary
    assert put["created"] is True and put["checked"] == {k: "as expected" for k in put["checked"]}
    assert put["config"]["transforms"] == "extract,route"
    assert put["config"]["transforms.route.type"] == TOPIC_REGEX_ROUTER
    assert put["config"]["transforms.extract.type"] == "io.debezium.transforms.ExtractNewRecordState"
    assert put["config"]["database.password"] == MASK and put["config"]["kafka.api.secret"] == MASK
    assert connect[3].summary["state"] == "RUNNING"
    assert steps["register-connectors"] | {"config": None} == {
        "connector": CONNECTOR, "outcome": "created", "state": "RUNNING", "tasks": ["RUNNING"], "config": None,
        "variant": "v2-debezium"}

    # flink-rollout: list what runs (two pages), validate (DDL for real, statement set as a dry run), then
    # each DDL statement and the EXECUTE STATEMENT SET statement with the compute pool, catalog and database
    flink = [c for c in cloud.log[:first_calls] if c.api == "flink"]
    ops = [(c.op, c.summary.get("name", "")) for c in flink]
    assert ops[:2] == [("list", ""), ("list", "")]
    assert [c.summary["page_token"] for c in flink[:2]] == [None, "tok2"]
    creates = [c for c in flink if c.op == "create"]
    ddl = [c for c in creates if c.summary["name"].startswith("ddl-")]
    dry = [c for c in creates if c.summary["name"].startswith("dry-run-")]
    job = [c for c in creates if c.summary["name"].startswith("business-events-routing-")]
    assert len(ddl) == 12 and len(dry) == 1 and len(job) == 1 and len(creates) == 14
    # the raw table, its dead-letter settings (what Flink cannot deserialize is logged, not dropped), the sinks
    assert [c.summary["statement"].split(" `")[0] for c in ddl[:6]] == [
        "CREATE TABLE IF NOT EXISTS", "ALTER TABLE", *["CREATE TABLE IF NOT EXISTS"] * 4]
    assert "'error-handling.mode' = 'log'" in ddl[1].summary["statement"]  # (the summary is cut short)
    outputs = [f.output_topic for f in load_pipeline(FILTERS_FILE).enabled_filters]
    assert [c.summary["statement"].split("`")[1] for c in ddl[:6]] == ["raw-business-events", "raw-business-events",
                                                                       *outputs]
    assert job[0].summary["statement"].startswith("EXECUTE STATEMENT SET BEGIN INSERT INTO `filtered-")
    assert dry[0].summary["properties"]["sql.dry-run"] == "true"
    for c in creates:
        assert c.summary["compute_pool_id"] == POOL and c.summary["stopped"] is False
        assert c.summary["properties"]["sql.current-catalog"] == CATALOG
        assert c.summary["properties"]["sql.current-database"] == DATABASE
    job_name = job[0].summary["name"]
    # each DDL: created, read until COMPLETED, deleted; the dry run likewise; the job: created, read RUNNING
    expected_ops = [("list", ""), ("list", "")]
    for c in ddl[:6] + dry + ddl[6:]:
        name = c.summary["name"]
        expected_ops += [("create", name), ("read", name), ("delete", name)]
    expected_ops += [("create", job_name), ("read", job_name), ("read", job_name)]
    assert ops == expected_ops
    assert all(c.mark == 5 for c in flink)
    assert steps["flink-rollout"]["action"] == "start" and steps["flink-rollout"]["job_id"] == job_name
    assert cloud.flink.statements[job_name]["status"]["phase"] == "RUNNING"

    # deploy-consumers: the four consumers as processes on the SASL_SSL listener, in their own folder
    consumers = steps["deploy-consumers"]
    assert [c["outcome"] for c in consumers] == ["started"] * 4
    assert all(Path(c["log"]).parent.name == "consumers-dev" for c in consumers)
    for c in consumers:
        # the process got the SASL settings (its environment, read from /proc): key, CA, bootstrap
        raw = Path(f"/proc/{c['pid']}/environ").read_text().split("\0")
        environ = dict(kv.split("=", 1) for kv in raw if "=" in kv)
        assert environ["KAFKA_BOOTSTRAP_SERVERS"] == dev.variables["CDC_KAFKA_BOOTSTRAP"]
        assert environ["KAFKA_API_KEY"] == dev.variables["CDC_KAFKA_API_KEY"]
        assert environ["KAFKA_SSL_CA_LOCATION"] == dev.variables["CDC_KAFKA_SSL_CA_LOCATION"]

    # --- second run: nothing changes ----------------------------------------------------------------------
    again = cloud.sequence(since=first_calls)
    assert again == [f"registry read-latest {SUBJECT}",
                     f"connect validate {CONNECTOR}", f"connect read-config {CONNECTOR}", f"connect status {CONNECTOR}",
                     "flink list", "flink list"]
    assert aws.actions()[first_aws:second_aws] == aws.actions()[:first_aws]  # the same reads, nothing else
    steps = second["steps"]
    assert steps["provision"]["schema"] == "unchanged" and steps["provision"]["raw_topic"] == "unchanged"
    assert steps["replication-setup"]["changed"] == []
    assert steps["register-connectors"]["outcome"] == "unchanged"  # masked secrets + the recorded fingerprint
    assert steps["flink-rollout"]["action"] == "none" and steps["flink-rollout"]["job_id"] == job_name
    assert [c["outcome"] for c in steps["deploy-consumers"]] == ["reused"] * 4


def _deploy_from_the_command_line(dev, capfd, caplog=None) -> tuple[int, list[str], list[BaseException]]:
    """deploy-pipeline for dev as `main` runs it: (exit code, its `error:` lines, what it raised); every text
    kept for the secret scan."""
    raised: list[BaseException] = []

    def body() -> int:
        try:
            deploy_pipeline(environment="dev")
        except BaseException as err:
            raised.append(err)
            raise
        return 0

    code = run_cli(body)
    out, err = capfd.readouterr()
    dev.texts += [out, err, caplog.text if caplog else "", *map(str, raised)]
    return code, [x for x in err.splitlines() if x.startswith("error: ")], raised


def test_pipeline_health_on_dev_reads_the_managed_services_through_the_doubles(dev_environ, capfd, caplog):
    """After the deploys above: the connector, the routing statement (not the old FAILED one), the raw schema
    in the registry, the dev consumers' groups over SASL_SSL and the slot all read ok; nothing to heal."""
    result = pipeline_health(environment="dev", heal=True)
    _keep_texts(dev_environ, capfd, caplog, json.dumps(result, default=str))
    rows = {r["component"]: r for r in result["rows"]}
    assert {r["state"] for r in rows.values()} == {"ok"}, rows
    assert not any(name.startswith("engine ") for name in rows)  # managed: no engines of ours
    assert rows[f"connector {CONNECTOR}"]["figure"] == "RUNNING, tasks 0 RUNNING"
    assert rows[f"schema registry {SUBJECT}"]["figure"].startswith("version 1,")
    (routing,) = [r for name, r in rows.items() if name.startswith("routing job business-events-routing-")]
    assert "0ld0ld" not in routing["component"] and routing["figure"] == "RUNNING, no checkpoint yet"
    assert {f"consumer {c}" for c in ("loan", "loan-payment", "service", "car")} <= set(rows)
    assert result["healed"] == []


def test_a_wrong_flink_secret_fails_in_one_line_naming_the_key(dev_environ, monkeypatch, capfd, caplog):
    dev, cloud = dev_environ, dev_environ.cloud
    monkeypatch.setenv("CDC_FLINK_API_SECRET", WRONG_FLINK_SECRET)
    before = len(cloud.log)
    code, line, raised = _deploy_from_the_command_line(dev, capfd, caplog)
    assert code == 1 and len(line) == 1, line
    assert "CDC_FLINK_API_KEY" in line[0] and "401" in line[0]
    assert str(raised[0]) == line[0].removeprefix("error: ") and "\n" not in str(raised[0])
    assert not any(s in line[0] for s in (*MARKERS, dev.db_password, dev.kafka_secret))
    # the double refused the Flink key on the first Flink call; nothing was created
    flink = cloud.calls("flink", since=before)
    assert [(c.op, c.status) for c in flink] == [("unauthorized", 401)]
    assert cloud.flink.rejected == [f"GET {cloud.flink.base_path}/statements: wrong secret for key FLINKKEYDEV1"]
    cloud.flink.rejected.clear()


def test_verify_full_against_a_server_without_tls_fails_at_once_naming_cdc_db_sslmode(dev_environ, monkeypatch,
                                                                                       capfd, caplog):
    """The dev default is sslmode=verify-full (Aurora); the local server has no TLS. That is a configuration
    error: one line naming CDC_DB_SSLMODE, not an "unreachable" error retried with backoff."""
    from flows.replication_setup import replication_setup
    from pipeline.errors import DatabaseError

    dev, aws = dev_environ, dev_environ.aws
    monkeypatch.delenv("CDC_DB_SSLMODE")
    before = aws.count()
    with pytest.raises(DatabaseError) as info:
        replication_setup(environment="dev")
    _keep_texts(dev, capfd, caplog, info.value)
    text = str(info.value)
    assert "\n" not in text and "sslmode=verify-full" in text and "CDC_DB_SSLMODE" in text
    # the task ran once: no retry (a retry would read the parameter group and the secret again)
    assert aws.actions()[before:] == ["rds:DescribeDBClusters", "rds:DescribeDBClusterParameters",
                                      "secretsmanager:GetSecretValue"]


# the settings that point the code at the doubles stay in the environment; every other one comes from terraform
DOUBLE_ENDPOINTS = {"CDC_CONFLUENT_API_URL", "CDC_AWS_ENDPOINT_URL", "CDC_KAFKA_SSL_CA_LOCATION", "CDC_DB_SSLMODE"}


def _stand_in_config(folder: Path, settings: list[str], secrets: list[str]) -> None:
    """A provider-free stand-in for terraform/envs/dev: terraform_data in place of the cloud resources, and the
    same kind of cdc_* outputs (known only after apply), their values given as TF_VAR_settings/TF_VAR_secrets.
    cdc_api_name is null, as when the producer API is turned off."""
    def output(name: str, source: str, sensitive: bool) -> str:
        return (f'output "{name.lower()}" {{\n  value     = terraform_data.{source}.output["{name}"]\n'
                f'  sensitive = {str(sensitive).lower()}\n}}\n')

    text = ['variable "settings" {\n  type = map(string)\n}\n',
            'variable "secrets" {\n  type      = map(string)\n  sensitive = true\n}\n',
            'resource "terraform_data" "settings" {\n  input = var.settings\n}\n',
            'resource "terraform_data" "secrets" {\n  input = var.secrets\n}\n',
            'output "cdc_api_name" {\n  value = null\n}\n']
    text += [output(n, "settings", False) for n in settings] + [output(n, "secrets", True) for n in secrets]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tf").write_text("\n".join(text))


def test_provision_plans_applies_only_when_approved_and_its_outputs_become_the_settings(
        dev_environ, monkeypatch, tmp_path, capfd, caplog):
    """provision on a cloud environment runs terraform (through python-terraform and the real tofu) before it
    reads any setting: without approval the plan is published and nothing is applied, and deploy-pipeline stops
    after provision in one line; approved, it applies, stores every cdc_* output where the flows read settings
    (Variables, Secret blocks for secrets; a null output removes a stale value), and provision then runs on
    those settings alone; a re-run has nothing to change."""
    from prefect.artifacts import Artifact
    from prefect.blocks.system import Secret
    from prefect.variables import Variable

    from environments.settings import CLOUD_OPTIONAL, CLOUD_VARIABLES, is_secret_setting, prefect_names, store_in_prefect
    from flows.provision import provision

    dev = dev_environ
    made = sorted(v for v in dev.variables if (v in CLOUD_VARIABLES or v in CLOUD_OPTIONAL) and v not in DOUBLE_ENDPOINTS)
    secrets = [v for v in made if is_secret_setting(v)]
    plain = [v for v in made if v not in secrets]
    assert {"CDC_DB_HOST", "CDC_AURORA_CLUSTER_ID", "CDC_KAFKA_BOOTSTRAP"} <= set(plain)
    assert {"CDC_KAFKA_API_SECRET", "CDC_FLINK_API_SECRET"} <= set(secrets)
    folder = tmp_path / "envs-dev"
    _stand_in_config(folder, plain, secrets)
    for name in made:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TF_VAR_settings", json.dumps({n: dev.variables[n] for n in plain}))
    monkeypatch.setenv("TF_VAR_secrets", json.dumps({n: dev.variables[n] for n in secrets}))
    monkeypatch.setenv("CDC_TERRAFORM_DIR", str(folder))
    monkeypatch.setenv("CDC_SETTINGS_FROM_PREFECT", "1")

    def clear() -> None:
        for name in [*made, "CDC_API_NAME"]:
            store_in_prefect("dev", name, None, is_secret_setting(name))

    clear()  # the local Prefect home outlives a run: start from nothing
    Variable.set(prefect_names("dev", "CDC_API_NAME")[0], "stale-api", overwrite=True)
    try:
        # 1. not approved: deploy-pipeline publishes the plan, applies nothing, stops after provision in one line
        code, line, _ = _deploy_from_the_command_line(dev, capfd)
        assert code == 1 and len(line) == 1 and "provision-terraform-plan" in line[0] and "apply_infrastructure=true" in line[0]
        assert "2 to add, 0 to change, 0 to destroy" in line[0], line[0]
        plan = Artifact.get("provision-terraform-plan").data
        dev.texts.append(plan)
        assert "| create | `terraform_data.secrets` |" in plan and "| create | `terraform_data.settings` |" in plan
        assert "Not applied" in plan
        assert not (folder / "terraform.tfstate").exists() and not (folder / "cdc.tfplan").exists()
        assert Variable.get(prefect_names("dev", "CDC_DB_HOST")[0]) is None  # nothing stored
        assert Variable.get(prefect_names("dev", "CDC_API_NAME")[0]) == "stale-api"

        # 2. approved: applied, outputs stored, and the rest of provision runs on them
        applied = provision(environment="dev", apply_infrastructure=True)
        dev.texts.append(json.dumps(applied, default=str))
        terraform = applied["terraform"]
        assert terraform["verdict"] == "apply" and terraform["apply"] == "applied"
        assert terraform["settings"] == {**{n: "written" for n in made}, "CDC_API_NAME": "removed"}
        for name in plain:
            assert Variable.get(prefect_names("dev", name)[0]) == dev.variables[name], name
        for name in secrets:
            variable_name, block_name = prefect_names("dev", name)
            assert Secret.load(block_name).get() == dev.variables[name], name
            assert Variable.get(variable_name) is None, f"{name} stored as a plain Variable"
        assert Variable.get(prefect_names("dev", "CDC_API_NAME")[0]) is None
        assert [r["outcome"] for r in applied["resources"]] == ["exists"]
        assert applied["raw_topic"] == "unchanged" and applied["schema"] == "unchanged"
        assert (folder / "terraform.tfstate").exists() and not (folder / "cdc.tfplan").exists()

        # 3. a re-run converges: nothing to change, nothing rewritten
        again = provision(environment="dev")
        dev.texts.append(json.dumps(again, default=str))
        assert again["awaiting_approval"] is False and again["terraform"]["verdict"] == "no changes"
        assert again["terraform"]["settings"] == {**{n: "unchanged" for n in made}, "CDC_API_NAME": "absent"}
        assert "No changes." in Artifact.get("provision-terraform-plan").data
    finally:
        clear()
    _keep_texts(dev, capfd, caplog)


def test_no_cloud_secret_in_any_log_artifact_or_message(dev, stack):
    """After the runs: the Prefect database, every file under the state folder (engine and consumer logs),
    the generated files, every printed or logged line and every raised message hold none of the secrets
    (the local database and SASL passwords only in their own secret files, as test_flows checks)."""
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_HOME

    from pipeline.paths import ROOT
    from stack.settings import state_dir

    assert dev.runs, "the deploy runs did not happen"
    APILogHandler().flush()  # the runs' last log lines reach the Prefect database
    allowed = dev_secrets_allowed(dev, stack)
    prefect_home = Path(PREFECT_HOME.value())
    roots = [state_dir(), prefect_home, ROOT / "flink-jobs", ROOT / "connectors"]
    assert secret_leaks(allowed, roots) == []
    # the scan reached the runs' records: the smoke test's run id is in the Prefect database
    run_id = dev.runs["first"]["steps"]["smoke-test"]["run"]
    assert secret_leaks({run_id.encode(): set()}, [prefect_home]), f"no record of {run_id} under {prefect_home}"
    # and the consumers' logs exist (their lines were scanned)
    assert list((state_dir() / "consumers-dev").glob("*.log"))
    texts = "\n".join(dev.texts)
    assert texts.strip()
    assert [s for s in (*MARKERS, dev.db_password, dev.kafka_secret) if s in texts] == []


def test_the_double_also_serves_stop_resume_pause_delete_and_exceptions_as_documented():
    """What the two runs do not reach, through the real adapters (no stack needed): a stale
    resource_version is a 409 and the client re-reads; stop/resume; exceptions; delete; async pause/resume."""
    from pydantic import SecretStr

    from environments.confluent.connect import ConfluentConnect
    from environments.confluent.flink_statements import ConfluentStatements
    from pipeline.ports import RunningJob

    cloud = ConfluentCloudDouble(
        organization_id=ORG, environment_id=ENV, kafka_cluster_id=LKC,
        cloud_api_key="CK1", cloud_api_secret=CLOUD_SECRET, flink_api_key="FK1", flink_api_secret=FLINK_SECRET,
        schema_registry_api_key="SK1", schema_registry_api_secret=SR_SECRET,
        flink_catalog=CATALOG, flink_database=DATABASE, flink_compute_pool_id=POOL)
    statements = ["CREATE TABLE IF NOT EXISTS `t` (`id` STRING)",
                  "EXECUTE STATEMENT SET BEGIN INSERT INTO `t` SELECT 'x'; END"]
    with cloud.serve() as url:
        jobs = ConfluentStatements(organization_id=ORG, environment_id=ENV, api_key="FK1",
                                   api_secret=SecretStr(FLINK_SECRET), catalog=CATALOG, database=DATABASE,
                                   endpoint=url, compute_pool_id=POOL, poll_every=0.01)
        name = jobs.start(statements, "business-events-routing-abc")
        job = RunningJob(name, name, "abc")
        cloud.flink.stale_puts = 1
        assert jobs.stop(job) == name and jobs.running() == []
        updates = [c.status for c in cloud.calls("flink") if c.op == "update"]
        assert updates == [409, 202]  # stale: read again, put again
        assert jobs.restore(job, name) == name and [j.id for j in jobs.running()] == [name]
        cloud.flink.exceptions[name] = [{"kind": "StatementException", "name": "java.lang.RuntimeException",
                                         "message": "java.lang.RuntimeException: boom",
                                         "timestamp": "2026-01-01T00:00:00Z"}]
        assert jobs.exceptions(name) == "java.lang.RuntimeException: boom"
        assert jobs.delete(name) is True and jobs.statement(name) is None

        connect = ConfluentConnect(environment_id=ENV, cluster_id=LKC, api_key="CK1",
                                   api_secret=SecretStr(CLOUD_SECRET), api_url=url, poll_every=0.01)
        config = {"connector.class": "PostgresCdcSourceV2", "kafka.api.key": "K", "kafka.api.secret": "S3cr3t-value"}
        assert connect.put_config("c1", config) == "created" and connect.config("c1")["kafka.api.secret"] == MASK
        connect.pause("c1")
        assert connect.status("c1").state == "PAUSED"
        connect.resume("c1")
        assert connect.status("c1").state == "RUNNING"
        states = [c.summary.get("state") for c in cloud.calls("connect") if c.op == "status"]
        assert states[:3] == ["RUNNING", "RUNNING", "PAUSED"]  # 202: the first read after pause shows the old state
        assert connect.delete("c1") is True and connect.status("c1") is None
        jobs.close()
        connect.close()
    assert cloud.violations == [] and cloud.rejected == []
