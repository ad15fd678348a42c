"""The Prefect flows themselves, run twice: the second run changes nothing and is green."""

from __future__ import annotations

from flows.deploy_pipeline import deploy_pipeline


def test_deploy_pipeline_twice_converges(pipeline_ready):
    first = deploy_pipeline(environment="local")
    second = deploy_pipeline(environment="local")
    for run in (first, second):
        assert all(r["expected"] == r["in_topic"] == r["processed"] == 10 for r in run["steps"]["smoke-test"]["routes"])
    steps = second["steps"]
    assert all(e["outcome"] == "reused" for e in steps["provision"]["engines"])
    assert steps["provision"]["raw_topic"] == "unchanged"
    assert steps["replication-setup"]["changed"] == []
    assert steps["register-connectors"]["outcome"] == "unchanged"
    assert steps["register-connectors"]["tasks"] == ["RUNNING"]
    assert steps["flink-rollout"]["action"] == "none"
    assert steps["flink-rollout"]["job_id"] == first["steps"]["flink-rollout"]["job_id"]
    assert [c["outcome"] for c in steps["deploy-consumers"]] == ["reused"] * 4
