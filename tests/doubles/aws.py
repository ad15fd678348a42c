"""AWS for a cloud environment's tests: moto's `ThreadedMotoServer` (real boto3 calls over HTTP), with the
Aurora cluster and the database secret a cloud environment expects, and moto's own request recorder
(`/moto-api/recorder/...`) to tell which AWS operations a run made, in order.

moto keeps its state per process (every server in the process shares it) and its recorder is process-wide,
so resources are created only when missing, and recording starts after the set-up: the set-up's requests
(`CreateSecret` carries the password) are never written to the recording.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "eu-west-1"
#: JSON-protocol target prefixes that do not name their service (CloudWatch's is its API's internal name)
_JSON_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


@dataclass
class AwsDouble:
    url: str
    region: str
    recording: Path
    access_key_id: str = "testing"
    secret_access_key: str = "testing"

    def client(self, service: str):
        return boto3.session.Session(aws_access_key_id=self.access_key_id,
                                     aws_secret_access_key=self.secret_access_key,
                                     region_name=self.region).client(
            service, endpoint_url=self.url, config=Config(retries={"max_attempts": 1}))

    def _moto_api(self, what: str, method: str = "POST") -> bytes:
        request = urllib.request.Request(f"{self.url}/moto-api/recorder/{what}", method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read()

    def start_recording(self) -> None:
        self._moto_api("reset-recording")
        self._moto_api("start-recording")

    def stop_recording(self) -> None:
        self._moto_api("stop-recording")

    def count(self) -> int:
        """How many AWS requests the recording holds (cheap: used as a mark by other doubles)."""
        try:
            with self.recording.open("rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def actions(self, since: int = 0) -> list[str]:
        """The recorded AWS operations, in order: `rds:DescribeDBClusters`, `secretsmanager:GetSecretValue`..."""
        out = []
        for line in self._moto_api("download-recording", "GET").decode().splitlines()[since:]:
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
            target = headers.get("x-amz-target")
            if target:  # JSON protocol (Secrets Manager): "secretsmanager.GetSecretValue"
                service, _, action = target.partition(".")
                out.append(f"{_JSON_SERVICES.get(service, service.lower())}:{action}")
                continue
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            action = (parse_qs(body).get("Action") or ["?"])[0]  # query protocol (RDS)
            # SigV4: Credential=<key>/<date>/<region>/<service>/aws4_request
            scope = _SCOPE.search(headers.get("authorization") or "")
            out.append(f"{scope.group(1) if scope else '?'}:{action}")
        return out


@contextmanager
def moto_server(recording: Path, region: str = REGION) -> Iterator[AwsDouble]:
    """moto's server on 127.0.0.1 (a free port) in a thread, its recorder writing to `recording`."""
    from moto.moto_api import recorder
    from moto.server import ThreadedMotoServer

    werkzeug = logging.getLogger("werkzeug")  # one INFO line per request otherwise
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # the recorder's file is chosen by MOTO_RECORDER_FILEPATH when moto is imported; moto may have been
    # imported by another test already, so it is pointed at ours here (and back afterwards)
    previous = recorder._location
    recorder._location = str(recording)
    recording.write_text("")
    aws = AwsDouble(f"http://{host}:{port}", region, recording)
    try:
        yield aws
    finally:
        try:
            aws.stop_recording()
        finally:
            recorder._location = previous
            server.stop()
            werkzeug.setLevel(level)


def aurora_cluster(aws: AwsDouble, cluster_id: str, *, logical_replication: str = "1",
                   family: str = "aurora-postgresql16") -> str:
    """An aurora-postgresql cluster with a writer and its own cluster parameter group setting
    rds.logical_replication; returns the group's name. Existing resources are reused."""
    rds = aws.client("rds")
    group = f"{cluster_id}-cluster-params"
    try:
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, DBParameterGroupFamily=family,
                                              Description=f"{cluster_id}: logical replication for CDC")
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("DBParameterGroupAlreadyExists", "DBParameterGroupAlreadyExistsFault"):
            raise
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName=group,
        Parameters=[{"ParameterName": "rds.logical_replication", "ParameterValue": logical_replication,
                     "ApplyMethod": "pending-reboot"}])
    try:
        rds.describe_db_clusters(DBClusterIdentifier=cluster_id)
    except ClientError as err:
        if err.response["Error"]["Code"] != "DBClusterNotFoundFault":
            raise
        rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", EngineVersion="16.4",
                              MasterUsername="cdc", MasterUserPassword="moto-only-not-used-0", Port=5432,
                              DBClusterParameterGroupName=group)
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-writer", DBClusterIdentifier=cluster_id,
                               Engine="aurora-postgresql", DBInstanceClass="db.serverless")
    return group


def db_secret(aws: AwsDouble, name: str, password: str, username: str = "cdc") -> str:
    """A Secrets Manager secret shaped as RDS writes it ({"username", "password"}); returns its ARN."""
    sm = aws.client("secretsmanager")
    value = json.dumps({"username": username, "password": password})
    try:
        return sm.create_secret(Name=name, SecretString=value)["ARN"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceExistsException":
            raise
        return sm.put_secret_value(SecretId=name, SecretString=value)["ARN"]
