"""What several integration tests share: deploy the routing job the way the flow's tasks do, read topics,
wait on a condition (never a fixed sleep where a condition exists), scan for secrets, and the dev
environment through the cloud doubles (`dev_cloud`)."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from environments.factory import build
from environments.kafka import KafkaClients
from pipeline import rollout
from pipeline.routing import routing_job


def deploy(cfg, filters_file: Path) -> dict:
    """What flink-rollout's tasks do: compile for the environment, create the output topics, plan, apply."""
    with build(cfg) as env:
        job = routing_job(env.routing, filters_file)
        for topic in job.output_topics:
            env.kafka.ensure_topic(topic, cfg.raw_topic_partitions)
        plan = rollout.plan_against_running(job, env.routing, env.rollout_store)
        result = rollout.apply(plan, job, env.routing, env.rollout_store)
    return {"plan": plan, **result}


def produce_json(cfg, topic: str, events: list[dict]) -> int:
    return KafkaClients(cfg.kafka).produce_json(topic, events)


def ids_by_topic(cfg, topics: list[str], prefix: str) -> dict[str, list[str]]:
    kafka = KafkaClients(cfg.kafka)
    return {t: [r["id"] for r in kafka.read_to_end(t) if str(r.get("id", "")).startswith(prefix)] for t in topics}


def wait_for(predicate, timeout: float, what: str, every: float = 0.1, check=None):
    """Poll `predicate` until true; `check()` may assert between polls (e.g. a process is still alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if check:
            check()
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def secret_leaks(allowed_by_secret: dict[bytes, set[Path]], roots: list[Path]) -> list[str]:
    """Files under `roots` holding a secret outside the files allowed to hold it (`{secret: {paths}}`).

    Every file is read whole (logs, databases and their WAL files included), except the engines'
    distributions and jars, and Kafka's offset and time indexes: numbers only, and preallocated (10 MB of
    zeros each, sparse on disk), so reading them would cost ~30 s per thousand partitions and find nothing."""
    import os

    leaks = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if "dist" in path.parts or "jars" in path.parts or path.suffix in (".jar", ".index", ".timeindex"):
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                leaks += [str(path) for secret, allowed in allowed_by_secret.items()
                          if path not in allowed and secret in data]
    return leaks


# --- the dev environment through the cloud doubles (test_dev_deploy, test_dev_migration) -------------------------
#
# Confluent Cloud's control plane is the in-process double of tests/doubles/confluent_cloud.py, AWS is moto's
# server (tests/doubles/aws.py), and the data plane is the real local stack reached over its SASL_SSL listener:
# the LOCAL Debezium connector and the LOCAL Flink job capture and route, the dev consumers read over SASL_SSL.
# test_dev_deploy's docstring says what is real and what is a double in detail.

DEV_ORG, DEV_ENV, DEV_LKC = "1111aaaa-11aa-11aa-11aa-111111aaaaaa", "env-dev123", "lkc-dev123"
DEV_CATALOG, DEV_DATABASE, DEV_POOL = "cdc-dev", "cluster_0", "lfcp-dev123"
DEV_CLUSTER = "cdc-dev"

#: one unmistakable value per cloud secret: any occurrence outside the request that needs it is a leak
_RUN = uuid.uuid4().hex
CLOUD_SECRET = f"cloud-api-secret-{_RUN}"
FLINK_SECRET = f"flink-api-secret-{_RUN}"
WRONG_FLINK_SECRET = f"wrong-flink-secret-{_RUN}"
SR_SECRET = f"schema-registry-secret-{_RUN}"
AWS_SECRET = f"aws-secret-access-key-{_RUN}"
MARKERS = (CLOUD_SECRET, FLINK_SECRET, WRONG_FLINK_SECRET, SR_SECRET, AWS_SECRET)


def wait_for_idle_local_data_plane(cfg, timeout: float = 600.0) -> None:
    """Wait while a local migrate-connector (someone else's test on the shared stack) has the local connector
    on another variant or a migration half done: the dev tests route through the local connector and job,
    and setting them up would otherwise switch the local routing job back under that migration."""
    from connectors.migration import MIGRATION_KEY, VARIANT_KEY
    from connectors.variants import get_variant, local_variant_for

    with build(cfg) as local:
        wanted = local_variant_for(get_variant(cfg.connector_variant)).name
        state: dict = {}

        def idle() -> bool:
            state["variant"] = (local.rollout_store.load(VARIANT_KEY) or {}).get("variant")
            state["migration"] = local.rollout_store.load(MIGRATION_KEY)
            return state["variant"] in (None, wanted) and not state["migration"]

        deadline = time.monotonic() + timeout
        while not idle():
            if time.monotonic() > deadline:
                pytest.fail(f"the local connector still runs {state['variant']} (wanted {wanted}), migration record "
                            f"{bool(state['migration'])}, after {timeout:.0f}s: a local migrate-connector is in "
                            f"progress or was left half done")
            time.sleep(5)


def reset_cloud_records(env) -> None:
    """A fresh double is a fresh cloud: forget what the rollout store (Prefect Variables, which outlive the test
    session) says about an earlier one: the variant that ran and any half-done migration."""
    from connectors.migration import MIGRATION_KEY, VARIANT_KEY

    env.rollout_store.save(VARIANT_KEY, {})
    env.rollout_store.save(MIGRATION_KEY, {})


@contextmanager
def dev_cloud(cfg, stack, request, aws_dir: Path, *, connector_expects: dict[str, str] | None = None):
    """The doubles, the dev variables set, and the local data plane ready to route; yields a namespace with
    `cloud`, `aws`, `variables`, `cfg` (the dev settings), `fleet` (the dev consumers, stopped after),
    `db_password`, `kafka_secret`, `runs` and `texts` (what the tests printed or raised, for the secret scan).

    `connector_expects` adds to what every managed connector config sent must carry (the connection to the
    local database and broker, with the REAL credentials: checked, never logged)."""
    from environments.settings import load_settings
    from pipeline.paths import FILTERS_FILE
    from tests.doubles.aws import aurora_cluster, db_secret, moto_server
    from tests.doubles.confluent_cloud import TOPIC_REGEX_ROUTER, ConfluentCloudDouble

    wait_for_idle_local_data_plane(cfg)
    request.getfixturevalue("pipeline_ready")
    sasl = stack.kafka.sasl_connection()
    db_password = cfg.database.password.get_secret_value()
    kafka_secret = sasl.sasl_password.get_secret_value()

    # the data plane: the local connector (pipeline_ready) and the local routing job feed the filtered
    # topics; the local consumers share the dev consumers' group ids, so they must not run meanwhile
    deploy(cfg, FILTERS_FILE)
    with build(cfg) as local:
        local.consumers.stop()

    with moto_server(aws_dir / "moto-recording.jsonl") as aws:
        aurora_cluster(aws, DEV_CLUSTER, logical_replication="1")
        secret_arn = db_secret(aws, f"{DEV_CLUSTER}/cdc-db", db_password)
        cloud = ConfluentCloudDouble(
            organization_id=DEV_ORG, environment_id=DEV_ENV, kafka_cluster_id=DEV_LKC,
            cloud_api_key="CLOUDKEYDEV1", cloud_api_secret=CLOUD_SECRET,
            flink_api_key="FLINKKEYDEV1", flink_api_secret=FLINK_SECRET,
            schema_registry_api_key="SRKEYDEV1", schema_registry_api_secret=SR_SECRET,
            flink_catalog=DEV_CATALOG, flink_database=DEV_DATABASE, flink_compute_pool_id=DEV_POOL,
            connector_expects={
                "kafka.api.key": sasl.sasl_username, "kafka.api.secret": kafka_secret,
                "database.hostname": "127.0.0.1", "database.port": str(cfg.database.port),
                "database.user": cfg.database.user, "database.password": db_password,
                "database.dbname": cfg.database.dbname,
                "transforms.route.type": TOPIC_REGEX_ROUTER,
                "transforms.route.replacement": cfg.raw_topic,
                **(connector_expects or {}),
            },
            redact=[db_password, kafka_secret], mark=aws.count)
        # someone else's statements in the environment: the routing job's list spans pages
        cloud.flink.add("analytics-daily-rollup", "INSERT INTO `rollup` SELECT 1")
        cloud.flink.add("analytics-old-export", "INSERT INTO `export` SELECT 1", phase="STOPPED", stopped=True)
        cloud.flink.add("business-events-routing-0ld0ld0ld0ld", "EXECUTE STATEMENT SET BEGIN END", phase="FAILED")
        with cloud.serve():
            variables = {
                **cloud.variables(),
                "CDC_CONFLUENT_CLOUD_API_SECRET": CLOUD_SECRET,
                "CDC_FLINK_API_SECRET": FLINK_SECRET,
                "CDC_FLINK_REGION": "us-east-1", "CDC_FLINK_CLOUD": "AWS",
                "CDC_SCHEMA_REGISTRY_API_SECRET": SR_SECRET,
                # the local broker's SASL_SSL listener: its PLAIN user and password, its self-signed CA
                "CDC_KAFKA_BOOTSTRAP": sasl.bootstrap_servers, "CDC_KAFKA_API_KEY": sasl.sasl_username,
                "CDC_KAFKA_API_SECRET": kafka_secret, "CDC_KAFKA_SSL_CA_LOCATION": sasl.ssl_ca_location,
                "CDC_AWS_REGION": aws.region, "CDC_AWS_ENDPOINT_URL": aws.url, "CDC_AURORA_CLUSTER_ID": DEV_CLUSTER,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                "CDC_DB_SECRET_ARN": secret_arn,
                # the local PostgreSQL stands in for Aurora's writer endpoint; it has no TLS, so the
                # dev default (verify-full against the RDS CA bundle) is turned off for this test only
                "CDC_DB_HOST": "127.0.0.1", "CDC_DB_PORT": str(cfg.database.port), "CDC_DB_SSLMODE": "disable",
                "CDC_DB_NAME": cfg.database.dbname, "CDC_DB_USER": cfg.database.user,
            }
            # provision runs terraform for a cloud environment; terraform/envs/dev needs providers that cannot
            # be downloaded here, so it gets a provider-free configuration with nothing to change (test_dev_deploy
            # runs provision's plan/approve/apply/outputs on one that has)
            no_changes = aws_dir / "terraform-no-changes"
            no_changes.mkdir(exist_ok=True)
            (no_changes / "main.tf").write_text("# provider-free stand-in for terraform/envs/dev: nothing to plan\n"
                                                "terraform {}\n")
            with pytest.MonkeyPatch.context() as mp:
                for name, value in variables.items():
                    mp.setenv(name, value)
                mp.setenv("CDC_TERRAFORM_DIR", str(no_changes))
                for name in ("CDC_DB_PASSWORD", "CDC_SECRETS_FROM_PREFECT", "AWS_PROFILE", "AWS_SESSION_TOKEN",
                             "CDC_ENV", "CDC_CONNECTOR_VARIANT", "CDC_RAW_TOPIC_PARTITIONS", "CDC_SETTINGS_FROM_PREFECT",
                             "CDC_TF_BACKEND_CONFIG"):
                    mp.delenv(name, raising=False)
                dev_cfg = load_settings("dev")
                with build(dev_cfg) as env:
                    fleet = env.consumers
                    reset_cloud_records(env)
                fleet.stop()  # a fleet left over by an interrupted run would make the first deploy "reused"
                aws.start_recording()  # after the set-up: CreateSecret carries the password
                try:
                    yield SimpleNamespace(cloud=cloud, aws=aws, variables=variables, cfg=dev_cfg, fleet=fleet,
                                          db_password=db_password, kafka_secret=kafka_secret, runs={}, texts=[])
                finally:
                    fleet.stop()
                    assert cloud.violations == []


def dev_secrets_allowed(dev, stack) -> dict[bytes, set[Path]]:
    """For `secret_leaks`: the cloud markers belong nowhere; the local database and SASL passwords only in
    their own secret files (as test_flows checks)."""
    from stack.settings import state_dir

    secrets_dir = state_dir() / "secrets"
    allowed: dict[bytes, set[Path]] = {marker.encode(): set() for marker in MARKERS}
    allowed[dev.db_password.encode()] = {secrets_dir / "db-password", secrets_dir / "connect-secrets.properties"}
    allowed[dev.kafka_secret.encode()] = {secrets_dir / "kafka-sasl-password", stack.kafka.home / "server.properties"}
    return allowed
