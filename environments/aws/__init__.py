"""The AWS adapter (boto3): Aurora as the database `Infrastructure`, CloudWatch activity, Lambda auto-start.

- `credentials.AwsSettings`: region/endpoint/credentials and resource names; hands out cached boto3 clients.
- `aurora.AuroraCluster`: state, start, stop, waits, existence check, endpoint, `rds.logical_replication`
  check, database password from Secrets Manager; `aurora_tls_conninfo` for psycopg.
- `activity`: the API's CloudWatch request count over a window; asynchronous invoke of the auto-start function.
- `errors`: botocore failures as one-line `PipelineError`s (transient ones retried by tasks).

Tested through real boto3 calls against moto's server (tests/contract/test_aws_aurora.py).
"""

from environments.aws.activity import ActivityUnreachable, ActivityUnreadable, api_request_count, invoke_autostart
from environments.aws.aurora import (
    RDS_CA_BUNDLE_HELP,
    AuroraCluster,
    AuroraEndpoint,
    aurora_tls_conninfo,
    ca_bundle_problem,
)
from environments.aws.credentials import AwsSettings
from environments.aws.errors import AwsError, AwsUnreachable, ClusterNotFound, ClusterStateError

__all__ = [
    "RDS_CA_BUNDLE_HELP", "ActivityUnreachable", "ActivityUnreadable", "AuroraCluster", "AuroraEndpoint",
    "AwsError", "AwsSettings", "AwsUnreachable", "ClusterNotFound", "ClusterStateError", "api_request_count",
    "aurora_tls_conninfo", "ca_bundle_problem", "invoke_autostart",
]
