"""The `Infrastructure` port locally: the engines of stack/, started (and the database stopped) by us."""

from __future__ import annotations

from pipeline.polling import poll_until
from pipeline.ports import ResourceCheck
from stack.local import LocalStack


class LocalInfrastructure:
    STARTS_SERVERS = True

    def __init__(self, stack: LocalStack):
        self.stack = stack

    def ensure_up(self) -> list[ResourceCheck]:
        return [ResourceCheck(r.engine, r.outcome, r.seconds) for r in self.stack.up()]

    def database_state(self) -> str:
        """In AWS's words, so the same decisions apply: available | starting (a postmaster that does not
        accept connections yet) | stopped."""
        postgres = self.stack.postgres
        if postgres.healthy():
            return "available"
        return "starting" if postgres.pid() is not None else "stopped"

    def start_database(self) -> str:
        """Start PostgreSQL (waits until it accepts connections; a running one is reused)."""
        self.stack.postgres.start()
        return self.database_state()

    def stop_database(self) -> str:
        """Fast shutdown (clients are disconnected; committed data and the replication slot are on disk)."""
        self.stack.postgres.stop()
        return self.database_state()

    def wait_available(self, timeout: float = 120.0) -> str:
        """PostgreSQL accepting connections, and PgBouncer (the producer API's way in) serving them again."""
        pooler = self.stack.pgbouncer
        seen = {"state": "unknown"}

        def ready() -> str | None:
            seen["state"] = state = self.database_state()
            if state != "available":
                return None
            if pooler.healthy() and not pooler.serves():  # no PgBouncer running on its port: nothing to wait for
                seen["state"] = "available; PgBouncer not serving yet"
                return None
            return "available"

        return poll_until(ready, timeout=timeout, every=0.25, what="local PostgreSQL accepting connections",
                          last=lambda: seen["state"])

    def wait_stopped(self, timeout: float = 120.0) -> str:
        return poll_until(lambda: self.database_state() == "stopped" and "stopped", timeout=timeout,
                          what="local PostgreSQL stopped", last=self.database_state)

    def replication_problems(self) -> list[str]:
        return []  # the local server is configured at initdb; replication-setup checks the live settings
