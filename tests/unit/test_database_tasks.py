"""The stop and resume tasks against fake ports: a failed stop request is undone (capture resumed) and said in
one line; a stop requested but not seen finished leaves capture paused and says how to finish; a connector a
person paused is neither recorded nor resumed."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from prefect.logging import disable_run_logger

import tasks.database as db_tasks
from pipeline.errors import PipelineError, TransientError
from pipeline.inactivity import AUTOSTOP_KEY
from pipeline.ports import ConnectorState, TaskState


class FakeConnect:
    def __init__(self, state: str = "RUNNING", fail_resume: bool = False):
        self.state, self.fail_resume, self.calls = state, fail_resume, []

    def status(self, name):
        return ConnectorState(name, self.state, (TaskState(0, self.state),))

    def pause(self, name):
        self.calls.append(f"pause {name}")
        self.state = "STOPPED"

    def resume(self, name):
        self.calls.append(f"resume {name}")
        if self.fail_resume:
            raise TransientError("Connect did not answer")
        self.state = "RUNNING"


class FakeInfrastructure:
    def __init__(self, fail_stop: Exception | None = None, fail_wait: Exception | None = None):
        self.fail_stop, self.fail_wait, self.calls = fail_stop, fail_wait, []

    def stop_database(self):
        self.calls.append("stop")
        if self.fail_stop:
            raise self.fail_stop
        return "stopping"

    def wait_stopped(self, timeout=1200.0):
        self.calls.append("wait-stopped")
        if self.fail_wait:
            raise self.fail_wait
        return "stopped"


class FakeStore(dict):
    def save(self, key, record):
        self[key] = record

    def load(self, key):
        return self.get(key)


@pytest.fixture
def fake(monkeypatch):
    env = SimpleNamespace(connect=FakeConnect(), infrastructure=FakeInfrastructure(), rollout_store=FakeStore())

    @contextmanager
    def environment(cfg):
        yield env

    monkeypatch.setattr(db_tasks, "environment", environment)
    monkeypatch.setattr(db_tasks, "capture_connector", lambda env, cfg: "c1")
    with disable_run_logger():
        yield env


def stop(cfg=None):
    return db_tasks.pause_capture_and_stop_database.fn(cfg)


def test_pause_is_recorded_then_the_database_stopped(fake):
    steps = stop()
    assert fake.connect.calls == ["pause c1"] and fake.infrastructure.calls == ["stop", "wait-stopped"]
    assert fake.rollout_store.load(AUTOSTOP_KEY)["connector"] == "c1"
    assert set(steps) == {"pause capture", "stop database"}


def test_a_failed_stop_request_resumes_capture_and_says_so(fake):
    fake.infrastructure.fail_stop = PipelineError("aurora cluster cdc-dev cannot stop now: InvalidDBClusterStateFault")
    with pytest.raises(PipelineError) as err:
        stop()
    line = str(err.value)
    assert line == ("stopping the database failed: aurora cluster cdc-dev cannot stop now: "
                    "InvalidDBClusterStateFault; connector c1 resumed")
    assert fake.connect.calls == ["pause c1", "resume c1"] and fake.connect.state == "RUNNING"
    assert fake.rollout_store.load(AUTOSTOP_KEY) == {}


def test_a_failed_undo_names_the_way_to_finish(fake):
    fake.infrastructure.fail_stop = RuntimeError("boom")
    fake.connect.fail_resume = True
    with pytest.raises(PipelineError, match="connector c1 is still paused .*run database-autostart to resume it"):
        stop()
    assert fake.rollout_store.load(AUTOSTOP_KEY)["connector"] == "c1"  # autostart will know it is ours


def test_a_stop_not_seen_finished_keeps_capture_paused(fake):
    fake.infrastructure.fail_wait = TransientError("aurora cluster cdc-dev stopped not reached after 1200s")
    with pytest.raises(PipelineError, match="stop was requested but is not seen finished.*capture stays paused"):
        stop()
    assert fake.connect.calls == ["pause c1"] and fake.connect.state == "STOPPED"


def test_a_connector_paused_by_a_person_is_not_recorded_nor_resumed(fake):
    fake.connect.state = "PAUSED"
    fake.infrastructure.fail_stop = RuntimeError("boom")
    with pytest.raises(PipelineError, match="nothing to undo"):
        stop()
    assert fake.connect.calls == [] and AUTOSTOP_KEY not in fake.rollout_store
    fake.infrastructure.fail_stop = None
    stop()
    result = db_tasks.resume_capture.fn(None)
    assert result["action"] == "nothing" and "auto-stop did not pause it" in result["reason"]
    assert fake.connect.state == "PAUSED"


def test_resume_after_start_clears_the_record(fake):
    stop()
    result = db_tasks.resume_capture.fn(None)
    assert result["action"] == "resume" and fake.connect.state == "RUNNING"
    assert fake.rollout_store.load(AUTOSTOP_KEY) == {}
    again = db_tasks.resume_capture.fn(None)
    assert again["action"] == "nothing" and fake.connect.calls == ["pause c1", "resume c1"]
