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


def test_low_latency_mode_deploys_green_and_switching_back_converges(pipeline_ready, monkeypatch):
    """CDC_DELIVERY_MODE=low-latency: the routing job is replaced with at-least-once sinks, the consumers are
    restarted reading uncommitted with their duplicate filter, and the smoke test (which then allows a second
    copy in a topic, never in a consumer) is green and names the mode. Back to exactly-once the same way."""
    import os

    from stack.settings import state_dir

    def consumer_modes(run) -> dict[str, str]:
        modes = {}
        for row in run["steps"]["deploy-consumers"]:
            environ = open(f"/proc/{row['pid']}/environ", "rb").read().split(b"\0")
            values = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
            modes[row["consumer"]] = (values.get("DELIVERY_MODE"), values.get("DEDUP_STORE"))
        return modes

    def sink_guarantees() -> set[str]:
        newest = max((state_dir() / "flink" / "plans").glob("*.json"), key=os.path.getmtime)
        text = newest.read_text()
        return {g for g in ("exactly-once", "at-least-once") if f'"sink.delivery-guarantee" : "{g}"' in text
                or f'"sink.delivery-guarantee": "{g}"' in text}

    deploy_pipeline(environment="local")  # start from the default
    monkeypatch.setenv("CDC_DELIVERY_MODE", "low-latency")
    try:
        low = deploy_pipeline(environment="local")
        assert low["steps"]["smoke-test"]["delivery_mode"] == "low-latency"
        assert all(r["expected"] == r["processed"] == 10 for r in low["steps"]["smoke-test"]["routes"])
        assert low["steps"]["flink-rollout"]["action"] == "replace"
        assert sink_guarantees() == {"at-least-once"}
        assert [c["outcome"] for c in low["steps"]["deploy-consumers"]] == ["restarted (low-latency)"] * 4
        stores = consumer_modes(low)
        assert all(mode == "low-latency" and store.endswith(f"{name}-seen.sqlite")
                   for name, (mode, store) in stores.items())
        again = deploy_pipeline(environment="local")  # converges: nothing replaced or restarted
        assert again["steps"]["flink-rollout"]["action"] == "none"
        assert [c["outcome"] for c in again["steps"]["deploy-consumers"]] == ["reused"] * 4
    finally:
        monkeypatch.delenv("CDC_DELIVERY_MODE")
        back = deploy_pipeline(environment="local")
    assert back["steps"]["smoke-test"]["delivery_mode"] == "exactly-once"
    assert all(r["expected"] == r["in_topic"] == r["processed"] == 10 for r in back["steps"]["smoke-test"]["routes"])
    assert sink_guarantees() == {"exactly-once"}
    assert [c["outcome"] for c in back["steps"]["deploy-consumers"]] == ["restarted (exactly-once)"] * 4
    assert all(mode == "exactly-once" and store is None for mode, store in consumer_modes(back).values())
