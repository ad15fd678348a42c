"""Start on demand: when the API cannot reach its database it asks for a start — once, not once per request.

`SingleFlight` wraps whatever asks for the start: while one ask is in flight, and for `cooldown` seconds
after it, every other failing request is coalesced onto it (counted, not sent). The ask itself must be quick,
because the client's 503 waits for it: it launches the start and returns; the start runs elsewhere.

How the start is asked for (`CDC_API_START_WITH`):

- `flow` (local default): runs the database-autostart flow as a detached process (`python -m
  flows.database_autostart`), which starts PostgreSQL through the stack, waits until it accepts connections
  and resumes the capture connector auto-stop paused. A lock file held by that process for its whole life makes
  several API processes share one start: a second ask while it runs is coalesced.
- `function` (cloud, when `CDC_AURORA_AUTOSTART_FUNCTION` is set): invokes the auto-start Lambda
  asynchronously (`InvocationType=Event`).
- `rds` (cloud otherwise): `StartDBCluster` through the AWS adapter (`AuroraCluster.start_database`, which only
  starts from `stopped` and reports `starting`/`available`).
- `none`: asks nothing; the 503 is answered all the same.

In the cloud each Lambda instance has its own SingleFlight, so N cold instances may each ask once: harmless,
since a start is only made from `stopped` and later asks see `starting`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.paths import ROOT

log = logging.getLogger("cdc.api")

START_WITH = ("flow", "function", "rds", "none")


class SingleFlight:
    """Calls `ask` at most once per `cooldown` seconds (and never twice at once), however many threads call."""

    def __init__(self, ask: Callable[[], str], cooldown: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.ask, self.cooldown, self.clock = ask, cooldown, clock
        self._lock = threading.Lock()
        self._in_flight = False
        self._asked_at: float | None = None
        self.asked = 0  # asks that went out
        self.coalesced = 0  # requests that found an ask in flight or recent

    def __call__(self) -> str:
        with self._lock:
            now = self.clock()
            if self._in_flight or (self._asked_at is not None and now - self._asked_at < self.cooldown):
                self.coalesced += 1
                return "already asked"
            self._in_flight, self._asked_at = True, now
        try:
            outcome = self.ask()
            with self._lock:
                self.asked += 1
            log.warning("database start asked for: %s", outcome)
            return outcome
        except BaseException:
            with self._lock:
                self._asked_at = None  # the ask failed: the next failing request may ask again
            raise
        finally:
            with self._lock:
                self._in_flight = False


class FlowStarter:
    """Runs the database-autostart flow as a detached process, one at a time across processes (lock file)."""

    def __init__(self, environment: str, state: Path, python: str = sys.executable):
        self.environment, self.state, self.python = environment, state, python

    @property
    def lock_path(self) -> Path:
        return self.state / "autostart.lock"

    @property
    def log_path(self) -> Path:
        return self.state / "autostart.log"

    def running(self) -> bool:
        """Whether a database-autostart process started by an API holds the lock now."""
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False

    def __call__(self) -> str:
        self.state.mkdir(parents=True, exist_ok=True)
        lock = open(self.lock_path, "a")
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return "database-autostart already running"
            # the log is the start's record for an operator: INFO whatever the API's own environment says
            env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "PREFECT_LOGGING_LEVEL": "INFO"}
            # as ./run sets it: flows run in-process keep Prefect's temporary API database with the state
            env.setdefault("PREFECT_HOME", str(ROOT / ".state" / "prefect-local"))
            with open(self.log_path, "ab") as out:
                # the child inherits the locked descriptor and holds the lock until it exits
                proc = subprocess.Popen([self.python, "-m", "flows.database_autostart", "--environment",
                                         self.environment], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=subprocess.STDOUT, pass_fds=(lock.fileno(),),
                                        start_new_session=True)
            threading.Thread(target=proc.wait, daemon=True, name="autostart-reaper").start()  # no zombie
            return f"database-autostart started (pid {proc.pid}, log {self.log_path})"
        finally:
            lock.close()  # ours; the child's copy keeps the lock


def aws_starter(aws, start_with: str) -> Callable[[], str]:
    """The cloud ask: the auto-start function (asynchronous invoke) or StartDBCluster through the adapter."""
    if start_with == "function":
        from environments.aws.activity import invoke_autostart

        if not aws.autostart_function:
            from pipeline.errors import ConfigError

            raise ConfigError("CDC_API_START_WITH=function needs CDC_AURORA_AUTOSTART_FUNCTION",
                              fix="set the auto-start function's name, or CDC_API_START_WITH=rds")

        def invoke() -> str:
            status = invoke_autostart(aws.client("lambda"), aws.autostart_function,
                                      {"cluster": aws.aurora_cluster_id, "source": "producer-api"})
            return f"auto-start function {aws.autostart_function} invoked (HTTP {status})"
        return invoke

    from environments.aws.aurora import AuroraCluster

    cluster = AuroraCluster.from_settings(aws)

    def start() -> str:
        return f"{cluster.name}: {cluster.start_database()}"
    return start
