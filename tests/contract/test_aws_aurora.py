"""The AWS adapter against moto's server: real boto3 calls over HTTP, no patched boto3.

moto 5.2.5 runs in-process (`ThreadedMotoServer`) for the whole session. Where AWS has a state moto does not
model (`starting`, `stopping`, `backing-up`, `failed`: moto's stop/start are instant), the test sets the
cluster's status in moto's backend — the double's state — and the adapter still reads it through boto3.
Every resource name is unique per test, so tests do not depend on each other's leftovers.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import datetime, timedelta, timezone

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends
from moto.server import ThreadedMotoServer
from pydantic import SecretStr, ValidationError

from environments.aws import (
    ActivityUnreachable,
    ActivityUnreadable,
    AuroraCluster,
    AuroraEndpoint,
    AwsError,
    AwsSettings,
    ClusterNotFound,
    ClusterStateError,
    api_request_count,
    aurora_tls_conninfo,
    ca_bundle_problem,
    invoke_autostart,
)
from pipeline.errors import ConfigError, PipelineError, TransientError
from pipeline.ports import Infrastructure, ResourceCheck

REGION = "eu-west-1"
#: distinctive values, so that a leak into an error or a repr is unmistakable
AWS_SECRET = "aws-secret-" + uuid.uuid4().hex
DB_PASSWORD = "db-password-" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _settings(url: str, **overrides) -> AwsSettings:
    values = dict(region=REGION, endpoint_url=url, access_key_id="testing",
                  secret_access_key=SecretStr(AWS_SECRET), aurora_cluster_id="unset", max_attempts=1,
                  connect_timeout=2, read_timeout=10)
    values.update(overrides)
    return AwsSettings(**values)


@pytest.fixture
def settings(moto_url) -> AwsSettings:
    return _settings(moto_url)


@pytest.fixture
def rds(settings):
    return settings.client("rds")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_cluster(rds, logical_replication: str | None = "1", *, group: bool = True,
                 writer: bool = True) -> tuple[str, str | None]:
    """An aurora-postgresql cluster (and writer instance); its own cluster parameter group unless group=False."""
    cluster_id, group_name = _name("cdc"), None
    extra = {}
    if group:
        group_name = _name("cdc-pg")
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group_name,
                                              DBParameterGroupFamily="aurora-postgresql16", Description="cdc")
        if logical_replication is not None:
            rds.modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=group_name,
                Parameters=[{"ParameterName": "rds.logical_replication", "ParameterValue": logical_replication,
                             "ApplyMethod": "pending-reboot"}])
        extra["DBClusterParameterGroupName"] = group_name
    rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="cdc", MasterUserPassword="not-the-secret-under-test", Port=5432, **extra)
    if writer:
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-writer", DBClusterIdentifier=cluster_id,
                               Engine="aurora-postgresql", DBInstanceClass="db.serverless")
    return cluster_id, group_name


def set_status(cluster_id: str, status: str) -> None:
    """Put the cluster in a state moto does not reach by itself (AWS's intermediate states)."""
    rds_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[cluster_id].status = status


def status(rds, cluster_id: str) -> str:
    return rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["Status"]


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text, text
    return text


# --- settings -----------------------------------------------------------------------------------------------

def test_settings_hide_secrets_and_cache_clients(moto_url):
    s = _settings(moto_url, session_token=SecretStr(AWS_SECRET + "-token"))
    assert AWS_SECRET not in repr(s) and AWS_SECRET not in str(s)
    assert s.client("rds") is s.client("rds")
    assert s.client("rds") is not s.client("cloudwatch")
    other = s.model_copy(update={"region": "us-east-1"})
    assert other.client("rds") is not s.client("rds")
    assert other.client("rds").meta.region_name == "us-east-1"
    assert s.client("rds").meta.endpoint_url == moto_url


def test_settings_refuse_unknown_keys_and_half_credentials(moto_url):
    with pytest.raises(ValidationError):
        _settings(moto_url, regoin="eu-west-1")
    with pytest.raises(ConfigError, match="go together"):
        _settings(moto_url, secret_access_key=None)
    with pytest.raises(ConfigError, match="ambiguous"):
        _settings(moto_url, profile="dev")


# --- state, start, stop -------------------------------------------------------------------------------------

def test_cluster_state_and_ensure_up(settings, rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster.from_settings(settings.model_copy(update={"aurora_cluster_id": cluster_id}))
    assert isinstance(aurora, Infrastructure) and aurora.STARTS_SERVERS is False
    assert aurora.database_state() == "available"
    [check] = aurora.ensure_up()
    assert isinstance(check, ResourceCheck)
    assert (check.resource, check.outcome, check.detail) == (f"aurora cluster {cluster_id}", "exists", "available")


def test_missing_cluster_is_one_line_naming_it_and_terraform(rds):
    aurora = AuroraCluster("no-such-cluster", rds)
    [check] = aurora.ensure_up()
    assert check.outcome == "missing" and check.resource == "aurora cluster no-such-cluster"
    assert "no-such-cluster" in check.detail and "terraform" in check.detail and "\n" not in check.detail
    for call in (aurora.database_state, aurora.start_database, aurora.stop_database,
                 lambda: aurora.wait_available(timeout=0), aurora.replication_problems, aurora.endpoint):
        with pytest.raises(ClusterNotFound, match="no-such-cluster") as caught:
            call()
        one_line(caught.value)


def test_stop_from_available_then_wait_stopped(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    assert aurora.stop_database() == "stopped"  # read back: moto's own stop answer says "available"
    assert status(rds, cluster_id) == "stopped"
    assert aurora.wait_stopped(timeout=5) == "stopped"


def test_stop_when_stopped_or_stopping_reports_without_acting(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    # a second StopDBCluster would be refused by moto with InvalidDBClusterStateFault: none is sent
    assert aurora.stop_database() == "stopped"
    set_status(cluster_id, "stopping")
    assert aurora.stop_database() == "stopping"
    assert status(rds, cluster_id) == "stopping"


def test_start_from_stopped_then_wait_available(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    assert aurora.start_database() == "available"  # moto's start answer says "started", not an AWS status
    assert status(rds, cluster_id) == "available"
    assert aurora.wait_available(timeout=5) == "available"


def test_start_while_available_or_starting_reports_without_acting(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    assert aurora.start_database() == "available"
    set_status(cluster_id, "starting")
    assert aurora.start_database() == "starting"
    assert status(rds, cluster_id) == "starting"


@pytest.mark.parametrize("state", ["stopping", "backing-up", "failed"])
def test_start_from_other_states_names_the_state(rds, state):
    cluster_id, _ = make_cluster(rds)
    set_status(cluster_id, state)
    with pytest.raises(ClusterStateError) as caught:
        AuroraCluster(cluster_id, rds).start_database()
    assert f"is {state}" in one_line(caught.value) and cluster_id in str(caught.value)
    assert status(rds, cluster_id) == state


@pytest.mark.parametrize("state", ["starting", "modifying", "failed"])
def test_stop_from_other_states_names_the_state(rds, state):
    cluster_id, _ = make_cluster(rds)
    set_status(cluster_id, state)
    with pytest.raises(ClusterStateError) as caught:
        AuroraCluster(cluster_id, rds).stop_database()
    assert f"is {state}" in one_line(caught.value)
    assert status(rds, cluster_id) == state


class _StartedByOthers:
    """The real client; right after our describe, someone else starts the cluster (moto's state changes)."""

    def __init__(self, rds, cluster_id):
        self._rds, self._cluster_id = rds, cluster_id

    def describe_db_clusters(self, **kw):
        answer = self._rds.describe_db_clusters(**kw)
        set_status(self._cluster_id, "available")
        return answer

    def __getattr__(self, name):
        return getattr(self._rds, name)


def test_invalid_state_fault_from_aws_is_one_clear_line(rds):
    cluster_id, _ = make_cluster(rds)
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    aurora = AuroraCluster(cluster_id, _StartedByOthers(rds, cluster_id))
    with pytest.raises(ClusterStateError) as caught:
        aurora.start_database()  # our describe said stopped; moto's StartDBCluster then refuses for real
    line = one_line(caught.value)
    assert "InvalidDBClusterStateFault" in line and "cannot start now" in line and cluster_id in line


def test_wait_available_gives_up_on_time_and_on_terminal_states(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    set_status(cluster_id, "starting")
    with pytest.raises(TransientError, match="not available after 0s \\(state starting\\)"):
        aurora.wait_available(timeout=0)  # one look (MaxAttempts=1): no sleep
    set_status(cluster_id, "failed")
    with pytest.raises(ClusterStateError, match="is failed: it will not become available") as caught:
        aurora.wait_available(timeout=60)  # a failure acceptor of the waiter ends the wait at once
    assert not caught.value.transient


def test_wait_stopped_gives_up_on_time_and_on_a_start(rds):
    cluster_id, _ = make_cluster(rds)
    aurora = AuroraCluster(cluster_id, rds)
    set_status(cluster_id, "stopping")
    with pytest.raises(TransientError, match="stopped not reached after 0s \\(state stopping\\)"):
        aurora.wait_stopped(timeout=0)
    set_status(cluster_id, "starting")
    with pytest.raises(ClusterStateError, match="is starting while waiting for it to stop"):
        aurora.wait_stopped(timeout=60)


def test_endpoint_is_the_writer_endpoint(rds):
    cluster_id, _ = make_cluster(rds)
    endpoint = AuroraCluster(cluster_id, rds).endpoint()
    assert isinstance(endpoint, AuroraEndpoint) and endpoint.port == 5432
    assert endpoint.host.startswith(f"{cluster_id}.cluster-")
    assert endpoint.reader_host.startswith(f"{cluster_id}.cluster-ro-")


# --- logical replication ------------------------------------------------------------------------------------

def test_replication_fine_when_parameter_is_1(rds):
    cluster_id, _ = make_cluster(rds, "1")
    assert AuroraCluster(cluster_id, rds).replication_problems() == []


@pytest.mark.parametrize("value, shown", [(None, "not set (0)"), ("0", "is 0")])
def test_replication_problem_names_the_group_and_the_exact_fix(rds, value, shown):
    cluster_id, group = make_cluster(rds, value)
    [problem] = AuroraCluster(cluster_id, rds).replication_problems()
    assert "\n" not in problem and shown in problem
    assert (f"aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name {group} --parameters "
            "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot") in problem
    assert f"then aws rds reboot-db-instance --db-instance-identifier {cluster_id}-writer" in problem


def test_replication_problem_for_the_default_group(rds):
    cluster_id, _ = make_cluster(rds, group=False, writer=False)
    [problem] = AuroraCluster(cluster_id, rds).replication_problems()
    # moto names the default group after MySQL ("default.aurora8.0") whatever the engine: only the prefix is checked
    assert "uses the default cluster parameter group default." in problem
    assert f"modify-db-cluster --db-cluster-identifier {cluster_id}" in problem
    assert "reboot the writer instance" in problem


class _WriterPendingReboot:
    """moto hard-codes DBClusterParameterGroupStatus "in-sync"; real AWS says "pending-reboot" until the reboot.

    This wrapper changes that one field of moto's real answer — the only way to reach the branch here.
    """

    def __init__(self, rds):
        self._rds = rds

    def describe_db_clusters(self, **kw):
        answer = self._rds.describe_db_clusters(**kw)
        for member in answer["DBClusters"][0]["DBClusterMembers"]:
            member["DBClusterParameterGroupStatus"] = "pending-reboot"
        return answer

    def __getattr__(self, name):
        return getattr(self._rds, name)


def test_replication_problem_while_the_writer_waits_for_a_reboot(rds):
    cluster_id, group = make_cluster(rds, "1")
    [problem] = AuroraCluster(cluster_id, _WriterPendingReboot(rds)).replication_problems()
    assert f"=1 in {group} is not applied yet" in problem
    assert f"aws rds reboot-db-instance --db-instance-identifier {cluster_id}-writer" in problem


# --- password and TLS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stored", [json.dumps({"username": "cdc", "password": DB_PASSWORD}), DB_PASSWORD],
                         ids=["rds-json", "plain-string"])
def test_db_password_from_secrets_manager(settings, rds, stored):
    arn = settings.client("secretsmanager").create_secret(Name=_name("db"), SecretString=stored)["ARN"]
    aurora = AuroraCluster.from_settings(settings.model_copy(update={"aurora_cluster_id": "x", "db_secret_arn": arn}))
    password = aurora.db_password()
    assert isinstance(password, SecretStr) and password.get_secret_value() == DB_PASSWORD
    assert DB_PASSWORD not in repr(password) and DB_PASSWORD not in str(password)


def test_db_password_errors_name_the_secret_not_its_value(settings):
    sm = settings.client("secretsmanager")
    no_password = sm.create_secret(Name=_name("db"), SecretString=json.dumps({"pass": DB_PASSWORD}))["ARN"]
    broken_json = sm.create_secret(Name=_name("db"), SecretString="{" + DB_PASSWORD)["ARN"]
    with pytest.raises(AwsError, match='JSON without a "password"') as caught:
        AuroraCluster("x", None, secretsmanager=sm, secret_arn=no_password).db_password()
    assert no_password in str(caught.value)
    # not JSON after all: the whole string is the password (and the decode error is not kept anywhere)
    assert AuroraCluster("x", None, secretsmanager=sm, secret_arn=broken_json).db_password().get_secret_value() \
        == "{" + DB_PASSWORD
    missing = no_password.replace("secret:db", "secret:nope")
    with pytest.raises(AwsError, match="not found"):
        AuroraCluster("x", None, secretsmanager=sm, secret_arn=missing).db_password()
    with pytest.raises(ConfigError, match="no database secret ARN"):
        AuroraCluster("x", None).db_password()


def test_tls_conninfo_verifies_the_rds_ca(tmp_path):
    bundle = tmp_path / "global-bundle.pem"
    assert aurora_tls_conninfo(bundle) == {"sslmode": "verify-full", "sslrootcert": str(bundle)}
    with pytest.raises(ConfigError, match="truststore.pki.rds.amazonaws.com"):
        aurora_tls_conninfo(None)
    assert "does not exist" in ca_bundle_problem(bundle)
    bundle.write_text("not a certificate")
    assert "holds no PEM certificate" in ca_bundle_problem(bundle)
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert ca_bundle_problem(bundle) is None


# --- CloudWatch activity ------------------------------------------------------------------------------------

def _put_count(cw, api: str, when: datetime, value: float, **extra_dims) -> None:
    dims = [{"Name": "ApiName", "Value": api}] + [{"Name": k, "Value": v} for k, v in extra_dims.items()]
    cw.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
        {"MetricName": "Count", "Dimensions": dims, "Timestamp": when, "Value": value, "Unit": "Count"}])


def test_request_count_sums_the_window(settings):
    cw, api = settings.client("cloudwatch"), _name("api")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for minutes_ago, value in [(170, 1), (120, 2), (61, 3), (5, 4)]:
        _put_count(cw, api, now - timedelta(minutes=minutes_ago), value)
    _put_count(cw, api, now - timedelta(hours=5), 1000)  # before the window
    cw.put_metric_data(Namespace="Other", MetricData=[  # same name and dimensions, another namespace
        {"MetricName": "Count", "Dimensions": [{"Name": "ApiName", "Value": api}],
         "Timestamp": now - timedelta(minutes=30), "Value": 500}])
    count = lambda hours: api_request_count(cw, "AWS/ApiGateway", "Count", {"ApiName": api},  # noqa: E731
                                            now - timedelta(hours=hours), now)
    assert count(3) == 10.0
    assert count(1) == 4.0


def test_request_count_zero_when_metric_exists_none_when_unknown(settings):
    cw, api, staged = settings.client("cloudwatch"), _name("api"), _name("api")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _put_count(cw, api, now - timedelta(hours=6), 7)
    _put_count(cw, staged, now - timedelta(hours=6), 7, Stage="dev")
    window = dict(since=now - timedelta(hours=3), until=now)
    assert api_request_count(cw, "AWS/ApiGateway", "Count", {"ApiName": api}, **window) == 0.0
    assert api_request_count(cw, "AWS/ApiGateway", "Count", {"ApiName": _name("nope")}, **window) is None
    # only {ApiName, Stage} exists for `staged`: the {ApiName} metric is not the same metric in CloudWatch
    assert api_request_count(cw, "AWS/ApiGateway", "Count", {"ApiName": staged}, **window) is None
    with pytest.raises(ConfigError, match="timezone-aware"):
        api_request_count(cw, "AWS/ApiGateway", "Count", {"ApiName": api}, datetime(2026, 1, 1), datetime(2026, 1, 2))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NotCloudWatch(BaseHTTPRequestHandler):
    """Answers every request with 200 and a web page, as a captive portal or a wrong endpoint would."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_cloudwatch_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotCloudWatch)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_request_count_errors_are_specific_and_transient_where_retrying_helps(moto_url, not_cloudwatch_url):
    now = datetime.now(timezone.utc)
    window = dict(since=now - timedelta(hours=3), until=now)
    args = ("AWS/ApiGateway", "Count", {"ApiName": "producer"})
    cases = [
        # nothing listens there: connection refused
        (_settings(f"http://127.0.0.1:{_closed_port()}").client("cloudwatch"), ActivityUnreachable, "unreachable"),
        # a region moto does not serve: moto answers HTTP 500 (server-side KeyError)
        (_settings(moto_url, region="xx-nowhere-1").client("cloudwatch"), ActivityUnreachable, "HTTP 500"),
        # an endpoint that answers 200 with something that is not CloudWatch's answer
        (_settings(not_cloudwatch_url).client("cloudwatch"), ActivityUnreadable, "not a CloudWatch statistics answer"),
    ]
    for cw, kind, text in cases:
        with pytest.raises(kind, match=text) as caught:
            api_request_count(cw, *args, **window)
        assert isinstance(caught.value, ActivityUnreadable)  # one type for the fail-safe branch
        assert caught.value.transient is (kind is ActivityUnreachable)
        assert AWS_SECRET not in one_line(caught.value)


# --- Lambda auto-start --------------------------------------------------------------------------------------

def _moto_config(url: str, use_docker: bool) -> None:
    body = json.dumps({"lambda": {"use_docker": use_docker}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")).read()


@pytest.fixture
def simple_lambda(moto_url):
    """moto's Docker-free Lambda backend ("simple": it echoes, it never runs code). Process-wide: restored after."""
    _moto_config(moto_url, use_docker=False)
    yield
    _moto_config(moto_url, use_docker=True)


def test_invoke_autostart_queues_an_event(settings, simple_lambda):
    role = settings.client("iam").create_role(RoleName=_name("role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = _name("autostart")
    settings.client("lambda").create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="h.h",
                                              Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    assert invoke_autostart(settings.client("lambda"), fn, {"reason": "api request"}) == 202


def test_invoke_autostart_of_a_missing_function_names_it(settings):
    # the default (Docker) backend looks the function up before it would need Docker
    with pytest.raises(AwsError, match="auto-start function no-such-fn does not exist") as caught:
        invoke_autostart(settings.client("lambda"), "no-such-fn")
    assert not caught.value.transient


# --- secrets ------------------------------------------------------------------------------------------------

def test_no_secret_in_any_error(moto_url, settings, rds):
    """Every failure path above, once more, with the AWS secret key and the DB password in play."""
    sm = settings.client("secretsmanager")
    bad_arn = sm.create_secret(Name=_name("db"), SecretString=json.dumps({"pwd": DB_PASSWORD}))["ARN"]
    cluster_id, _ = make_cluster(rds, "0")
    set_status(cluster_id, "backing-up")
    unreachable = _settings(f"http://127.0.0.1:{_closed_port()}", aurora_cluster_id="c")
    now = datetime.now(timezone.utc)
    failures = [
        lambda: AuroraCluster("missing", rds).start_database(),
        lambda: AuroraCluster(cluster_id, rds).stop_database(),
        lambda: AuroraCluster(cluster_id, rds).wait_available(timeout=0),
        lambda: AuroraCluster.from_settings(unreachable).database_state(),
        lambda: AuroraCluster("x", None, secretsmanager=sm, secret_arn=bad_arn).db_password(),
        lambda: AuroraCluster("x", None, secretsmanager=unreachable.client("secretsmanager"),
                              secret_arn=bad_arn).db_password(),
        lambda: api_request_count(unreachable.client("cloudwatch"), "AWS/ApiGateway", "Count", {},
                                  now - timedelta(hours=1), now),
        lambda: invoke_autostart(unreachable.client("lambda"), "fn"),
    ]
    for fail in failures:
        with pytest.raises(PipelineError) as caught:
            fail()
        err, seen = caught.value, []
        while err is not None:
            seen += [str(err), repr(err), repr(getattr(err, "__dict__", {}))]
            err = err.__cause__ or err.__context__
        for text in seen:
            assert AWS_SECRET not in text and DB_PASSWORD not in text, text
    problems = AuroraCluster(cluster_id, rds).replication_problems()
    assert problems and all(AWS_SECRET not in p and DB_PASSWORD not in p for p in problems)
