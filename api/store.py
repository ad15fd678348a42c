"""business_events for the API: a small psycopg pool (through PgBouncer locally, RDS Proxy in the cloud).

Each call is one transaction on one pooled connection. Server-side prepared statements are off
(`prepare_threshold=None`): in PgBouncer's transaction mode consecutive transactions of one client
connection may run on different server connections, where a statement prepared on another does not exist.

A connection that cannot be had, or a server that went away, is `DatabaseUnavailable` (the API answers 503
and asks for a start); a statement the database refuses for its data is `EventRefused` (422); anything
else from the database is a `DatabaseError` (500).
"""

from __future__ import annotations

import asyncio
import json

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pipeline.business_events import INSERT_IF_ABSENT, SAME_EVENT, SELECT_BY_ID
from pipeline.database_settings import DatabaseSettings
from pipeline.errors import DatabaseError, TransientError


class DatabaseUnavailable(TransientError):
    """The database cannot be reached now (stopped, starting, pooler down): answer 503, retry later."""


class EventRefused(DatabaseError):
    """The database refused the event's data (e.g. a \\u0000 in a JSON string)."""


def _one_line(err: Exception) -> str:
    text = str(err).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(err).__name__


class EventStore:
    def __init__(self, database: DatabaseSettings, *, min_size: int = 1, max_size: int = 40, timeout: float = 5.0):
        self.where = database.where()
        kwargs = {**database.conninfo(application_name="cdc-producer-api"), "autocommit": False,
                  "prepare_threshold": None}
        # kwargs, not a conninfo string: the password never becomes part of a DSN that could be logged
        self.pool = AsyncConnectionPool("", kwargs=kwargs, min_size=min_size, max_size=max_size, timeout=timeout,
                                        open=False, name="producer-api")
        self._opening = asyncio.Lock()
        self._open = False

    async def open(self) -> None:
        """Open the pool without waiting for the database (lazily on first use too: Lambda has no lifespan)."""
        async with self._opening:
            if not self._open:
                await self.pool.open(wait=False)
                self._open = True

    async def close(self) -> None:
        if self._open:
            await self.pool.close()
            self._open = False

    async def _run(self, work):
        await self.open()
        try:
            async with self.pool.connection() as conn:
                return await work(conn)
        except PoolTimeout:
            raise DatabaseUnavailable(f"no database connection within {self.pool.timeout:.0f}s "
                                      f"({self.where})") from None
        except psycopg.OperationalError as err:
            raise DatabaseUnavailable(f"the database at {self.where} is unavailable: {_one_line(err)}") from None
        except psycopg.DataError as err:
            raise EventRefused(f"the database refused the event: {_one_line(err)}") from None
        except psycopg.Error as err:
            raise DatabaseError(f"the database at {self.where} refused a statement: {_one_line(err)}") from None

    async def put(self, row: dict) -> str:
        """Write the row unless its id exists; 'created', 'same' (an equal event is stored) or 'different'.

        One transaction. `INSERT ... ON CONFLICT DO NOTHING` is race-safe: of concurrent writers of one id
        exactly one inserts, the others wait for its commit and insert nothing; the comparison that follows
        is a new statement, so it sees that committed row. If the row vanished in between (deleted), insert
        again.
        """
        async def work(conn):
            async with conn.transaction():
                for _ in range(3):
                    if await (await conn.execute(INSERT_IF_ABSENT, row)).fetchone():
                        return "created"
                    same = await (await conn.execute(SAME_EVENT, row)).fetchone()
                    if same is not None:
                        return "same" if same[0] else "different"
                raise DatabaseError(f"event {row['id']!r}: its row keeps being deleted while it is written")
        return await self._run(work)

    async def get(self, event_id: str) -> dict | None:
        async def work(conn):
            async with conn.transaction():
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(SELECT_BY_ID, {"id": event_id})
                return await cur.fetchone()
        row = await self._run(work)
        if row is not None and isinstance(row["event_data"], str):
            row["event_data"] = json.loads(row["event_data"])
        return row

    async def ping(self) -> None:
        """One round trip to the database (through the pooler); raises DatabaseUnavailable."""
        async def work(conn):
            async with conn.transaction():
                await conn.execute("SELECT 1")
        await self._run(work)
