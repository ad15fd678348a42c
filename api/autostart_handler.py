"""The auto-start Lambda (the function the producer API invokes asynchronously when it cannot reach Aurora,
`CDC_API_START_WITH=function`): StartDBCluster for its one cluster, only from `stopped`.

Settings from the function's environment: `CDC_AWS_REGION`, `CDC_AURORA_CLUSTER_ID` (optional
`CDC_AWS_ENDPOINT_URL`). The event may name the cluster (`{"cluster": ..., "source": "producer-api"}`); a
different cluster is refused, so the function can only ever start the one it was deployed for. Capture is
resumed by database-autostart or, at the latest, by the next hourly database-autostop run (it resumes
capture that auto-stop paused whenever it keeps the database running).
"""

from __future__ import annotations

import logging
import os

from environments.aws.aurora import AuroraCluster
from environments.aws.credentials import AwsSettings
from pipeline.errors import ConfigError, PipelineError

log = logging.getLogger("cdc.autostart")


def handler(event: dict | None, context=None, environ=None) -> dict:
    environ = os.environ if environ is None else environ
    missing = [v for v in ("CDC_AWS_REGION", "CDC_AURORA_CLUSTER_ID") if not environ.get(v)]
    if missing:
        raise ConfigError(f"the auto-start function is missing {', '.join(missing)}",
                          fix="set them in the function's environment (terraform does)")
    cluster_id = environ["CDC_AURORA_CLUSTER_ID"]
    asked = (event or {}).get("cluster")
    if asked and asked != cluster_id:
        raise ConfigError(f"the auto-start function starts cluster {cluster_id}, not {asked}")
    aws = AwsSettings(region=environ["CDC_AWS_REGION"], aurora_cluster_id=cluster_id,
                      endpoint_url=environ.get("CDC_AWS_ENDPOINT_URL") or None)
    cluster = AuroraCluster.from_settings(aws)
    before = cluster.database_state()
    try:
        after = cluster.start_database()
    except PipelineError as err:  # e.g. stopping: reported, the API's next ask after Retry-After tries again
        log.warning("%s", err.one_line())
        return {"cluster": cluster_id, "before": before, "action": "none", "reason": err.one_line()}
    action = "started" if before == "stopped" else "none"
    log.info("cluster %s: %s -> %s (%s)", cluster_id, before, after, action)
    return {"cluster": cluster_id, "before": before, "after": after, "action": action}
