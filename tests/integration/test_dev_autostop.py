"""database-autostop and database-autostart for `dev`, in-process, through the cloud doubles.

AWS is moto's server (real boto3 calls: the Aurora cluster's states, CloudWatch `Count` sums the test puts,
StopDBCluster / StartDBCluster), Confluent's managed Connect is the stateful double (pause, resume), and the
database the flows connect to once it is "available" is the local PostgreSQL standing in for Aurora's writer
(tests/integration/helpers.py::dev_cloud). What this cannot show: Aurora's minutes in `stopping` /
`starting` (moto's are instant: the waits are covered with set states in tests/contract/test_aws_aurora.py),
and API Gateway publishing the metric (moto emits none: the test writes it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.config import cloud_config
from connectors.variants import get_variant
from environments.aws.activity import CloudWatchActivityMeter
from environments.confluent.connect import ConfluentConnect
from environments.rollout_store import PrefectVariableRolloutStore
# imported at collection (as test_dev_deploy does): Prefect's console handler binds to the session's stderr
from flows.database_autostart import database_autostart
from flows.database_autostop import database_autostop
from flows.register_connectors import register_connectors
from pipeline.errors import ConfigError
from pipeline.inactivity import AUTOSTOP_KEY
from tests.integration.helpers import DEV_CLUSTER, MARKERS, dev_cloud, dev_secrets_allowed, secret_leaks

pytestmark = pytest.mark.integration

API_NAME = "cdc-dev-producer"
CONNECTOR = cloud_config(get_variant("v2-debezium"))["name"]


@pytest.fixture(scope="module")
def dev(cfg, stack, request, tmp_path_factory):
    with dev_cloud(cfg, stack, request, tmp_path_factory.mktemp("aws")) as dev, pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDC_API_NAME", API_NAME)
        mp.setitem(ConfluentConnect.__init__.__kwdefaults__, "poll_every", 0.02)
        dev.store = PrefectVariableRolloutStore("dev")
        dev.store.save(AUTOSTOP_KEY, {})
        dev.cw = dev.aws.client("cloudwatch")
        dev.rds = dev.aws.client("rds")
        register_connectors(environment="dev")
        yield dev
        if dev.rds.describe_db_clusters(DBClusterIdentifier=DEV_CLUSTER)["DBClusters"][0]["Status"] == "stopped":
            dev.rds.start_db_cluster(DBClusterIdentifier=DEV_CLUSTER)
        dev.store.save(AUTOSTOP_KEY, {})


@pytest.fixture
def dev_environ(dev, caplog, capfd):
    caplog.set_level(logging.INFO, logger="prefect")
    yield dev
    out, err = capfd.readouterr()
    dev.texts += [out, err, caplog.text]


def put_count(dev, when: datetime, value: float) -> None:
    dev.cw.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
        {"MetricName": "Count", "Dimensions": [{"Name": "ApiName", "Value": API_NAME}], "Timestamp": when,
         "Value": value, "Unit": "Count"}])


def cluster(dev) -> str:
    return dev.rds.describe_db_clusters(DBClusterIdentifier=DEV_CLUSTER)["DBClusters"][0]["Status"]


def connector(dev) -> str:
    return dev.cloud.connect.connectors[CONNECTOR]["state"]


def changes(dev, since_aws: int, since_cloud: int) -> tuple[list[str], list[str]]:
    aws = [a for a in dev.aws.actions(since_aws) if not a.split(":")[1].startswith(("Describe", "Get", "List"))]
    cloud = [f"{c.summary.get('action')} {c.summary.get('name')}" for c in dev.cloud.mutations(since_cloud)]
    return aws, cloud


# --- in order: each starts from the state the previous one left --------------------------------------------------

def test_no_metric_yet_keeps_the_database_running(dev_environ):
    dev = dev_environ
    before_aws, before_cloud = dev.aws.count(), len(dev.cloud.log)
    result = database_autostop(environment="dev")
    assert result["action"] == "keep-running" and "has no record of any request" in result["reason"], result
    assert result["figures"]["activity source"] == f"CloudWatch AWS/ApiGateway/Count {{ApiName={API_NAME}}}"
    assert cluster(dev) == "available" and connector(dev) == "RUNNING"
    assert changes(dev, before_aws, before_cloud) == ([], [])
    assert "cloudwatch:GetMetricStatistics" in dev.aws.actions(before_aws)


def test_recent_requests_keep_it_running(dev_environ):
    dev = dev_environ
    put_count(dev, datetime.now(timezone.utc) - timedelta(minutes=10), 4)
    result = database_autostop(environment="dev")
    assert result["action"] == "keep-running" and "4 request(s) in the last 3 h" in result["reason"], result
    assert cluster(dev) == "available"


def test_cloudwatch_failing_keeps_it_running_and_says_why(dev_environ, monkeypatch):
    """CloudWatch's endpoint refuses connections (a real boto3 call to a closed port): fail-safe."""
    from tests.contract.test_aws_aurora import _closed_port, _settings

    broken = _settings(f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setattr(CloudWatchActivityMeter, "from_settings",
                        classmethod(lambda cls, s: cls(broken.client("cloudwatch"), s.activity_namespace,
                                                       s.activity_metric, s.activity_dimensions())))
    result = database_autostop(environment="dev", inactivity_hours=0.05)
    assert result["action"] == "keep-running" and "could not be read" in result["reason"], result
    assert "unreachable" in result["figures"]["activity"] and cluster(dev_environ) == "available"


def test_quiet_for_the_window_pauses_capture_then_stops_aurora(dev_environ):
    dev = dev_environ
    # the window: the last 0.1 h; the latest requests (above) are older than that
    before_aws, before_cloud = dev.aws.count(), len(dev.cloud.log)
    result = database_autostop(environment="dev", inactivity_hours=0.1)
    assert result["action"] == "stop" and "no request in the last 360 s" in result["reason"], result
    assert result["figures"]["requests in window"] == "0"
    assert changes(dev, before_aws, before_cloud) == (["rds:StopDBCluster"], [f"pause {CONNECTOR}"])
    assert cluster(dev) == "stopped" and connector(dev) == "PAUSED"
    assert dev.store.load(AUTOSTOP_KEY)["connector"] == CONNECTOR
    again = database_autostop(environment="dev", inactivity_hours=0.1)
    assert again["action"] == "nothing" and "already stopped" in again["reason"]


def test_autostart_starts_aurora_then_resumes_capture(dev_environ):
    dev = dev_environ
    before_aws, before_cloud = dev.aws.count(), len(dev.cloud.log)
    result = database_autostart(environment="dev")
    assert result["action"] == "start", result
    assert "paused by auto-stop: resuming it" in result["steps"]["capture"]
    assert changes(dev, before_aws, before_cloud) == (["rds:StartDBCluster"], [f"resume {CONNECTOR}"])
    assert cluster(dev) == "available" and connector(dev) == "RUNNING" and not dev.store.load(AUTOSTOP_KEY)
    before_aws, before_cloud = dev.aws.count(), len(dev.cloud.log)
    again = database_autostart(environment="dev")  # converged: reported, nothing changed
    assert again["action"] == "ready" and "nothing to resume" in again["steps"]["capture"]
    assert changes(dev, before_aws, before_cloud) == ([], [])


def test_other_states_are_reported_not_acted_on(dev_environ):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.rds.models import rds_backends

    dev = dev_environ
    backend = rds_backends[DEFAULT_ACCOUNT_ID][dev.aws.region].clusters[DEV_CLUSTER]
    backend.status = "modifying"
    try:
        before_aws, before_cloud = dev.aws.count(), len(dev.cloud.log)
        stop = database_autostop(environment="dev", inactivity_hours=0.1)
        start = database_autostart(environment="dev")
        assert stop["action"] == "nothing" and "modifying: it is only stopped from available" in stop["reason"]
        assert start["action"] == "nothing" and "modifying" in start["reason"]
        assert changes(dev, before_aws, before_cloud) == ([], [])
    finally:
        backend.status = "available"


def test_prod_is_refused_before_anything_is_read(dev_environ):
    before_aws, before_cloud = dev_environ.aws.count(), len(dev_environ.cloud.log)
    with pytest.raises(ConfigError, match="database-autostop never runs on 'prod'"):
        database_autostop(environment="prod")
    assert dev_environ.aws.count() == before_aws and len(dev_environ.cloud.log) == before_cloud


def test_no_cloud_secret_in_any_message_artifact_or_log(dev, stack):
    from prefect.artifacts import Artifact
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_HOME

    from stack.settings import state_dir

    APILogHandler().flush()
    artifact = Artifact.get("database-autostop").data
    assert "| database state |" in artifact
    dev.texts.append(artifact)
    assert secret_leaks(dev_secrets_allowed(dev, stack), [state_dir(), Path(PREFECT_HOME.value())]) == []
    texts = "\n".join(dev.texts)
    assert "database-autostop (dev)" in texts
    assert [s for s in (*MARKERS, dev.db_password, dev.kafka_secret) if s in texts] == []
