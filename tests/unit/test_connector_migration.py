"""migrate-connector's core against fake ports: the plan, the step order, resuming from the record, and undoing
a failure at each step (or saying exactly what is left)."""

from __future__ import annotations

import pytest

from connectors.migration import STEPS, MigrationError, Switch, consumer_impact, migrate, plan_migration, record_key
from connectors.variants import get_variant, local_variant_for
from pipeline.errors import PipelineError, TransientError
from pipeline.ports import RunningJob

BASIC, V2 = local_variant_for(get_variant("cdc-source-basic")), local_variant_for(get_variant("v2-debezium"))
CONFIG_V2 = {"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "transforms.unwrap.add.fields": "op,table,ts_ms",
             "database.password": "${file:/s:database.password}"}
CONFIG_BASIC = {"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                "database.password": "${file:/s:database.password}"}


class Fakes:
    """Connect + RoutingJobs + Kafka + RolloutStore in one, recording calls; `fail` maps a call to an error."""

    SUPPORTS_SAVEPOINTS = True
    MASKS_SECRETS = False
    DIALECT = "local"

    def __init__(self, fail: dict[str, PipelineError] | None = None):
        self.fail = dict(fail or {})
        self.calls: list[str] = []
        self.records: dict[str, dict] = {"oldfp": {"statements": ["old sql"]}}
        self.connector = {"config": dict(CONFIG_V2), "state": "RUNNING"}
        self.jobs = {"old": RunningJob("old", "business-events-routing-oldfp", "oldfp")}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail.pop(name)

    # Connect
    def pause(self, name):
        self._call("pause")
        self.connector["state"] = "PAUSED"

    def resume(self, name):
        self._call("resume")
        self.connector["state"] = "RUNNING"

    def put_config(self, name, config, *, deployed_fingerprint=None):
        self._call("put_config")
        self.connector["config"] = dict(config)
        return "updated"

    def delete(self, name):
        self._call("delete")
        return True

    # Kafka
    def wait_group_caught_up(self, group, topic, timeout=120.0):
        self._call("drain")

    # RoutingJobs
    def running(self):
        return list(self.jobs.values())

    def stop(self, job):
        self._call("stop")
        del self.jobs[job.id]
        return "savepoint-1"

    def start(self, statements, name, resume_from=None):
        self._call(f"start:{resume_from}")
        self.jobs["new"] = RunningJob("new", name, "newfp")
        return "new"

    def wait_running(self, job_id, timeout=90.0):
        self._call("wait_running")

    def restore(self, job, token, statements):
        self._call(f"restore:{token}:{statements}")
        self.jobs[job.id] = job
        return job.id

    def cancel(self, job_id):
        self.calls.append(f"cancel:{job_id}")
        self.jobs.pop(job_id, None)

    # RolloutStore
    def save(self, key, record):
        self.records[key] = record

    def load(self, key):
        return self.records.get(key)


def _switch(verify=lambda: None) -> Switch:
    plan = plan_migration(V2, BASIC, connector_before="pg", connector_after="pg", config_before=CONFIG_V2,
                          config_after=CONFIG_BASIC, sql_before="local.sql", sql_after="local.sql (-no-op)",
                          supports_savepoints=True)
    return Switch(plan=plan, config_before=CONFIG_V2, config_after=CONFIG_BASIC, statements_after=("new sql",),
                  fingerprint_after="newfp", job_name_after="business-events-routing-newfp",
                  record_after={"statements": ["new sql"]}, raw_topic="raw", routing_group="flink-routing",
                  verify=verify)


def _run(fakes: Fakes, switch: Switch | None = None):
    return migrate(switch or _switch(), connect=fakes, routing=fakes, kafka=fakes, store=fakes, log=lambda _: None)


def test_plan_names_the_changes_and_the_semantic_difference():
    plan = _switch().plan
    assert plan.action == "migrate" and plan.steps == [s for s in STEPS if s != "retire-old"]
    assert ("transforms.unwrap.add.fields", "op,table,ts_ms", "—") in plan.config_changes
    text = plan.markdown(dry_run=True)
    assert "v2-debezium" in text and "takes every event as an insert" in text and "(dry run)" in text
    assert "deletes stop arriving" in " ".join(consumer_impact(V2, BASIC))
    assert "updates and deletes stop being routed as creates" in " ".join(consumer_impact(BASIC, V2))
    same = plan_migration(V2, V2, connector_before="pg", connector_after="pg", config_before=CONFIG_V2,
                          config_after=CONFIG_V2, sql_before="a", sql_after="a", supports_savepoints=True)
    assert same.action == "none" and same.steps == [] and "nothing to do" in same.markdown(False)


def test_cloud_plan_creates_a_new_connector_and_retires_the_old_one_last():
    plan = plan_migration(get_variant("cdc-source-basic"), get_variant("v2-debezium"), connector_before="old",
                          connector_after="new", config_before={"kafka.api.secret": "s3cret-value"},
                          config_after={"kafka.api.secret": "other-secret"}, sql_before="no-op.sql",
                          sql_after="cloud.sql", supports_savepoints=False)
    assert plan.steps[-2:] == ["verify", "retire-old"] and "initial-offset-from" in plan.carries_by
    assert "s3cret-value" not in plan.markdown(False) and "other-secret" not in plan.markdown(False)


def test_steps_run_in_order_and_a_rerun_after_success_does_nothing():
    fakes = Fakes()
    record = _run(fakes)
    assert fakes.calls == ["pause", "drain", "stop", "put_config", "start:savepoint-1", "wait_running", "resume"]
    assert record.done == [s for s in STEPS if s != "retire-old"] and record.token == "savepoint-1"
    assert fakes.connector == {"config": CONFIG_BASIC, "state": "RUNNING"} and set(fakes.jobs) == {"new"}
    assert fakes.records["newfp"]["job_id"] == "new"
    fakes.calls.clear()
    _run(fakes)  # the record says every step is done
    assert fakes.calls == []


@pytest.mark.parametrize("call", ["pause", "drain", "stop", "put_config", "start:savepoint-1", "wait_running"])
def test_a_failure_before_capture_resumes_is_undone(call):
    fakes = Fakes(fail={call: TransientError(f"{call} broke")})
    with pytest.raises(MigrationError) as info:
        _run(fakes)
    line = str(info.value)
    assert "\n" not in line and f"{call} broke" in line and "undone" in line
    assert fakes.connector == {"config": CONFIG_V2, "state": "RUNNING"}  # the previous variant captures again
    assert set(fakes.jobs) == {"old"}  # the previous routing job runs (restored from the savepoint if stopped)
    if call not in ("pause", "drain", "stop"):
        assert "restore:savepoint-1:['old sql']" in fakes.calls
    assert not fakes.records[record_key("pg")]  # undone: a re-run starts from the beginning


def test_a_failure_at_resume_is_reported_and_a_rerun_continues_from_there():
    fakes = Fakes(fail={"resume": TransientError("Connect unreachable")})
    with pytest.raises(MigrationError) as info:
        _run(fakes)
    assert "resume-connector failed" in str(info.value) and "re-run" in str(info.value)
    assert "PAUSED" in str(info.value)  # never left paused without saying so
    assert fakes.connector["state"] == "PAUSED" and set(fakes.jobs) == {"new"}
    fakes.calls.clear()
    _run(fakes)
    assert fakes.calls == ["resume"] and fakes.connector["state"] == "RUNNING"


def test_a_failed_verification_names_the_state_and_the_way_back():
    def verify():
        raise PipelineError("smoke test x: filtered-loan-created-events (topic): missing ['a']")

    fakes = Fakes()
    with pytest.raises(MigrationError) as info:
        _run(fakes, _switch(verify))
    line = str(info.value)
    assert "verify failed" in line and "runs variant local-cdc-source-basic" in line and "target local-v2-debezium" in line
    assert fakes.connector["state"] == "RUNNING"


def test_when_undoing_fails_too_the_error_says_what_is_left():
    fakes = Fakes(fail={"start:savepoint-1": TransientError("gateway down"),
                        "restore:savepoint-1:['old sql']": TransientError("gateway still down")})
    with pytest.raises(MigrationError) as info:
        _run(fakes)
    line = str(info.value)
    assert "did not finish" in line and "gateway still down" in line and "savepoint-1" in line
    assert "re-run migrate-connector" in line


def test_a_stop_that_took_effect_although_its_wait_failed_is_named():
    class StopsThenFails(Fakes):
        def stop(self, job):
            self.calls.append("stop")
            del self.jobs[job.id]  # the job did stop...
            raise TransientError("savepoint of job old not finished after 120s")  # ...but the wait gave up

    fakes = StopsThenFails()
    with pytest.raises(MigrationError) as info:
        _run(fakes)
    line = str(info.value)
    assert "did not finish" in line and "stopped but its savepoint is not known" in line and "flink-rollout" in line
    assert fakes.connector["state"] == "RUNNING"  # capture resumed: the old job restarts from the group's offsets
