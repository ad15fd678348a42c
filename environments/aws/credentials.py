"""AWS settings that hand out boto3 clients, in the manner of prefect-aws's `AwsCredentials`.

One frozen model holds where (region, optional endpoint for moto or a VPC endpoint), who (a profile, or an
access key id with a `SecretStr` secret key, or neither: boto3's default chain — environment, instance role)
and what (the Aurora cluster id, the database secret's ARN, the auto-start function, the API whose
CloudWatch `Count` measures activity). `client("rds")` returns a boto3 client built once per settings value
and service and cached (boto3 clients are thread-safe; sessions are not, so each client gets its own).

The secret key and session token never appear in `repr`/`str` (SecretStr) and only leave the model inside
`session()`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from pydantic import Field, SecretStr, model_validator

from pipeline.base import StrictModel
from pipeline.errors import ConfigError


class AwsSettings(StrictModel):
    region: str = Field(min_length=1)
    #: only for tests (moto's server) or a private endpoint; None: AWS's public endpoints for `region`
    endpoint_url: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None

    aurora_cluster_id: str = Field(min_length=1)
    #: Secrets Manager secret holding the database password (a plain string, or JSON with "password")
    db_secret_arn: str | None = None
    #: Lambda function that starts the cluster on demand (invoked asynchronously)
    autostart_function: str | None = None
    #: the API whose request count measures activity: CloudWatch namespace/metric, and its dimension
    api_name: str | None = None
    api_dimension: str = "ApiName"  # REST APIs publish ApiName (and ApiName+Stage); HTTP APIs publish ApiId
    activity_namespace: str = "AWS/ApiGateway"
    activity_metric: str = "Count"
    #: path of the RDS CA bundle (see `environments.aws.aurora.RDS_CA_BUNDLE_HELP`)
    rds_ca_bundle: str | None = None

    #: botocore's "standard" retry mode: total attempts per call, including the first
    max_attempts: int = Field(default=3, ge=1)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> AwsSettings:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ConfigError("AWS access key id and secret access key go together: only one is set",
                              fix="set both, or neither (then a profile or the default credential chain is used)")
        if self.profile and self.access_key_id:
            raise ConfigError("AWS profile and access key are both set: it is ambiguous which one applies",
                              fix="set either the profile or the access key id and secret access key")
        if self.session_token and not self.access_key_id:
            raise ConfigError("AWS session token without an access key id and secret access key",
                              fix="set the access key id and secret access key of the temporary credentials")
        return self

    def activity_dimensions(self) -> dict[str, str]:
        """The CloudWatch dimensions of the activity metric (empty without an API name)."""
        return {self.api_dimension: self.api_name} if self.api_name else {}

    def session(self) -> boto3.session.Session:
        """A new boto3 session (sessions are not thread-safe: do not share one across threads)."""
        return boto3.session.Session(
            profile_name=self.profile,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key.get_secret_value() if self.secret_access_key else None,
            aws_session_token=self.session_token.get_secret_value() if self.session_token else None,
            region_name=self.region,
        )

    def client_config(self) -> Config:
        return Config(region_name=self.region, retries={"mode": "standard", "max_attempts": self.max_attempts},
                      connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                      user_agent_extra="cdc-pipeline")

    def client(self, service: str) -> Any:
        """The cached boto3 client for `service` ("rds", "cloudwatch", "secretsmanager", "lambda")."""
        return _cached_client(self, service)


@lru_cache(maxsize=32)
def _cached_client(settings: AwsSettings, service: str) -> Any:
    # keyed on the whole (frozen, hashable) settings value: a copy with another region or key is another client
    from environments.aws.errors import translate

    try:
        return settings.session().client(service, endpoint_url=settings.endpoint_url,
                                         config=settings.client_config())
    except Exception as err:  # ProfileNotFound, UnknownServiceError, ...
        raise translate(err, f"create the AWS {service} client for region {settings.region}") from None
