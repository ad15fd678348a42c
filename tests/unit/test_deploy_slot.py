"""One deploy at a time per environment (tasks/deploy_slot.py), against Prefect's temporary test server.

Small dummy flows stand in for deploy-pipeline, flink-rollout and migrate-connector (which need the engines):
each enters `one_deploy_at_a_time(environment)` like they do, records when its body starts and ends, and can
be held inside its body by a threading.Event. Nothing waits on a clock: every wait is on an event, with a
generous bound that only a failing test reaches.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
import uuid
from datetime import timedelta

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_HOME,
                              PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS, temporary_settings)
from prefect.testing.utilities import prefect_test_harness

from pipeline.errors import ConfigError, DeployBusy
from tasks import deploy_slot
from tasks.deploy_slot import one_deploy_at_a_time, slot_name

BOUND = 30  # seconds: reached only when a test fails

_lock = threading.Lock()
_journal: list[tuple[str, str]] = []  # (event, run key), in the order the bodies ran
_gates: dict[str, threading.Event] = {}  # run key -> released by the test
_entered: dict[str, threading.Event] = {}  # run key -> set when its body starts


def _note(event: str, key: str) -> None:
    with _lock:
        _journal.append((event, key))


@flow(name="dummy-deploy")
def dummy_deploy(environment: str, key: str, wait: float = BOUND) -> str:
    with one_deploy_at_a_time(environment, wait=wait):
        _note("start", key)
        _entered[key].set()
        assert _gates[key].wait(BOUND), f"{key} was never released"
        _note("end", key)
    return key


@flow(name="dummy-rollout")
def dummy_rollout(environment: str) -> int:
    with one_deploy_at_a_time(environment, wait=1):  # a second acquisition would time out after 1 s
        return _active_slots(slot_name(environment))


@flow(name="dummy-pipeline")
def dummy_pipeline(environment: str) -> dict:
    with one_deploy_at_a_time(environment, wait=1):
        before = _active_slots(slot_name(environment))
        inner = dummy_rollout(environment)  # a subflow, as deploy-pipeline runs flink-rollout
        return {"pipeline": before, "rollout": inner}


def _active_slots(name: str) -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    # the server asks a waiting client to retry after at most 0.2 s (30 s by default), so a freed slot is
    # taken at once; PREFECT_HOME holds the test's lease files (filesystem lease storage, pyproject.toml); no
    # flow-run heartbeats (their thread costs each run up to a second to stop)
    with temporary_settings({PREFECT_HOME: tmp_path_factory.mktemp("prefect-home"),
                             PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS: 0.2,
                             PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=60):
            yield


class Run(threading.Thread):
    """A dummy deploy in its own thread (a run of another process, as far as the slot is concerned)."""

    def __init__(self, environment: str, wait: float = BOUND):
        self.key = f"{environment}/{uuid.uuid4().hex[:6]}"
        super().__init__(name=self.key, daemon=True)
        self.environment, self.wait_bound = environment, wait
        self.error: BaseException | None = None
        _gates[self.key], _entered[self.key] = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            dummy_deploy(self.environment, self.key, self.wait_bound)
        except BaseException as err:  # noqa: B036 — reported by the test
            self.error = err

    def entered(self) -> bool:
        return _entered[self.key].wait(BOUND)

    def release(self) -> None:
        _gates[self.key].set()

    def finish(self) -> None:
        self.release()
        self.join(BOUND)
        assert not self.is_alive(), f"{self.key} did not end"


def _waiting_signal(monkeypatch) -> threading.Event:
    """Set when a run finds the slot taken and starts to wait."""
    waiting = threading.Event()
    ensure = deploy_slot._ensure_limit

    def spy(name):
        taken = ensure(name)
        if taken:
            waiting.set()
        return taken

    monkeypatch.setattr(deploy_slot, "_ensure_limit", spy)
    return waiting


def _env() -> str:
    return f"t{uuid.uuid4().hex[:8]}"  # a fresh environment, so a fresh limit, per test


def test_a_second_run_for_the_same_environment_waits_until_the_first_ends(prefect_server, monkeypatch):
    env = _env()
    first = Run(env)
    first.start()
    assert first.entered()
    waiting = _waiting_signal(monkeypatch)
    second = Run(env)
    second.start()
    assert waiting.wait(BOUND), "the second run never found the slot taken"
    assert not _entered[second.key].is_set()  # it waits while the first holds the slot
    first.finish()
    assert second.entered()
    second.finish()
    assert first.error is None and second.error is None, (first.error, second.error)
    mine = [entry for entry in _journal if entry[1] in (first.key, second.key)]
    assert mine == [("start", first.key), ("end", first.key), ("start", second.key), ("end", second.key)]
    assert _active_slots(slot_name(env)) == 0


def test_a_second_run_refuses_with_one_line_after_its_bound(prefect_server):
    env = _env()
    first = Run(env)
    first.start()
    assert first.entered()
    second = Run(env, wait=0.5)
    second.start()
    second.join(BOUND)
    first.finish()
    assert isinstance(second.error, DeployBusy), second.error
    line = str(second.error)
    assert "\n" not in line and second.error.exit_code == 1
    assert f"another deploy of '{env}' is running" in line and f"slot cdc-deploy-{env}" in line
    assert f"is running: dummy-deploy run " in line  # the holder, found by the tag on its flow run
    assert "fix:" in line and "CDC_DEPLOY_WAIT_SECONDS" in line
    assert not _entered[second.key].is_set()


def test_runs_for_different_environments_do_not_wait_for_each_other(prefect_server):
    first = Run(_env())
    first.start()
    assert first.entered()
    other = Run(_env(), wait=0.5)  # would be refused after 0.5 s if it had to wait
    other.start()
    assert other.entered()  # while the first still holds its own environment's slot
    other.finish()
    first.finish()
    assert first.error is None and other.error is None, (first.error, other.error)


def test_a_subflow_runs_inside_its_parents_slot_without_deadlock(prefect_server):
    env = _env()
    result = dummy_pipeline(env)
    # one slot taken, by the parent, and still one (not two, not a timeout) inside the subflow
    assert result == {"pipeline": 1, "rollout": 1}
    assert _active_slots(slot_name(env)) == 0


def test_the_slot_is_released_when_the_body_fails(prefect_server):
    env = _env()

    @flow(name="dummy-failing-deploy")
    def failing(environment: str) -> None:
        with one_deploy_at_a_time(environment, wait=1):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing(env)
    assert _active_slots(slot_name(env)) == 0


def test_the_limit_is_created_once_with_limit_one_and_no_decay(prefect_server):
    env = _env()
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(slot_name(env), 3, slot_decay_per_second=0.5)
    with one_deploy_at_a_time(env, wait=1):  # also outside a flow
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(slot_name(env))
    assert (limit.limit, limit.slot_decay_per_second, limit.active_slots) == (1, 0.0, 1)


def test_a_crashed_runs_slot_is_freed_once_its_lease_expires(prefect_server):
    """A holder that died holds a lease nobody renews: a waiting run frees it (Prefect's repossessor step)."""
    env = _env()
    name = slot_name(env)
    assert not deploy_slot._ensure_limit(name)
    with get_client(sync_client=True) as client:  # a holder that then "crashes": no renewal, no release
        lease_id = uuid.UUID(client.increment_concurrency_slots_with_lease(
            names=[name], slots=1, mode="concurrency", lease_duration=60).json()["lease_id"])
    assert _active_slots(name) == 1
    with pytest.raises(DeployBusy):  # its lease still runs: the slot is held
        with one_deploy_at_a_time(env, wait=0.3):
            pass

    from prefect.server.concurrency.lease_storage import get_concurrency_lease_storage
    storage = get_concurrency_lease_storage()
    assert type(storage).__module__.endswith(".filesystem")  # pyproject.toml: leases on disk, shared
    asyncio.run(storage.renew_lease(lease_id, ttl=timedelta(seconds=-1)))  # its 60 s have passed

    with one_deploy_at_a_time(env, wait=BOUND):
        assert _active_slots(name) == 1
    assert _active_slots(name) == 0


def test_wait_seconds_setting():
    assert deploy_slot.wait_seconds({}) == deploy_slot.DEFAULT_WAIT_SECONDS == 300
    assert deploy_slot.wait_seconds({"CDC_DEPLOY_WAIT_SECONDS": "45"}) == 45
    assert deploy_slot.wait_seconds({"CDC_DEPLOY_WAIT_SECONDS": "0"}) == 0
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ConfigError, match="CDC_DEPLOY_WAIT_SECONDS"):
            deploy_slot.wait_seconds({"CDC_DEPLOY_WAIT_SECONDS": bad})


def test_the_three_deploy_flows_hold_the_slot():
    import inspect

    from flows import deploy_pipeline, flink_rollout, migrate_connector
    for module in (deploy_pipeline, flink_rollout, migrate_connector):
        assert "with one_deploy_at_a_time(environment):" in inspect.getsource(module), module.__name__


def test_a_run_through_another_prefect_api_on_this_machine_is_waited_for(prefect_server, tmp_path, monkeypatch):
    """The Prefect limit is per API: a scheduled run (the project's server) and `./run flow` (a temporary API)
    would both get "their" slot. The lock file under the state folder is what they share."""
    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    env = _env()
    (tmp_path / "locks").mkdir()
    with open(tmp_path / "locks" / f"{slot_name(env)}.lock", "a+") as other:  # the other API's run holds it
        fcntl.flock(other, fcntl.LOCK_EX)
        other.write("flow run 'scheduled-health' (pid 1)")
        other.flush()
        run = Run(env, wait=0.5)
        run.start()
        run.join(BOUND)
        assert isinstance(run.error, DeployBusy), run.error
        line = str(run.error)
        assert "\n" not in line and "is running: flow run 'scheduled-health' (pid 1), through another Prefect API" in line
        assert not _entered[run.key].is_set()
        fcntl.flock(other, fcntl.LOCK_UN)
    after = Run(env)
    after.start()
    assert after.entered()  # the lock is free again: the next run goes in
    after.finish()
    assert after.error is None, after.error
    assert _active_slots(slot_name(env)) == 0
