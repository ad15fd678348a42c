"""The AWS side of the inactivity shutdown and start on demand, against moto's server (real boto3 calls):
the auto-stop verdict from CloudWatch sums the test puts, fail-safe when CloudWatch fails, the producer
API's start ask (StartDBCluster or the auto-start function) made once for many failing requests, and the
Lambda's database password read from Secrets Manager."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from api.app import UNAVAILABLE_BODY, create_app
from api.settings import load_api_settings
from api.start_on_demand import aws_starter
from environments.aws import ActivityUnreachable
from environments.aws.activity import CloudWatchActivityMeter
from pipeline.errors import ConfigError
from pipeline.inactivity import autostop_verdict
from tests.contract.test_aws_aurora import (  # noqa: F401  (fixtures)
    AWS_SECRET, DB_PASSWORD, REGION, _closed_port, _name, _put_count, _settings, make_cluster, moto_url, rds,
    settings, simple_lambda, status)
from tests.unit.test_api import SEED_EXAMPLE, MemoryStore

NOW = datetime.now(timezone.utc).replace(microsecond=0)
WINDOW = timedelta(hours=3)


def meter(settings, api: str) -> CloudWatchActivityMeter:
    return CloudWatchActivityMeter.from_settings(settings.model_copy(update={"api_name": api}))


def verdict_from(m: CloudWatchActivityMeter):
    """What decide-autostop does with a meter: a failed read is the fail-safe's doubt, never an error."""
    try:
        reading, unreadable = m.reading(NOW - WINDOW, NOW), None
    except Exception as err:  # noqa: BLE001 — as the task does
        reading, unreadable = None, str(err)
    return autostop_verdict(state="available", window=WINDOW, now=NOW, reading=reading, unreadable=unreadable)


def test_autostop_verdict_from_cloudwatch_sums(settings):
    cw = settings.client("cloudwatch")
    busy, quiet, unknown = _name("api"), _name("api"), _name("api")
    _put_count(cw, busy, NOW - timedelta(minutes=20), 3)
    _put_count(cw, busy, NOW - timedelta(minutes=170), 2)
    _put_count(cw, quiet, NOW - timedelta(hours=4), 9)  # the metric exists, nothing in the window
    reading = meter(settings, busy).reading(NOW - WINDOW, NOW)
    assert reading.requests == 5.0 and reading.source == f"CloudWatch AWS/ApiGateway/Count {{ApiName={busy}}}"
    assert verdict_from(meter(settings, busy)).action == "keep-running"
    stop = verdict_from(meter(settings, quiet))
    assert stop.action == "stop" and stop.figures["requests in window"] == "0"
    doubt = verdict_from(meter(settings, unknown))  # CloudWatch does not list the metric: cannot tell
    assert doubt.action == "keep-running" and "has no record of any request" in doubt.reason


def test_autostop_is_fail_safe_when_cloudwatch_fails(settings, moto_url):
    unreachable = _settings(f"http://127.0.0.1:{_closed_port()}").model_copy(update={"api_name": "producer"})
    with pytest.raises(ActivityUnreachable):
        CloudWatchActivityMeter.from_settings(unreachable).reading(NOW - WINDOW, NOW)
    for failing in (CloudWatchActivityMeter.from_settings(unreachable),
                    meter(_settings(moto_url, region="xx-nowhere-1"), "producer"),  # moto answers HTTP 500
                    CloudWatchActivityMeter.from_settings(settings)):  # no API name: no metric to read
        verdict = verdict_from(failing)
        assert verdict.action == "keep-running" and "fail-safe" in verdict.reason, verdict
        assert AWS_SECRET not in verdict.reason
    with pytest.raises(ConfigError, match="CDC_API_NAME"):
        CloudWatchActivityMeter.from_settings(settings).reading(NOW - WINDOW, NOW)


def test_the_api_starts_a_stopped_cluster_once_for_50_failing_requests(settings, rds, tmp_path):
    cluster_id, _ = make_cluster(rds)
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    aws = settings.model_copy(update={"aurora_cluster_id": cluster_id})
    store = MemoryStore()
    store.unavailable = True
    starts, gate = [], threading.Event()
    ask = aws_starter(aws, "rds")

    def counted():
        starts.append(status(rds, cluster_id))
        outcome = ask()
        gate.wait(2)  # the other requests arrive while this ask is in flight
        return outcome

    from tests.unit.test_api import settings as api_settings

    app = create_app(api_settings(tmp_path), store=store, request_start=counted)
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(lambda _: client.post("/events", json=SEED_EXAMPLE), range(50)))
        gate.set()
    assert {a.status_code for a in answers} == {503} and answers[0].json() == UNAVAILABLE_BODY
    assert all(a.headers["retry-after"] == "120" for a in answers)
    assert starts == ["stopped"] and status(rds, cluster_id) == "available"  # one StartDBCluster
    # asked again while it is available (or starting): reported, nothing sent
    assert aws_starter(aws, "rds")() == f"aurora cluster {cluster_id}: available"


def test_the_api_invokes_the_autostart_function(settings, simple_lambda):
    role = settings.client("iam").create_role(RoleName=_name("role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = _name("autostart")
    settings.client("lambda").create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="h.h",
                                              Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    ask = aws_starter(settings.model_copy(update={"autostart_function": fn}), "function")
    assert ask() == f"auto-start function {fn} invoked (HTTP 202)"
    with pytest.raises(ConfigError, match="CDC_AURORA_AUTOSTART_FUNCTION"):
        aws_starter(settings, "function")


def test_the_lambda_reads_its_database_password_from_secrets_manager(settings, moto_url, monkeypatch):
    arn = settings.client("secretsmanager").create_secret(
        Name=_name("db"), SecretString=json.dumps({"username": "cdc", "password": DB_PASSWORD}))["ARN"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    environ = {"CDC_API_DB_HOST": "proxy.example", "CDC_DB_USER": "cdc", "CDC_DB_SECRET_ARN": arn,
               "CDC_AWS_REGION": REGION, "CDC_AWS_ENDPOINT_URL": moto_url, "CDC_AURORA_CLUSTER_ID": "cdc-dev"}
    loaded = load_api_settings("dev", environ=environ)
    assert loaded.database.password.get_secret_value() == DB_PASSWORD
    assert DB_PASSWORD not in repr(loaded) and AWS_SECRET not in repr(loaded)
    assert loaded.start_with == "rds" and loaded.aws.db_secret_arn == arn


def test_the_autostart_function_starts_only_its_own_stopped_cluster(settings, rds, moto_url, monkeypatch):
    from api.autostart_handler import handler

    cluster_id, _ = make_cluster(rds)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    environ = {"CDC_AWS_REGION": REGION, "CDC_AURORA_CLUSTER_ID": cluster_id, "CDC_AWS_ENDPOINT_URL": moto_url}
    assert handler({"cluster": cluster_id}, None, environ) == {
        "cluster": cluster_id, "before": "available", "after": "available", "action": "none"}
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    assert handler({"cluster": cluster_id, "source": "producer-api"}, None, environ)["action"] == "started"
    assert status(rds, cluster_id) == "available"
    with pytest.raises(ConfigError, match=f"starts cluster {cluster_id}, not someone-elses"):
        handler({"cluster": "someone-elses"}, None, environ)
    with pytest.raises(ConfigError, match="missing CDC_AWS_REGION, CDC_AURORA_CLUSTER_ID"):
        handler({}, None, {})
    from tests.contract.test_aws_aurora import set_status

    set_status(cluster_id, "stopping")
    refused = handler({}, None, environ)
    assert refused["action"] == "none" and "stopping" in refused["reason"]
    set_status(cluster_id, "available")
