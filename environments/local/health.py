"""The `HealthProbe` port on the local stack: engine processes, the routing job as Flink's REST API reports it,
its retained checkpoints on disk, and the consumer processes; and the local heal actions (start an engine,
start a consumer).

Checkpoints are retained when a job is cancelled or fails (stack/flink.py), so a routing job lost with a
JobManager crash (a session cluster without HA forgets its jobs) can be started again from its newest
complete checkpoint: its offsets and its sinks' transactions are in it, so nothing is routed twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from environments.consumer_fleet import LocalConsumerFleet
from environments.local.flink import FlinkRest
from pipeline.errors import FlinkError
from pipeline.health import EngineReading, RoutingReading
from pipeline.rollout import JOB_NAME
from stack.local import LocalStack
from stack.process import tree_rss_mb

#: job states that are over: such a job no longer routes anything
TERMINAL = frozenset({"FINISHED", "CANCELED", "FAILED"})


class LocalHealthProbe:
    #: engines are processes this project starts, so a dead one can be started again
    RESTARTS_ENGINES = True
    #: a lost routing job can be started again from a retained checkpoint
    RESTORES_FROM_CHECKPOINTS = True

    def __init__(self, stack: LocalStack, rest: FlinkRest, fleet: LocalConsumerFleet, checkpoint_dir: Path):
        self.stack, self.rest, self.fleet, self.checkpoint_dir = stack, rest, fleet, checkpoint_dir

    # -- engines ------------------------------------------------------------------------------------------
    def engines(self) -> list[EngineReading]:
        out = []
        wanted = self.stack.wanted()
        for engine in self.stack.engines:
            pid = engine.pid()
            alive = pid is not None and engine.healthy()
            detail = f"pid {pid}, {tree_rss_mb(pid):.0f} MB" if pid else ""
            out.append(EngineReading(engine.name, alive, detail if alive else (f"pid {pid}, not answering" if pid else ""),
                                     wanted))
        return out

    def start_engine(self, name: str) -> list[str]:
        """Start `name` again, and start over the engines that held work for it (a TaskManager still running a
        lost JobManager's tasks: stack/flink.py says why)."""
        lines = []
        for r in self.stack.up(only={name}):
            if r.outcome == "restarted":
                lines.append(f"engine {r.engine} started over in {r.seconds:.1f}s: it was still running work for the "
                             f"{name} that died")
            elif r.engine == name:
                lines.append(f"engine {name} started again in {r.seconds:.1f}s")
        return lines

    # -- routing job --------------------------------------------------------------------------------------
    def routing(self) -> list[RoutingReading]:
        """Routing jobs that are not over (a FAILED one is reported only while it is the newest)."""
        jobs = [j for j in self.rest.jobs() if j["name"].startswith(JOB_NAME)]
        live = [j for j in jobs if j["state"] not in TERMINAL]
        newest = max(jobs, key=lambda j: j.get("start-time", 0), default=None)
        if not live and newest is not None and newest["state"] == "FAILED":
            live = [newest]
        return [self._reading(j) for j in live]

    def _reading(self, job: dict) -> RoutingReading:
        jid = job["jid"]
        age = restarts = None
        try:
            latest = (self.rest._get(f"/jobs/{jid}/checkpoints").get("latest") or {}).get("completed") or {}
            if latest.get("latest_ack_timestamp"):
                age = max(0.0, time.time() - latest["latest_ack_timestamp"] / 1000)
            metrics = self.rest._get(f"/jobs/{jid}/metrics?get=numRestarts")
            restarts = int(float(metrics[0]["value"])) if metrics else None
        except (FlinkError, KeyError, ValueError, IndexError):
            pass  # figures are best effort; the state below is what decides
        error = self.rest.exceptions(jid) if job["state"] != "RUNNING" else None
        return RoutingReading(jid, job["name"], job["state"], age, restarts, error)

    def latest_checkpoint(self, job_id: str) -> str | None:
        """The newest complete retained checkpoint of `job_id` (a `file://` path), or None."""
        folder = self.checkpoint_dir / job_id
        done = [p for p in folder.glob("chk-*") if (p / "_metadata").is_file()] if folder.is_dir() else []
        if not done:
            return None
        newest = max(done, key=lambda p: int(p.name.split("-", 1)[1]))
        return f"file://{newest}"

    # -- consumers ----------------------------------------------------------------------------------------
    def consumers_alive(self) -> dict[str, bool | None]:
        return self.fleet.alive()

    def start_consumers(self) -> list[str]:
        return self.fleet.start_dead()
