"""One deploy at a time per environment.

deploy-pipeline, flink-rollout and migrate-connector run their whole body inside
`with one_deploy_at_a_time(environment):`, which holds one slot of the Prefect global concurrency limit
`cdc-deploy-<environment>` (limit 1). Runs for the same environment never overlap; runs for different
environments use different limits and never wait for each other.

- Prefect API: `prefect.concurrency.sync.concurrency` (global concurrency limits with a lease). The limit is
  created when missing and set back to limit 1 without slot decay when changed (idempotent), and slots are
  taken with `strict=True`: a missing limit is an error, never an acquisition Prefect silently skips.
- Nesting: a ContextVar records the environments this call stack already holds. deploy-pipeline runs
  flink-rollout as a subflow in the same call stack, so the subflow enters without acquiring again (asking
  for a second slot would wait for its own parent's slot: a deadlock until the bound).
- Waiting: a second run waits up to CDC_DEPLOY_WAIT_SECONDS (default 300) for the slot, then fails with
  DeployBusy: one line naming the environment and the run that holds the slot (every holder tags its flow
  run with the limit's name, so the holder is one API query away; it also shows in the UI).
- A crashed run: see LEASE_SECONDS.
- Two Prefect APIs on one machine: a run through `./run flow` uses its own temporary API, a scheduled run
  the project's server, and their limits know nothing of each other. So the slot is also a lock file under
  the state folder (`.state/locks/cdc-deploy-<environment>.lock`, flock), taken after the Prefect slot (the
  one lock both kinds of run share is always the last taken, so no two runs wait for each other): runs on one machine
  exclude each other whichever API they use; the kernel releases it when its process dies. (The chaos suite
  found two pipeline-health runs, one scheduled, one by hand, each restoring the routing job.)
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterId, FlowRunFilterState,
                                            FlowRunFilterStateType, FlowRunFilterTags)
from prefect.client.schemas.objects import ConcurrencyLeaseHolder, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.logging import get_logger, get_run_logger
from prefect.settings import get_current_settings
from prefect.utilities.asyncutils import run_coro_as_sync

from pipeline.errors import ConfigError, DeployBusy
from stack.settings import state_dir

__all__ = ["LEASE_SECONDS", "one_deploy_at_a_time", "slot_name", "wait_seconds"]

DEFAULT_WAIT_SECONDS = 300.0
WAIT_VARIABLE = "CDC_DEPLOY_WAIT_SECONDS"

# A crashed run cannot hold the slot forever: the slot is held under a Prefect *lease* of LEASE_SECONDS that
# Prefect's own background thread renews every 3/4 of it while the run lives. A run that dies without
# releasing (SIGKILL, OOM, a closed terminal, a lost machine) stops renewing; the lease expires and Prefect's
# repossessor revokes it and frees the slot. On a Prefect server (`./run prefect up`) the server's repossessor
# service does that. The temporary API of `./run flow` / `./run pipeline` runs no repossessor, so a run
# waiting for the slot does the repossessor's step itself (`_reap_expired_leases`, Prefect's own
# `revoke_expired_lease`) before each wait slice. For that the leases are kept on disk under PREFECT_HOME
# (pyproject.toml, [tool.prefect.server.concurrency] lease_storage = ...filesystem): each process has its
# own temporary API server, and leases in its memory would be invisible to the next run's server (and gone
# with a server restart), leaving the slot held forever.
# Not slot decay: decay frees a slot on a timer even while its holder is alive, so a deploy longer than
# the decay would let a second one in.
# 120 s: Prefect's minimum is 60; renewal every 90 s leaves room for its three renewal retries, and a crashed
# run's slot is free again well within the default wait of 300 s.
LEASE_SECONDS = 120.0
#: on the temporary API, how often a waiting run looks for an expired lease to reap
REAP_EVERY_SECONDS = 15.0

_held: ContextVar[frozenset[str]] = ContextVar("cdc_deploy_slots_held", default=frozenset())
_log = get_logger("cdc.deploy_slot")


def slot_name(environment: str) -> str:
    return f"cdc-deploy-{environment}"


def wait_seconds(environ=None) -> float:
    """CDC_DEPLOY_WAIT_SECONDS: how long a second deploy of an environment waits for the first one."""
    raw = (os.environ if environ is None else environ).get(WAIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{WAIT_VARIABLE}={raw!r} is not a number of seconds",
                          fix=f"set {WAIT_VARIABLE} to e.g. 300 (0 = refuse at once when another deploy runs)")
    return value


@contextmanager
def one_deploy_at_a_time(environment: str, wait: float | None = None) -> Iterator[None]:
    """Hold the environment's deploy slot for the body; re-entrant within one call stack (subflows).

    Waits up to `wait` seconds (default: CDC_DEPLOY_WAIT_SECONDS) while another run holds it, then raises
    DeployBusy. The slot is released when the body ends, however it ends."""
    name = slot_name(environment)
    if name in _held.get():
        yield  # an enclosing flow of this call stack (deploy-pipeline) already holds it
        return
    wait = wait_seconds() if wait is None else wait
    run = _current_flow_run()
    with ExitStack() as stack:
        _acquire(stack, name, environment, wait, run)
        token = _held.set(_held.get() | {name})
        try:
            yield
        finally:
            _held.reset(token)


def _acquire(stack: ExitStack, name: str, environment: str, wait: float, run) -> None:
    deadline = time.monotonic() + wait
    _acquire_prefect_slot(stack, name, environment, deadline, wait, run)
    _lock_on_this_machine(stack, name, environment, deadline, wait, run)


def _lock_on_this_machine(stack: ExitStack, name: str, environment: str, deadline: float, wait: float,
                          run) -> None:
    folder = state_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    lock = stack.enter_context(open(folder / f"{name}.lock", "a+"))
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                lock.seek(0)
                holder = lock.read().strip() or "another process"
                raise DeployBusy(f"another deploy of {environment!r} is running: {holder}, through another Prefect "
                                 f"API on this machine; waited {wait:.0f}s for {folder / (name + '.lock')}",
                                 fix=f"let it finish, then run again; or wait longer: {WAIT_VARIABLE}=<seconds>") from None
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))
    lock.seek(0)
    lock.truncate()
    lock.write(f"flow run {run.name!r} ({run.id}, pid {os.getpid()})" if run else f"pid {os.getpid()}")
    lock.flush()
    stack.callback(fcntl.flock, lock, fcntl.LOCK_UN)


def _acquire_prefect_slot(stack: ExitStack, name: str, environment: str, deadline: float, wait: float,
                          run) -> None:
    temporary_api = _api_is_temporary()
    if _ensure_limit(name) and wait > 0:
        _logger().info("another deploy of %r holds its slot %s: %s; waiting up to %.0fs", environment, name,
                       _describe_holder(name, run), wait)
    holder = ConcurrencyLeaseHolder(type="flow_run", id=run.id) if run else None
    while True:
        if temporary_api:
            _reap_expired_leases()
        remaining = max(deadline - time.monotonic(), 0.0)
        # on the temporary API, wait in slices so that a crashed holder's expired lease is reaped meanwhile
        slice_ = min(remaining, REAP_EVERY_SECONDS) if temporary_api else remaining
        try:
            # a timeout of 0 would mean "wait forever" to Prefect: ask once, briefly
            stack.enter_context(concurrency(name, occupy=1, timeout_seconds=max(slice_, 0.1),
                                            lease_duration=LEASE_SECONDS, strict=True, holder=holder,
                                            # a renewal hiccup must not kill a half-done switch: warn only
                                            raise_on_lease_renewal_failure=False))
            break
        except TimeoutError:
            if time.monotonic() >= deadline:
                raise DeployBusy(f"another deploy of {environment!r} is running: {_describe_holder(name, run)}; "
                                 f"waited {wait:.0f}s for its slot {name}",
                                 fix=f"let it finish, then run again; or wait longer: {WAIT_VARIABLE}=<seconds> "
                                     "(a crashed run's slot frees itself after about 2 minutes)") from None
    if run:
        _tag(run, name)


def _ensure_limit(name: str) -> bool:
    """Create the limit when missing (limit 1, no slot decay) or set it back; True when its slot is taken."""
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:  # another run created it a moment ago
                pass
            limit = client.read_global_concurrency_limit_by_name(name)
        if limit.limit != 1 or limit.slot_decay_per_second:
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=1, slot_decay_per_second=0.0))
        return limit.active_slots >= 1


def _current_flow_run():
    ctx = FlowRunContext.get()
    return ctx.flow_run if ctx and ctx.flow_run else None


def _tag(run, name: str) -> None:
    """Mark the holder's flow run, so that a waiting run can name it."""
    with get_client(sync_client=True) as client:
        tags = client.read_flow_run(run.id).tags
        if name not in tags:
            client.update_flow_run(run.id, tags=[*tags, name])


def _describe_holder(name: str, own) -> str:
    """The running flow run tagged with the slot's name, e.g. `deploy-pipeline run 'witty-fox' (<id>, since
    12:00:01Z)`; a best effort, never an error of its own."""
    try:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[name]),
                                              state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                                              id=FlowRunFilterId(not_any_=[own.id]) if own else None),
                sort=FlowRunSort.START_TIME_DESC, limit=1)
            if not runs:
                return "a run outside a flow, or one that has just ended"
            holder = runs[0]
            flow = client.read_flow(holder.flow_id).name
        since = f", since {holder.start_time:%H:%M:%SZ}" if holder.start_time else ""
        return f"{flow} run {holder.name!r} ({holder.id}{since})"
    except Exception:  # naming the holder is a courtesy; the refusal must not fail on it
        return "a run that could not be read"


def _api_is_temporary() -> bool:
    """No repossessor watches this API: Prefect's temporary (ephemeral) server, started by this process."""
    url = get_current_settings().api.url
    if not url:
        return True
    from prefect.server.api.server import SubprocessASGIServer

    return any(getattr(s, "running", False) and s.api_url == url
               for s in getattr(SubprocessASGIServer, "_instances", {}).values())


def _reap_expired_leases() -> None:
    """Prefect's repossessor step, for a temporary API: free the slots of leases nobody renewed.

    Serialised through a lock file in PREFECT_HOME, so two waiting runs never free the same lease twice."""
    from prefect.server.concurrency.lease_storage import get_concurrency_lease_storage
    from prefect.server.database import provide_database_interface
    from prefect.server.services.repossessor import revoke_expired_lease

    async def reap() -> int:
        storage = get_concurrency_lease_storage()
        expired = await storage.read_expired_lease_ids()
        for lease_id in expired:
            await revoke_expired_lease(lease_id, db=provide_database_interface(), lease_storage=storage)
        return len(expired)

    home = get_current_settings().home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "cdc-lease-reaper.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        reaped = run_coro_as_sync(reap())
    if reaped:
        _logger().warning("freed %d concurrency slot(s) whose run stopped renewing its lease (crashed)", reaped)


def _logger():
    try:
        return get_run_logger()
    except Exception:
        return _log


class _QuietSlotTimeouts(logging.Filter):
    """Prefect logs an ERROR line each time a slot request times out; that is our wait ending, reported by
    DeployBusy (or followed by the next wait slice), not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and args[0] == "ConcurrencySlotAcquisitionWithLeaseService" \
                and isinstance(args[1], tuple) and args[1]:
            future = args[1][-1]
            try:
                return not (future.done() and isinstance(future.exception(timeout=0), TimeoutError))
            except Exception:
                return True
        return True


logging.getLogger("prefect._internal.concurrency").addFilter(_QuietSlotTimeouts())
