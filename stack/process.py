"""Start, watch and stop one engine process: pid file, own log file, health check with a timeout.

An engine that is already healthy is reused (start-up is idempotent). A port taken by something that
is not our engine is reported as one line naming the port and the variable that moves it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import EnvironmentProblem
from pipeline.polling import holds_within, poll_until


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (for the status report and the closing figures)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Engine:
    """One supervised process. Subclasses fill in `command`, `prepare` and `healthy`."""

    name: str
    home: Path
    ports: dict[str, int]  # {"CDC_X_PORT": port} so a clash names the variable that moves it
    start_timeout: float = 90.0
    env: dict[str, str] = field(default_factory=dict)
    #: engines whose start from dead leaves this one, still running, holding work for a process that is gone:
    #: it is then stopped and started too (LocalStack.up)
    starts_over_with: tuple[str, ...] = ()

    @property
    def log_path(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.home / f"{self.name}.pid"

    # -- to override ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration, create data folders; must be safe to call again."""

    def healthy(self) -> bool:
        raise NotImplementedError

    def preexec_user(self) -> str | None:
        return None

    # -- lifecycle -----------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def start(self) -> str:
        """Bring the engine up; return 'reused' or 'started'."""
        if self.healthy():
            return "reused"
        own = self.pid()
        if own is None:
            for var, port in self.ports.items():
                # a process just killed can hold its port for a moment while its threads exit (a JVM's
                # main thread is already a zombie then): give it a few seconds before calling it a clash
                if port_open(port) and not holds_within(lambda: not port_open(port), 10):
                    raise EnvironmentProblem(
                        f"{self.name}: port {port} is already in use by another process",
                        fix=f"stop that process or choose another port with {var}=<port>",
                    )
            self.home.mkdir(parents=True, exist_ok=True)
            self.prepare()
            self._spawn()
        self.wait_healthy()
        return "started"

    def _spawn(self) -> None:
        cmd = self.command()
        env = {**os.environ, **self.env}
        user = self.preexec_user()
        if user:
            cmd = ["runuser", "-u", user, "--", *cmd]
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- starting {self.name} at {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n".encode())
            proc = subprocess.Popen(
                cmd,
                cwd=self.home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the caller; stopped by pid
            )
        self.pid_path.write_text(str(proc.pid))
        self._proc = proc

    def wait_healthy(self) -> None:
        def up() -> bool:
            if self.healthy():
                return True
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.poll() is not None:
                raise EnvironmentProblem(
                    f"{self.name} exited during start-up (code {proc.returncode}): {tail(self.log_path)}",
                    fix=f"read {self.log_path}",
                )
            if proc is None and self.pid() is None:
                raise EnvironmentProblem(f"{self.name} is not running: {tail(self.log_path)}", fix=f"read {self.log_path}")
            return False

        try:
            poll_until(up, timeout=self.start_timeout, every=0.25, what=f"{self.name} healthy",
                       error=EnvironmentProblem)
        except EnvironmentProblem as err:
            if "not reached" not in err.message:
                raise
            raise EnvironmentProblem(
                f"{self.name} did not become healthy within {self.start_timeout:.0f}s: {tail(self.log_path)}",
                fix=f"read {self.log_path}",
            ) from None

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our process (SIGTERM, then SIGKILL); return True when something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        if not gone(pid, timeout):
            _signal_group(pid, signal.SIGKILL)
            gone(pid, 30)
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.pid == pid:
            proc.wait(5)  # reap our own child
        self.pid_path.unlink(missing_ok=True)
        # a restart right after must not find our own ports still busy
        holds_within(lambda: not any(port_open(p) for p in self.ports.values()), 10, every=0.1)
        return True

    def status(self) -> dict:
        pid = self.pid()
        return {
            "engine": self.name,
            "healthy": self.healthy(),
            "pid": pid,
            "rss_mb": round(tree_rss_mb(pid)) if pid else None,
            "ports": list(self.ports.values()),
            "log": str(self.log_path),
        }


def gone(pid: int, timeout: float) -> bool:
    """True once the process `pid` has exited (within `timeout` seconds)."""
    return holds_within(lambda: not pid_alive(pid), timeout)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (launcher scripts, postgres backends)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += rss_mb(current) or 0.0
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            pass
    return total


def stop_supervised(folder: Path) -> list[str]:
    """Stop every process supervised from `folder` (one `<name>.pid` each), e.g. the consumers."""
    stopped = []
    for pid_file in sorted(folder.glob("*.pid")):
        engine = Engine(name=pid_file.stem, home=folder, ports={})
        if engine.stop():
            stopped.append(engine.name)
    return stopped
