"""The AWS `Infrastructure` for the database: one Aurora PostgreSQL cluster, reached through boto3.

AWS rules (../shared/reference/aws-and-terraform.md, section 4): stop needs `available`, start needs
`stopped`, otherwise `InvalidDBClusterStateFault`; a cluster passes through `stopping`/`starting`; a stopped
cluster starts by itself after seven days. boto3 has a `db_cluster_available` waiter but none for
"stopped", so `wait_stopped` polls with `pipeline.polling.poll_until`.

Start and stop are idempotent where that is safe: starting a cluster that is already `starting`/`available`
(or stopping one that is `stopping`/`stopped`) reports the state and does nothing; any other state is one
line naming it. The state returned after a request is read back with a describe, because the request's own
answer is not reliable (moto answers `started` — not an AWS status — to a start, and the previous status to
a stop).

The cluster exists only if terraform / the provision flow created it: `ensure_up` checks, never creates.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from pydantic import SecretStr

from environments.aws.credentials import AwsSettings
from environments.aws.errors import AwsError, ClusterNotFound, ClusterStateError, error_code, translate
from pipeline.errors import ConfigError, TransientError
from pipeline.polling import poll_until
from pipeline.ports import ResourceCheck

log = logging.getLogger(__name__)

LOGICAL_REPLICATION = "rds.logical_replication"

#: Where users get the CA bundle `sslrootcert` points at (not shipped here: it is public, versioned by AWS).
RDS_CA_BUNDLE_HELP = (
    "download the RDS CA bundle (all regions: https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem; "
    "per region: https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem; see "
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html) and set its path "
    "as the RDS CA bundle setting"
)


@dataclass(frozen=True)
class AuroraEndpoint:
    host: str  # the cluster (writer) endpoint: CDC and writes must use it
    port: int
    reader_host: str | None = None


def aurora_tls_conninfo(ca_bundle: str | os.PathLike[str] | None) -> dict[str, str]:
    """psycopg keyword arguments to add for Aurora: TLS verified against the RDS CA, host name checked.

    Pure: it does not look at the file (`ca_bundle_problem` does). `verify-full` makes libpq check both the
    chain (against `sslrootcert`) and that the certificate names the host, so connect with the cluster's
    endpoint name, never its IP address.
    """
    if ca_bundle is None or not str(ca_bundle).strip():
        raise ConfigError("Aurora connections verify the server's certificate, and no RDS CA bundle is set",
                          fix=RDS_CA_BUNDLE_HELP)
    return {"sslmode": "verify-full", "sslrootcert": str(ca_bundle)}


def ca_bundle_problem(ca_bundle: str | os.PathLike[str] | None) -> str | None:
    """One line if the CA bundle file is missing or holds no PEM certificate, else None."""
    if ca_bundle is None or not str(ca_bundle).strip():
        return f"no RDS CA bundle is set — fix: {RDS_CA_BUNDLE_HELP}"
    path = Path(ca_bundle)
    if not path.is_file():
        return f"RDS CA bundle {path} does not exist — fix: {RDS_CA_BUNDLE_HELP}"
    try:
        head = path.read_text(errors="replace")
    except OSError as err:
        return f"RDS CA bundle {path} is unreadable ({err.strerror}) — fix: make it readable by this user"
    if "-----BEGIN CERTIFICATE-----" not in head:
        return f"RDS CA bundle {path} holds no PEM certificate — fix: {RDS_CA_BUNDLE_HELP}"
    return None


class AuroraCluster:
    """`pipeline.ports.Infrastructure` for an Aurora cluster (the database part of a cloud environment)."""

    #: the cluster is provisioned by terraform; `ensure_up` only checks that it exists
    STARTS_SERVERS = False

    #: states in which a stop/start request is not needed: report them, do nothing
    START_NOT_NEEDED = frozenset({"starting", "available"})
    STOP_NOT_NEEDED = frozenset({"stopping", "stopped"})

    def __init__(self, cluster_id: str, rds: Any, *, secretsmanager: Any = None, secret_arn: str | None = None,
                 poll_every: float = 15.0):
        self.cluster_id = cluster_id
        self.rds = rds
        self.secretsmanager = secretsmanager
        self.secret_arn = secret_arn
        self.poll_every = poll_every

    @classmethod
    def from_settings(cls, settings: AwsSettings, **kwargs: Any) -> AuroraCluster:
        return cls(settings.aurora_cluster_id, settings.client("rds"),
                   secretsmanager=settings.client("secretsmanager") if settings.db_secret_arn else None,
                   secret_arn=settings.db_secret_arn, **kwargs)

    @property
    def name(self) -> str:
        return f"aurora cluster {self.cluster_id}"

    def __repr__(self) -> str:
        return f"AuroraCluster({self.cluster_id!r})"

    # --- reading ----------------------------------------------------------------------------------------

    def _missing(self) -> ClusterNotFound:
        return ClusterNotFound(f"{self.name} does not exist in this account and region",
                               fix="create it with terraform (the provision flow checks, it does not create)")

    def describe(self) -> dict:
        """The cluster's DescribeDBClusters entry."""
        try:
            clusters = self.rds.describe_db_clusters(DBClusterIdentifier=self.cluster_id)["DBClusters"]
        except (ClientError, BotoCoreError) as err:
            if error_code(err) == "DBClusterNotFoundFault":
                raise self._missing() from None
            raise translate(err, f"describe {self.name}", permission="rds:DescribeDBClusters") from None
        if not clusters:
            raise self._missing()
        return clusters[0]

    def database_state(self) -> str:
        """The cluster's Status: available | stopped | starting | stopping | creating | ... (AWS vocabulary)."""
        return self.describe()["Status"]

    def endpoint(self) -> AuroraEndpoint:
        """The writer endpoint and port, for the database connection settings."""
        cluster = self.describe()
        if not cluster.get("Endpoint") or not cluster.get("Port"):
            raise AwsError(f"{self.name} has no endpoint yet (status {cluster.get('Status')})",
                           fix="wait until it is available")
        return AuroraEndpoint(cluster["Endpoint"], int(cluster["Port"]), cluster.get("ReaderEndpoint"))

    def ensure_up(self) -> list[ResourceCheck]:
        began = time.monotonic()
        try:
            state = self.database_state()
        except ClusterNotFound as err:
            return [ResourceCheck(self.name, "missing", time.monotonic() - began, str(err))]
        return [ResourceCheck(self.name, "exists", time.monotonic() - began, state)]

    # --- start / stop -----------------------------------------------------------------------------------

    def start_database(self) -> str:
        """Start from `stopped`; report `starting`/`available` without acting; other states raise."""
        state = self.database_state()
        if state in self.START_NOT_NEEDED:
            log.info("%s is %s: no start needed", self.name, state)
            return state
        if state != "stopped":
            raise ClusterStateError(f"{self.name} is {state}: it can only be started from stopped",
                                    fix=_state_fix(state, "start"))
        self._request("start", self.rds.start_db_cluster, "rds:StartDBCluster")
        log.info("%s: start requested", self.name)
        return self.database_state()

    def stop_database(self) -> str:
        """Stop from `available`; report `stopping`/`stopped` without acting; other states raise."""
        state = self.database_state()
        if state in self.STOP_NOT_NEEDED:
            log.info("%s is %s: no stop needed", self.name, state)
            return state
        if state != "available":
            raise ClusterStateError(f"{self.name} is {state}: it can only be stopped from available",
                                    fix=_state_fix(state, "stop"))
        self._request("stop", self.rds.stop_db_cluster, "rds:StopDBCluster")
        log.info("%s: stop requested", self.name)
        return self.database_state()

    def _request(self, verb: str, call, permission: str) -> None:
        try:
            call(DBClusterIdentifier=self.cluster_id)
        except (ClientError, BotoCoreError) as err:
            code = error_code(err)
            if code == "DBClusterNotFoundFault":
                raise self._missing() from None
            if code in ("InvalidDBClusterStateFault", "InvalidDBInstanceStateFault"):
                # the state changed between our describe and the request (or an instance is busy)
                raise ClusterStateError(
                    f"{self.name} cannot {verb} now: AWS says {code}: {err.response['Error'].get('Message', '')}",
                    fix=f"check its state (and its instances') and {verb} again once it is settled") from None
            raise translate(err, f"{verb} {self.name}", permission=permission) from None

    # --- waiting ----------------------------------------------------------------------------------------

    def wait_available(self, timeout: float = 1200.0) -> str:
        """Wait with boto3's `db_cluster_available` waiter; its delay and attempts come from `timeout`."""
        delay = _waiter_delay(timeout, self.poll_every)
        attempts = max(1, math.floor(timeout / delay) + 1)
        try:
            self.rds.get_waiter("db_cluster_available").wait(
                DBClusterIdentifier=self.cluster_id, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})
        except WaiterError as err:
            last = err.last_response or {}
            if "Error" in last:
                if last["Error"].get("Code") == "DBClusterNotFoundFault":
                    raise self._missing() from None
                raise AwsError(f"waiting for {self.name} to be available: AWS answered "
                               f"{last['Error'].get('Code')}: {last['Error'].get('Message', '')}") from None
            state = next(iter(c.get("Status") for c in last.get("DBClusters", [])), "unknown")
            if "terminal failure" in str(err.kwargs.get("reason", err)):
                raise ClusterStateError(f"{self.name} is {state}: it will not become available",
                                        fix=_state_fix(state, "start")) from None
            raise TransientError(f"{self.name} not available after {timeout:.0f}s (state {state})") from None
        except (ClientError, BotoCoreError) as err:
            raise translate(err, f"wait for {self.name} to be available") from None
        return "available"

    def wait_stopped(self, timeout: float = 1200.0) -> str:
        """Poll until `stopped` (boto3 has no waiter for it); `available`/`stopping` mean "not yet"."""
        seen = {"state": "unknown"}

        def check() -> str | None:
            state = seen["state"] = self.database_state()
            if state == "stopped":
                return state
            if state in ("available", "stopping"):
                return None
            raise ClusterStateError(f"{self.name} is {state} while waiting for it to stop",
                                    fix=_state_fix(state, "stop"))

        return poll_until(check, timeout=timeout, every=_waiter_delay(timeout, self.poll_every),
                          what=f"{self.name} stopped", last=lambda: f"state {seen['state']}")

    # --- replication settings ---------------------------------------------------------------------------

    def replication_problems(self) -> list[str]:
        """`rds.logical_replication` must be 1 in the cluster parameter group, and applied (writer rebooted)."""
        cluster = self.describe()
        group = cluster.get("DBClusterParameterGroup") or ""
        writer = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])
                       if m.get("IsClusterWriter")), None)
        reboot = (f"aws rds reboot-db-instance --db-instance-identifier {writer}" if writer
                  else "reboot the writer instance")
        if not group or group.startswith("default."):
            return [f"{self.name} uses the default cluster parameter group {group or '(none)'}, which cannot be "
                    f"changed and leaves {LOGICAL_REPLICATION}=0 — fix: create a cluster parameter group of the "
                    f"cluster's family with {LOGICAL_REPLICATION}=1, attach it with aws rds modify-db-cluster "
                    f"--db-cluster-identifier {self.cluster_id} --db-cluster-parameter-group-name <new group>, "
                    f"then {reboot}"]
        value = self._parameter(group, LOGICAL_REPLICATION)
        if value != "1":
            return [f"{self.name}: {LOGICAL_REPLICATION} is {value if value is not None else 'not set (0)'} in "
                    f"cluster parameter group {group} — fix: aws rds modify-db-cluster-parameter-group "
                    f"--db-cluster-parameter-group-name {group} --parameters "
                    f"ParameterName={LOGICAL_REPLICATION},ParameterValue=1,ApplyMethod=pending-reboot, "
                    f"then {reboot}"]
        pending = [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])
                   if m.get("IsClusterWriter") and m.get("DBClusterParameterGroupStatus") == "pending-reboot"]
        if pending:
            return [f"{self.name}: {LOGICAL_REPLICATION}=1 in {group} is not applied yet (writer {pending[0]} "
                    f"is pending-reboot) — fix: aws rds reboot-db-instance --db-instance-identifier {pending[0]}"]
        return []

    def _parameter(self, group: str, name: str) -> str | None:
        """The parameter's value in the cluster parameter group (None: absent, i.e. the engine default)."""
        try:
            for page in self.rds.get_paginator("describe_db_cluster_parameters").paginate(
                    DBClusterParameterGroupName=group):
                for p in page.get("Parameters", []):
                    if p.get("ParameterName") == name:
                        return p.get("ParameterValue")
        except (ClientError, BotoCoreError) as err:
            if error_code(err) in ("DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"):
                raise AwsError(f"{self.name} names cluster parameter group {group}, which does not exist",
                               fix="re-apply terraform so that the group exists and is attached") from None
            raise translate(err, f"read cluster parameter group {group}",
                            permission="rds:DescribeDBClusterParameters") from None
        return None

    # --- credentials ------------------------------------------------------------------------------------

    def db_password(self) -> SecretStr:
        """The database password from Secrets Manager (a plain string, or JSON with a "password" key)."""
        if not self.secret_arn or self.secretsmanager is None:
            raise ConfigError(f"no database secret ARN is configured for {self.name}",
                              fix="set the database secret ARN, or the database password itself")
        try:
            answer = self.secretsmanager.get_secret_value(SecretId=self.secret_arn)
        except (ClientError, BotoCoreError) as err:
            if error_code(err) == "ResourceNotFoundException":
                raise AwsError(f"database secret {self.secret_arn} not found",
                               fix="check the secret ARN and region (terraform outputs it)") from None
            raise translate(err, f"read database secret {self.secret_arn}",
                            permission="secretsmanager:GetSecretValue (and kms:Decrypt on its key)") from None
        return _password_from(answer.get("SecretString"), self.secret_arn)


def _password_from(text: str | None, arn: str) -> SecretStr:
    # the secret's text never reaches an error, a log or an exception's context
    if text is None:
        raise AwsError(f"database secret {arn} has no SecretString (binary secrets are not supported)",
                       fix="store the password as a string, or as JSON with a \"password\" key")
    parsed = _json_or_none(text)
    if isinstance(parsed, dict):
        password = parsed.get("password")
        if not isinstance(password, str) or not password:
            raise AwsError(f"database secret {arn} is JSON without a \"password\" string",
                           fix="store it as RDS does: {\"username\": ..., \"password\": ...}")
        return SecretStr(password)
    if not text:
        raise AwsError(f"database secret {arn} is empty", fix="put the database password in it")
    return SecretStr(text)


def _json_or_none(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass  # no `from`: the decode error holds the whole document, i.e. the secret
    return None


def _waiter_delay(timeout: float, every: float) -> int:
    """Seconds between polls: `every`, but at least 1, at most 30 and small enough for ~3 looks in `timeout`."""
    return int(max(1, min(30, every, timeout / 3 if timeout > 0 else 1)))


def _state_fix(state: str, verb: str) -> str:
    if state in ("stopping", "starting", "creating", "modifying", "backing-up", "rebooting", "upgrading",
                 "maintenance", "renaming", "resetting-master-credentials", "storage-optimization"):
        return f"wait until it settles (available or stopped), then {verb} it again"
    if state in ("deleting", "deleted", "failed", "inaccessible-encryption-credentials",
                 "inaccessible-encryption-credentials-recoverable", "incompatible-parameters",
                 "incompatible-restore", "incompatible-network"):
        return "look at the cluster in the RDS console: it needs an operator, not a start/stop"
    return f"check the cluster's state in the RDS console before trying to {verb} it"
