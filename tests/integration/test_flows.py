"""The Prefect flows themselves, run twice: the second run changes nothing and is green."""

from __future__ import annotations

from flows.deploy_pipeline import deploy_pipeline


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


def test_the_database_password_is_in_no_log_artifact_or_generated_file(pipeline_ready):
    """After the flows ran: engine logs, consumer logs, Flink plans and the Prefect database never hold it."""
    import os
    from pathlib import Path

    from prefect.settings import PREFECT_HOME

    from pipeline.paths import ROOT
    from stack.settings import state_dir

    secret = pipeline_ready.database.password.get_secret_value().encode()
    allowed = {state_dir() / "secrets" / "db-password", state_dir() / "secrets" / "connect-secrets.properties"}
    roots = [state_dir(), Path(PREFECT_HOME.value()), ROOT / "flink-jobs", ROOT / "connectors"]
    leaks = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if path in allowed or "dist" in path.parts or "jars" in path.parts or path.suffix == ".jar":
                    continue
                try:
                    if secret in path.read_bytes():
                        leaks.append(str(path))
                except OSError:
                    continue
    assert leaks == []
