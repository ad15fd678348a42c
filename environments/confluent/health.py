"""The `HealthProbe` port on Confluent Cloud: no engines of ours to start, the routing job as its Flink
statements' phases, and the consumer processes on the worker (the same fleet as deploy-consumers).

A statement has no checkpoint to restore from here (Confluent manages its state), so a lost statement is
reported for flink-rollout to redeploy rather than healed.
"""

from __future__ import annotations

from environments.confluent.flink_statements import FAILED_PHASES, LIVE_PHASES, ConfluentStatements
from environments.consumer_fleet import LocalConsumerFleet
from pipeline.errors import ConfigError, PipelineError
from pipeline.health import EngineReading, RoutingReading


class ConfluentHealthProbe:
    RESTARTS_ENGINES = False
    RESTORES_FROM_CHECKPOINTS = False

    def __init__(self, statements: ConfluentStatements, fleet: LocalConsumerFleet):
        self.statements, self.fleet = statements, fleet

    def engines(self) -> list[EngineReading]:
        return []  # managed services: their health is what the rows below read through their APIs

    def start_engine(self, name: str) -> list[str]:
        raise ConfigError(f"{name} is a managed service on this environment, not a process this project starts")

    def routing(self) -> list[RoutingReading]:
        """Routing statements that run (or try to), or — when none does — the newest that failed."""
        ours = [s for s in self.statements.list_statements() if str(s.get("name") or "").startswith(self.statements.prefix)]
        live = [s for s in ours if _phase(s) in LIVE_PHASES]
        if not live:
            failed = [s for s in ours if _phase(s) in FAILED_PHASES]
            live = [max(failed, key=lambda s: str((s.get("metadata") or {}).get("created_at") or ""))] if failed else []
        return [self._reading(s) for s in live]

    def _reading(self, stmt: dict) -> RoutingReading:
        name, phase = stmt["name"], _phase(stmt)
        error = None
        if phase != "RUNNING":
            detail = " ".join(str((stmt.get("status") or {}).get("detail") or "").split())
            try:
                newest = self.statements.exceptions(name) if phase in FAILED_PHASES else None
            except PipelineError:
                newest = None
            error = "; ".join(p for p in (detail, newest) if p) or None
        return RoutingReading(name, name, phase, None, None, error)

    def latest_checkpoint(self, job_id: str) -> str | None:
        return None

    def consumers_alive(self) -> dict[str, bool | None]:
        return self.fleet.alive()

    def start_consumers(self) -> list[str]:
        return self.fleet.start_dead()


def _phase(stmt: dict) -> str:
    return str((stmt.get("status") or {}).get("phase") or "UNKNOWN")
