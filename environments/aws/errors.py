"""boto3/botocore failures as one-line `PipelineError`s.

botocore raises two families: `ClientError` (AWS answered with an error code) and `BotoCoreError` (no
usable answer: connection refused, timeout, missing credentials, a bad parameter). Each becomes one line
naming what was being done; throttling, 5xx and unreachable endpoints are transient (`AwsUnreachable`),
the rest are not. No message here carries a credential: botocore's own texts never include the secret key,
and the callers never send a secret to AWS (the database password is only ever *read*).
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from pipeline.errors import PipelineError, TransientError


class AwsError(PipelineError):
    """AWS refused a request, or a resource is not in the state the request needs."""


class AwsUnreachable(AwsError, TransientError):
    """The AWS endpoint did not answer usefully (connection, timeout, throttling, 5xx): worth retrying."""


class ClusterNotFound(AwsError):
    """The Aurora cluster named in the settings does not exist in that account and region."""


class ClusterStateError(AwsError):
    """The cluster is in a state where the requested start/stop/wait cannot happen."""


THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure",
    "InternalError", "InternalServiceError", "RequestTimeout", "RequestTimeoutException",
})
AUTH = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "AuthFailure",
    "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken", "NotAuthorized",
})


def error_code(err: BaseException) -> str | None:
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code")
    return None


def aws_message(err: ClientError) -> str:
    """AWS's own message, first line, bounded (a 5xx from a proxy can be a whole HTML page)."""
    body = err.response.get("Error", {})
    text = (body.get("Message") or body.get("Code") or "no message").strip()
    first = text.splitlines()[0] if text else "no message"
    return first if len(first) <= 200 else first[:197] + "..."


def translate(err: BaseException, what: str, *, refused: type[AwsError] = AwsError,
              unreachable: type[AwsError] = AwsUnreachable, permission: str | None = None) -> PipelineError:
    """The one-line error for a botocore failure while doing `what` (e.g. "describe aurora cluster x").

    `refused`/`unreachable` let a caller raise its own subclasses (the activity reader does, so that
    "metrics unreadable" is one type the inactivity flow can be fail-safe on). `permission` names the IAM
    action to grant when AWS says access denied.
    """
    if isinstance(err, ClientError):
        code = error_code(err) or "?"
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in THROTTLING or status >= 500:
            return unreachable(f"{what}: AWS answered {code} (HTTP {status}): {aws_message(err)}",
                               fix="retry later; AWS or the endpoint is busy or failing")
        if code in AUTH:
            grant = f"allow {permission} for these credentials" if permission else "check the credentials' IAM policy"
            return refused(f"{what}: AWS refused the credentials ({code}): {aws_message(err)}", fix=grant)
        return refused(f"{what}: AWS answered {code}: {aws_message(err)}")
    if isinstance(err, (BotoConnectionError, HTTPClientError)):
        return unreachable(f"{what}: AWS endpoint unreachable ({type(err).__name__}: {err})",
                           fix="check the region/endpoint and the network route to AWS")
    if isinstance(err, (NoCredentialsError, PartialCredentialsError, ProfileNotFound)):
        return refused(f"{what}: no usable AWS credentials ({type(err).__name__}: {err})",
                       fix="configure an AWS profile or an access key id and secret access key")
    if isinstance(err, NoRegionError):
        return refused(f"{what}: no AWS region configured", fix="set the AWS region in the settings")
    if isinstance(err, BotoCoreError):
        return refused(f"{what}: {type(err).__name__}: {err}")
    return refused(f"{what}: {type(err).__name__}")
