"""rollout.apply against fake RoutingJobs/RolloutStore ports: every failure branch after the old job stopped
either restores it or names how to finish — never a silent "no job running"."""

from __future__ import annotations

import pytest

from filters.compiler import compile_job
from filters.loader import load_pipeline
from pipeline import rollout
from pipeline.errors import FlinkError, TransientError
from pipeline.paths import FILTERS_FILE
from pipeline.ports import RoutingJobs, RolloutStore, RunningJob


class FakeJobs:
    SUPPORTS_SAVEPOINTS = True
    DIALECT = "local"

    def __init__(self, running=(), fail: dict[str, BaseException] | None = None):
        self.jobs = {j.id: j for j in running}
        self.fail = fail or {}
        self.calls: list[str] = []
        self.next_id = 0

    def compile_options(self) -> dict:
        return {}

    def _maybe_fail(self, step: str) -> None:
        self.calls.append(step)
        if step in self.fail:
            raise self.fail.pop(step) if step.startswith("restore") else self.fail[step]

    def running(self):
        return list(self.jobs.values())

    def validate(self, statements):
        self._maybe_fail("validate")

    def start(self, statements, name, resume_from=None):
        self._maybe_fail(f"start:{resume_from}")
        self.next_id += 1
        job_id = f"job-{self.next_id}"
        self.jobs[job_id] = RunningJob(job_id, name, rollout.fingerprint_of_name(name))
        return job_id

    def wait_running(self, job_id, timeout=90.0):
        self._maybe_fail("wait_running")

    def stop(self, job):
        self._maybe_fail(f"stop:{job.id}")
        del self.jobs[job.id]
        return f"savepoint-of-{job.id}"

    def restore(self, job, token, statements):
        self._maybe_fail("restore")
        if statements is None:
            raise FlinkError(f"the statements of {job.name} are not on record")
        self.jobs[job.id + "-restored"] = job
        return job.id + "-restored"

    def cancel(self, job_id):
        self.calls.append(f"cancel:{job_id}")
        self.jobs.pop(job_id, None)

    def exceptions(self, job_id):
        return None


class FakeStore(dict):
    def save(self, fingerprint, record):
        self[fingerprint] = record

    def load(self, fingerprint):
        return self.get(fingerprint)


@pytest.fixture()
def job():
    return compile_job(load_pipeline(FILTERS_FILE), "local")


def _old(store: FakeStore) -> RunningJob:
    store.save("oldfp", {"routes": {}, "statements": ["CREATE old", "EXECUTE STATEMENT SET old"]})
    return RunningJob("old", rollout.job_name("oldfp"), "oldfp")


def test_the_fakes_satisfy_the_ports():
    assert isinstance(FakeJobs(), RoutingJobs) and isinstance(FakeStore(), RolloutStore)


def test_replace_stops_the_old_job_and_starts_the_new_from_its_savepoint(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)])
    plan = rollout.plan_against_running(job, jobs, store)
    result = rollout.apply(plan, job, jobs, store)
    assert plan.action == "replace" and result["savepoints"] == ["savepoint-of-old"]
    assert jobs.calls == ["validate", "stop:old", "start:savepoint-of-old", "wait_running"]
    assert store.load(plan.fingerprint)["statements"] == list(job.statements)
    assert rollout.plan_against_running(job, jobs, store).action == "none"  # re-running converges


def test_rejected_sql_touches_nothing(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"validate": FlinkError("Flink rejected the statement: Column 'x' not found")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError, match="Column 'x' not found"):
        rollout.apply(plan, job, jobs, store)
    assert jobs.calls == ["validate"] and list(jobs.jobs) == ["old"]


@pytest.mark.parametrize("step", ["start:savepoint-of-old", "wait_running"])
def test_a_transient_error_after_the_old_job_stopped_restores_it(job, step):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={step: TransientError("Flink SQL Gateway at x is unreachable")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store)
    assert "unreachable" in str(info.value) and "previous job restored as old-restored" in str(info.value)
    assert "old-restored" in jobs.jobs
    if step == "wait_running":
        assert "cancel:job-1" in jobs.calls  # the new, failing job is not left behind
    assert plan.fingerprint not in store  # nothing recorded for a job that never ran


def test_when_restoring_fails_too_the_error_names_the_savepoint(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"wait_running": TransientError("job not RUNNING after 90s"),
                                          "restore": TransientError("gateway unreachable")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store)
    line = str(info.value)
    assert "NO routing job is running" in line and "savepoint-of-old" in line and "\n" not in line


def test_an_old_job_without_a_record_is_named_with_its_savepoint(job):
    store = FakeStore()
    old = RunningJob("old", rollout.job_name("unknownfp"), "unknownfp")
    jobs = FakeJobs([old], fail={"wait_running": FlinkError("Flink job job-1 is FAILED: boom")})
    plan = rollout.plan_against_running(job, jobs, store)
    assert not plan.previous_known
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store)
    assert "not on record" in str(info.value) and "savepoint-of-old" in str(info.value)


def test_a_failed_stop_starts_nothing(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"stop:old": FlinkError("Flink refused to stop job old: busy")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError, match="busy"):
        rollout.apply(plan, job, jobs, store)
    assert not any(c.startswith("start") for c in jobs.calls) and "old" in jobs.jobs


def test_first_start_has_nothing_to_restore(job):
    store = FakeStore()
    jobs = FakeJobs(fail={"wait_running": FlinkError("Flink job job-1 is FAILED: boom")})
    plan = rollout.plan_against_running(job, jobs, store)
    assert plan.action == "start"
    with pytest.raises(FlinkError, match="boom"):
        rollout.apply(plan, job, jobs, store)
    assert jobs.jobs == {}


def test_an_unexpected_error_after_the_old_job_stopped_restores_it(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"start:savepoint-of-old": RuntimeError("connection pool exhausted")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store, "local")
    line = str(info.value)
    assert "RuntimeError: connection pool exhausted" in line and "previous job restored as old-restored" in line
    assert "old-restored" in jobs.jobs and jobs.calls[-1] == "restore"
    assert isinstance(info.value.__cause__, RuntimeError)  # the traceback of the bug stays in the run's logs
    assert plan.fingerprint not in store


def test_an_unexpected_error_and_a_failed_restore_name_the_savepoint_and_the_command(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"start:savepoint-of-old": RuntimeError("boom"),
                                          "restore": OSError("gateway went away")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store, "staging")
    line = str(info.value)
    assert "RuntimeError: boom" in line and "OSError: gateway went away" in line and "NO routing job is running" in line
    assert "savepoint-of-old" in line and "./run flow flink-rollout --environment staging" in line
    assert "\n" not in line


def test_an_interrupt_after_the_old_job_stopped_restores_it_then_interrupts(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"wait_running": KeyboardInterrupt()})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(KeyboardInterrupt):
        rollout.apply(plan, job, jobs, store, "local")
    assert "cancel:job-1" in jobs.calls and "old-restored" in jobs.jobs and "job-1" not in jobs.jobs


def test_an_interrupt_whose_restore_fails_names_the_savepoint_and_the_command(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"wait_running": KeyboardInterrupt(), "restore": KeyboardInterrupt()})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError) as info:
        rollout.apply(plan, job, jobs, store, "local")
    line = str(info.value)
    assert "KeyboardInterrupt" in line and "savepoint-of-old" in line
    assert "./run flow flink-rollout --environment local" in line


def test_an_unexpected_error_before_anything_stopped_leaves_the_old_job_alone(job):
    store = FakeStore()
    jobs = FakeJobs([_old(store)], fail={"stop:old": RuntimeError("bug in stop")})
    plan = rollout.plan_against_running(job, jobs, store)
    with pytest.raises(FlinkError, match="RuntimeError: bug in stop"):
        rollout.apply(plan, job, jobs, store, "local")
    assert "old" in jobs.jobs and not any(c.startswith(("start", "restore")) for c in jobs.calls)
