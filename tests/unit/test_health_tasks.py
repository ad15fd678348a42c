"""pipeline-health's heal steps against fake ports: a failed task is restarted within its budget and the budget
is kept across runs; a lost routing job is started from its newest retained checkpoint with its recorded SQL;
without a record or a checkpoint nothing is started and the line says what to run."""

from __future__ import annotations

from types import SimpleNamespace

from pipeline.errors import ConnectorError, FlinkError
from pipeline.health import EngineReading, RoutingReading, Thresholds
from pipeline.ports import ConnectorState, TaskState
from pipeline.rollout import CURRENT_KEY
from tasks.health import heal_connector, heal_routing, start_dead_engines


class FakeStore(dict):
    def save(self, key, record):
        self[key] = record

    def load(self, key):
        return self.get(key)


class FakeConnect:
    RESTARTS_FAILED_TASKS = True

    def __init__(self, heals: bool):
        self.heals, self.failed, self.restarts = heals, True, 0

    def status(self, name):
        state = "FAILED" if self.failed else "RUNNING"
        return ConnectorState(name, "RUNNING", (TaskState(0, state, "PSQLException: gone" if self.failed else None),))

    def restart_failed(self, name):
        self.restarts += 1
        self.failed = not self.heals

    def wait_running(self, name, timeout=90.0):
        if self.failed:
            raise ConnectorError(f"connector {name!r} task 0 FAILED: PSQLException: gone")


def test_a_failed_task_is_restarted_and_a_healthy_one_clears_the_budget():
    env = SimpleNamespace(connect=FakeConnect(heals=True), rollout_store=FakeStore())
    assert heal_connector(env, "c", Thresholds(), now=1000) == ["connector c: failed task restarted (restart 1 of 5); RUNNING"]
    assert env.rollout_store.load("health-restarts-c") == {}
    assert heal_connector(env, "c", Thresholds(), now=1001) == []


def test_a_task_that_keeps_failing_is_retried_with_backoff_then_given_up():
    t = Thresholds(task_restart_limit=2, task_restart_backoff_seconds=60)
    env = SimpleNamespace(connect=FakeConnect(heals=False), rollout_store=FakeStore())
    first = heal_connector(env, "c", t, now=1000)
    assert first == ["connector c: restart 1 of 2 did not bring it back: connector 'c' task 0 FAILED: PSQLException: gone"]
    assert heal_connector(env, "c", t, now=1030)[0].startswith("connector c: not restarted (restart 2 after 60s backoff")
    assert env.connect.restarts == 1
    heal_connector(env, "c", t, now=1061)
    assert env.connect.restarts == 2
    assert heal_connector(env, "c", t, now=99999) == [
        "connector c: not restarted (gave up after 2 restarts): connector 'c' task 0 FAILED: PSQLException: gone"]
    assert env.connect.restarts == 2


def test_a_connect_api_without_restart_only_reports():
    connect = FakeConnect(heals=True)
    connect.RESTARTS_FAILED_TASKS = False
    env = SimpleNamespace(connect=connect, rollout_store=FakeStore())
    assert heal_connector(env, "c", Thresholds(), now=1)[0].startswith("connector c: cannot be restarted")
    assert connect.restarts == 0


class FakeRouting:
    def __init__(self, wait_error=None):
        self.started, self.cancelled, self.wait_error = [], [], wait_error

    def start(self, statements, name, resume_from=None):
        self.started.append((tuple(statements), name, resume_from))
        return "job-2"

    def wait_running(self, job_id, timeout=90.0):
        if self.wait_error:
            raise self.wait_error

    def cancel(self, job_id):
        self.cancelled.append(job_id)


class FakeProbe:
    RESTORES_FROM_CHECKPOINTS = True

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints

    def latest_checkpoint(self, job_id):
        return self.checkpoints.get(job_id)


def _env(checkpoints, store):
    return SimpleNamespace(health=FakeProbe(checkpoints), routing=FakeRouting(), rollout_store=store)


def test_a_lost_routing_job_starts_from_its_newest_checkpoint_with_its_recorded_sql():
    store = FakeStore({CURRENT_KEY: {"fingerprint": "abc", "job_id": "job-1"},
                       "abc": {"fingerprint": "abc", "job_id": "job-1", "statements": ["CREATE ...", "INSERT ..."]}})
    env = _env({"job-1": "file:///s/checkpoints/job-1/chk-7"}, store)
    assert heal_routing(env, []) == ["routing job restored from /s/checkpoints/job-1/chk-7 as job-2"]
    assert env.routing.started == [(("CREATE ...", "INSERT ..."), "business-events-routing-abc",
                                    "file:///s/checkpoints/job-1/chk-7")]
    assert store[CURRENT_KEY] == {"fingerprint": "abc", "job_id": "job-2"} and store["abc"]["job_id"] == "job-2"


def test_a_restored_job_that_restarts_on_its_way_up_is_on_record_all_the_same():
    """Its checkpoints are what the next restore must start from, not the older job's."""
    store = FakeStore({CURRENT_KEY: {"fingerprint": "abc", "job_id": "job-1"},
                       "abc": {"fingerprint": "abc", "job_id": "job-1", "statements": ["CREATE ...", "INSERT ..."]}})
    env = _env({"job-1": "file:///s/checkpoints/job-1/chk-7"}, store)
    env.routing = FakeRouting(wait_error=FlinkError("Flink job job-2 failed after start and is restarting: X"))
    assert heal_routing(env, []) == ["routing job restored from /s/checkpoints/job-1/chk-7 as job-2, but not running "
                                     "yet: Flink job job-2 failed after start and is restarting: X"]
    assert store[CURRENT_KEY] == {"fingerprint": "abc", "job_id": "job-2"} and store["abc"]["job_id"] == "job-2"


def test_a_running_or_restarting_job_is_left_to_flink():
    env = _env({"job-1": "file:///c"}, FakeStore({CURRENT_KEY: {"fingerprint": "abc"}, "abc": {"statements": []}}))
    assert heal_routing(env, [RoutingReading("job-1", "r", "RESTARTING")]) == []
    assert env.routing.started == []


def test_a_failed_job_is_restored_from_its_own_checkpoint():
    store = FakeStore({CURRENT_KEY: {"fingerprint": "abc", "job_id": "job-0"},
                       "abc": {"job_id": "job-0", "statements": ["S"]}})
    env = _env({"job-1": "file:///c/job-1/chk-3"}, store)
    assert heal_routing(env, [RoutingReading("job-1", "r", "FAILED")]) == ["routing job restored from /c/job-1/chk-3 as job-2"]


def test_without_a_record_or_a_checkpoint_nothing_is_started():
    assert heal_routing(_env({}, FakeStore()), []) == [
        "routing job: nothing recorded as deployed, so nothing to restore (run flink-rollout)"]
    store = FakeStore({CURRENT_KEY: {"fingerprint": "abc"}, "abc": {"job_id": "job-1", "statements": ["S"]}})
    env = _env({}, store)
    assert heal_routing(env, []) == ["routing job: no retained checkpoint of job job-1; not restored (run flink-rollout)"]
    assert env.routing.started == []


def test_copies_of_the_deployed_job_are_cancelled_and_the_deployed_one_kept():
    store = FakeStore({CURRENT_KEY: {"fingerprint": "abc", "job_id": "job-2"}, "abc": {"statements": ["S"]}})
    env = _env({}, store)
    readings = [RoutingReading("job-1", "r", "RESTARTING"), RoutingReading("job-2", "r", "RUNNING")]
    assert heal_routing(env, readings) == ["routing job job-1 cancelled: a copy of the deployed job job-2"]
    assert env.routing.cancelled == ["job-1"] and env.routing.started == []
    store[CURRENT_KEY] = {"fingerprint": "abc", "job_id": "job-9"}  # neither is on record: a person's call
    assert heal_routing(_env({}, store), readings) == [
        "routing job: 2 run at once and none is the one recorded as deployed; left as they are (run flink-rollout)"]


class EngineProbe:
    """Engines in start order; starting `jm` also starts `tm` over (as the local stack does)."""

    def __init__(self, dead):
        self.alive = {n: n not in dead for n in ("kafka", "jm", "tm", "postgres")}
        self.started = []

    def engines(self):
        return [EngineReading(n, up, "", True) for n, up in self.alive.items()]

    def start_engine(self, name):
        self.started.append(name)
        self.alive[name] = True
        if name == "jm" and not self.alive["tm"]:
            self.alive["tm"] = True
            return [f"engine {name} started again in 1.0s", "engine tm started over in 1.0s"]
        return [f"engine {name} started again in 1.0s"]


def test_an_engine_started_over_with_another_is_not_started_again():
    probe = EngineProbe(dead={"kafka", "jm", "tm"})
    assert start_dead_engines(probe, asleep=False) == [
        "engine kafka started again in 1.0s", "engine jm started again in 1.0s", "engine tm started over in 1.0s"]
    assert probe.started == ["kafka", "jm"]


def test_a_database_stopped_by_autostop_is_left_asleep():
    probe = EngineProbe(dead={"postgres"})
    assert start_dead_engines(probe, asleep=True) == [] and probe.started == []
    assert start_dead_engines(probe, asleep=False) == ["engine postgres started again in 1.0s"]
