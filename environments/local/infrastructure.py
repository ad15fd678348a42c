"""The `Infrastructure` port locally: the engines of stack/, started (and the database stopped) by us."""

from __future__ import annotations

from pipeline.ports import ResourceCheck
from stack.local import LocalStack


class LocalInfrastructure:
    STARTS_SERVERS = True

    def __init__(self, stack: LocalStack):
        self.stack = stack

    def ensure_up(self) -> list[ResourceCheck]:
        return [ResourceCheck(r.engine, r.outcome, r.seconds) for r in self.stack.up()]

    def database_state(self) -> str:
        """In AWS's words, so the same decisions apply: available | stopped."""
        return "available" if self.stack.postgres.healthy() else "stopped"

    def start_database(self) -> str:
        self.stack.postgres.start()
        return self.database_state()

    def stop_database(self) -> str:
        self.stack.postgres.stop()
        return self.database_state()

    def replication_problems(self) -> list[str]:
        return []  # the local server is configured at initdb; replication-setup checks the live settings
