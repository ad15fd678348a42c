"""Activity on the AWS side: the API's request count from CloudWatch, and the auto-start function.

`api_request_count` answers three different things, and the inactivity flow must tell them apart to be
fail-safe ("no metric or any doubt -> keep the database running"):

- a number (>= 0): the metric exists and this is the Sum of its datapoints in [since, until). No datapoint
  in the window while CloudWatch lists the metric means zero requests -> 0.0.
- None: CloudWatch does not list the metric at all (a misspelt API name/dimension, or no datapoint for about
  two weeks — ListMetrics forgets metrics after that). "We cannot tell": keep running.
- `ActivityUnreadable` (or its transient subclass `ActivityUnreachable`): the read failed — no credentials,
  access denied, throttled, unreachable, an answer that is not a CloudWatch answer. Keep running, say why.

GetMetricStatistics is used rather than GetMetricData because moto's GetMetricData drops the namespace
filter once dimensions are given (it summed another namespace's points in our probe), while its
GetMetricStatistics filters namespace, name and window faithfully. One caveat common to both in moto: a
requested dimension set matches every datum that *contains* it, whereas CloudWatch matches the exact set.
The period is the whole window rounded up to a minute, so CloudWatch answers with one or two datapoints
whatever the window, well under its 1,440-datapoint limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from environments.aws.errors import AwsError, AwsUnreachable, error_code, translate
from pipeline.errors import ConfigError, TransientError


class ActivityUnreadable(AwsError):
    """The activity metric could not be read: the caller cannot tell whether there was traffic."""


class ActivityUnreachable(ActivityUnreadable, TransientError):
    """CloudWatch did not answer (connection, timeout, throttling, 5xx): unreadable now, maybe not later."""


def api_request_count(cloudwatch: Any, namespace: str, metric: str, dimensions: Mapping[str, str],
                      since: datetime, until: datetime) -> float | None:
    """Sum of `namespace`/`metric` with exactly `dimensions` over [since, until); see the module docstring."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ConfigError("the activity window needs timezone-aware datetimes (UTC), got a naive one")
    if since >= until:
        raise ConfigError(f"the activity window is empty: since {since.isoformat()} is not before "
                          f"until {until.isoformat()}")
    dims = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
    what = f"read CloudWatch {namespace}/{metric} {_dims_text(dimensions)}"
    period = max(60, math.ceil((until - since).total_seconds() / 60) * 60)
    try:
        answer = cloudwatch.get_metric_statistics(Namespace=namespace, MetricName=metric, Dimensions=dims,
                                                  StartTime=since, EndTime=until, Period=period,
                                                  Statistics=["Sum"])
    except (ClientError, BotoCoreError) as err:
        raise translate(err, what, refused=ActivityUnreadable, unreachable=ActivityUnreachable,
                        permission="cloudwatch:GetMetricStatistics") from None
    points = answer.get("Datapoints")
    if not isinstance(points, list) or any(not isinstance(p.get("Sum"), (int, float)) for p in points):
        raise ActivityUnreadable(f"{what}: the answer is not a CloudWatch statistics answer "
                                 f"(no Datapoints with a Sum)", fix="check the CloudWatch endpoint setting")
    if points:
        return float(sum(p["Sum"] for p in points))
    return 0.0 if _metric_listed(cloudwatch, namespace, metric, dims, what) else None


def _metric_listed(cloudwatch: Any, namespace: str, metric: str, dims: list[dict], what: str) -> bool:
    """Whether CloudWatch lists the metric with exactly these dimensions (ListMetrics filters by subset)."""
    want = {(d["Name"], d["Value"]) for d in dims}
    try:
        for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName=metric,
                                                                       Dimensions=dims):
            if "Metrics" not in page:
                raise ActivityUnreadable(f"{what}: the answer is not a CloudWatch ListMetrics answer",
                                         fix="check the CloudWatch endpoint setting")
            for m in page["Metrics"]:
                if {(d["Name"], d["Value"]) for d in m.get("Dimensions", [])} == want:
                    return True
    except (ClientError, BotoCoreError) as err:
        raise translate(err, what, refused=ActivityUnreadable, unreachable=ActivityUnreachable,
                        permission="cloudwatch:ListMetrics") from None
    return False


def _dims_text(dimensions: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(dimensions.items())) + "}"


def invoke_autostart(lambda_client: Any, function_name: str, payload: Mapping[str, Any] | None = None) -> int:
    """Invoke the auto-start function asynchronously (InvocationType=Event); returns the HTTP status (202).

    Asynchronous: Lambda queues the event and answers at once, so what the function does (and whether it
    fails) is not known here — the caller watches the cluster's state instead.
    """
    what = f"invoke auto-start function {function_name}"
    try:
        answer = lambda_client.invoke(FunctionName=function_name, InvocationType="Event",
                                      Payload=json.dumps(dict(payload or {})).encode())
    except (ClientError, BotoCoreError) as err:
        code = error_code(err)
        if code == "ResourceNotFoundException":
            raise AwsError(f"auto-start function {function_name} does not exist in this account and region",
                           fix="create it with terraform, or correct the auto-start function setting") from None
        if code in ("TooManyRequestsException", "EC2ThrottledException", "ResourceConflictException"):
            raise AwsUnreachable(f"{what}: Lambda answered {code}", fix="retry later") from None
        raise translate(err, what, permission="lambda:InvokeFunction") from None
    status = int(answer.get("StatusCode", 0))
    if status != 202:
        raise AwsError(f"{what}: Lambda answered HTTP {status}, expected 202 (queued)")
    return status


class CloudWatchActivityMeter:
    """`pipeline.ports.ActivityMeter` in the cloud: the producer API's CloudWatch request count over the window.

    Needs the API's name (`CDC_API_NAME`): without it there is no metric to read, which is a doubt, so the
    reading fails and the auto-stop flow keeps the database running.
    """

    def __init__(self, cloudwatch: Any, namespace: str, metric: str, dimensions: Mapping[str, str]):
        self.cloudwatch = cloudwatch
        self.namespace, self.metric, self.dimensions = namespace, metric, dict(dimensions)

    @classmethod
    def from_settings(cls, settings: Any) -> CloudWatchActivityMeter:
        return cls(settings.client("cloudwatch"), settings.activity_namespace, settings.activity_metric,
                   settings.activity_dimensions())

    @property
    def source(self) -> str:
        return f"CloudWatch {self.namespace}/{self.metric} {_dims_text(self.dimensions)}"

    def reading(self, since: datetime, until: datetime):
        from pipeline.activity import ActivityReading

        if not self.dimensions:
            raise ConfigError("no API name is set, so there is no request metric to read",
                              fix="set CDC_API_NAME to the producer API's API Gateway name")
        count = api_request_count(self.cloudwatch, self.namespace, self.metric, self.dimensions, since, until)
        return ActivityReading(source=self.source, requests=count)
