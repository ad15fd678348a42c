"""The supervisor on a real (tiny) process: start, reuse, busy port, stop, failing start."""

import socket
import sys

import pytest

from pipeline.errors import EnvironmentProblem
from stack import dist
from stack.process import Engine, port_open


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpEngine(Engine):
    def __init__(self, home, port, argv=None):
        super().__init__(name="http", home=home, ports={"CDC_HTTP_PORT": port}, start_timeout=15)
        self.port = port
        self.argv = argv

    def command(self):
        return self.argv or [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1"]

    def healthy(self):
        return self.pid() is not None and port_open(self.port)


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path):
    engine = HttpEngine(tmp_path, free_port())
    try:
        assert engine.start() == "started"
        pid = engine.pid()
        assert engine.start() == "reused" and engine.pid() == pid
        assert engine.status()["healthy"] and engine.status()["rss_mb"] > 0
    finally:
        assert engine.stop()
    assert engine.pid() is None and not port_open(engine.port)
    assert engine.stop() is False


def test_busy_port_names_the_port_and_the_variable(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(EnvironmentProblem) as info:
            HttpEngine(tmp_path, port).start()
    assert str(info.value) == (f"http: port {port} is already in use by another process"
                               f" — fix: stop that process or choose another port with CDC_HTTP_PORT=<port>")


def test_engine_that_exits_reports_its_log(tmp_path):
    engine = HttpEngine(tmp_path, free_port(), argv=[sys.executable, "-c", "print('bad config line 3'); raise SystemExit(3)"])
    with pytest.raises(EnvironmentProblem, match=r"http exited during start-up \(code 3\): .*bad config line 3"):
        engine.start()


def test_missing_tool_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EnvironmentProblem, match=r"'java' is not installed — fix: apt-get install -y openjdk-17-jre-headless"):
        dist.java_bin()
    with pytest.raises(EnvironmentProblem, match=r"'mvn' is not installed — fix: apt-get install -y maven"):
        dist.require_tool("mvn", "maven")


def test_an_engine_started_from_dead_starts_over_the_running_engines_that_held_work_for_it(tmp_path, monkeypatch):
    """A TaskManager outlives a killed JobManager with the lost jobs' tasks in it: `up` starts it over too."""
    from stack.local import LocalStack

    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    boss = HttpEngine(tmp_path / "boss", free_port())
    boss.name = "boss"
    worker = HttpEngine(tmp_path / "worker", free_port())
    worker.name, worker.starts_over_with = "worker", ("boss",)

    class TwoEngines(LocalStack):
        def __init__(self):
            pass

        engines = property(lambda self: [boss, worker])

    stack = TwoEngines()
    try:
        assert [r.outcome for r in stack.up()] == ["started", "started"]
        worker_pid = worker.pid()
        assert [r.outcome for r in stack.up()] == ["reused", "reused"] and worker.pid() == worker_pid
        boss.stop()
        reports = stack.up(only={"boss"})
        assert [(r.engine, r.outcome) for r in reports] == [("boss", "started"), ("worker", "restarted")]
        assert worker.pid() not in (None, worker_pid)
    finally:
        boss.stop()
        worker.stop()
