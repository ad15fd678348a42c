"""The Prefect flows themselves, run twice: the second run changes nothing and is green."""

from __future__ import annotations

from flows.deploy_pipeline import deploy_pipeline
from tests.integration.helpers import secret_leaks


def test_deploy_pipeline_twice_converges(pipeline_ready):
    first = deploy_pipeline(environment="local")
    second = deploy_pipeline(environment="local")
    for run in (first, second):
        assert all(r["expected"] == r["in_topic"] == r["processed"] == 10 for r in run["steps"]["smoke-test"]["routes"])
    steps = second["steps"]
    assert all(e["outcome"] == "reused" for e in steps["provision"]["resources"])
    assert steps["provision"]["schema"] == "not needed (no schema registry)"
    assert steps["provision"]["raw_topic"] == "unchanged"
    assert steps["replication-setup"]["changed"] == []
    assert steps["register-connectors"]["outcome"] == "unchanged"
    assert steps["register-connectors"]["tasks"] == ["RUNNING"]
    assert steps["flink-rollout"]["action"] == "none"
    assert steps["flink-rollout"]["job_id"] == first["steps"]["flink-rollout"]["job_id"]
    assert [c["outcome"] for c in steps["deploy-consumers"]] == ["reused"] * 4


def test_the_generated_passwords_are_in_no_log_artifact_or_generated_file(pipeline_ready, stack):
    """After the flows ran: engine logs, consumer logs, Flink plans and the Prefect database never hold the
    database password nor the local Kafka's SASL password (only their secret files and the broker's 0600
    server.properties, which holds the JAAS line, may)."""
    from pathlib import Path

    from prefect.settings import PREFECT_HOME

    from pipeline.paths import ROOT
    from stack.settings import state_dir

    secrets_dir = state_dir() / "secrets"
    allowed_by_secret = {
        pipeline_ready.database.password.get_secret_value().encode():
            {secrets_dir / "db-password", secrets_dir / "connect-secrets.properties"},
        stack.kafka.sasl_connection().sasl_password.get_secret_value().encode():
            {secrets_dir / "kafka-sasl-password", stack.kafka.home / "server.properties"},
    }
    roots = [state_dir(), Path(PREFECT_HOME.value()), ROOT / "flink-jobs", ROOT / "connectors"]
    assert secret_leaks(allowed_by_secret, roots) == []
