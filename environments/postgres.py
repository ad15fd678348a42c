"""The `Database` port over psycopg: the local PostgreSQL and Aurora (with TLS) alike.

Each call opens a short autocommit connection: flows run minutes apart, and a pooled connection would
outlive a database stopped by database-autostop. Unreachable servers are transient; refused credentials,
missing databases and refused statements are one-line `DatabaseError`s naming the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import sql
from pydantic import SecretStr

from pipeline.database_settings import DatabaseSettings
from pipeline.business_events import SQL_FOR_OP, Change
from pipeline.errors import DatabaseError, TransientError


class PostgresDatabase:
    def __init__(self, settings: DatabaseSettings, user_variable: str = "CDC_DB_USER / CDC_DB_PASSWORD",
                 password: Callable[[], SecretStr] | None = None):
        self.settings = settings
        self.user_variable = user_variable
        self._password = password  # resolved on first connection (e.g. from AWS Secrets Manager)

    def where(self) -> str:
        return self.settings.where()

    @contextmanager
    def connection(self, **overrides):
        settings = self.settings
        if settings.password is None and self._password is not None:
            settings = settings.model_copy(update={"password": self._password()})
        conn = connect(settings, self.user_variable, **overrides)
        try:
            yield conn
        finally:
            conn.close()

    def server_settings(self, names: Iterable[str]) -> dict[str, str]:
        with self.connection() as conn:
            return {n: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()[0] for n in names}

    def execute_ddl(self, statements: Sequence[str]) -> None:
        with self.connection() as conn, _refused(self.where()), conn.transaction():
            for ddl in statements:
                conn.execute(ddl)

    def query(self, statement: str, params=None) -> list[tuple]:
        with self.connection() as conn, _refused(self.where()):
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def execute(self, statement: str, params=None) -> None:
        with self.connection() as conn, _refused(self.where()):
            conn.execute(statement, params)

    def apply_changes(self, changes: Sequence[Change]) -> None:
        """Each change in its own transaction; its commit time is the start of its latency."""
        with self.connection() as conn, _refused(self.where()):
            for change in changes:
                conn.execute(SQL_FOR_OP[change.op], change.row)
                change.committed_ms = int(time.time() * 1000)


@contextmanager
def _refused(where: str):
    try:
        yield
    except psycopg.OperationalError as err:
        raise TransientError(f"PostgreSQL at {where} dropped the connection: {_first_line(err)}") from None
    except psycopg.Error as err:
        raise DatabaseError(f"PostgreSQL at {where} refused a statement: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(err).__name__


#: libpq's words for a TLS set-up that cannot work as configured (not a dropped connection)
_TLS_REFUSALS = ("SSL was required", "root certificate file", "certificate verify failed",
                 "does not match host name", "server certificate for")


def connect(db: DatabaseSettings, user_variable: str = "CDC_DB_USER / CDC_DB_PASSWORD", **overrides) -> psycopg.Connection:
    """Open an autocommit connection; unreachable servers are transient, refused credentials are not."""
    try:
        return psycopg.connect(**db.conninfo(**overrides), autocommit=True)
    except psycopg.OperationalError as err:
        text = " ".join(str(err).split())
        reason = str(err).strip().splitlines()[0].rsplit(": ", 1)[-1] if str(err).strip() else type(err).__name__
        where = db.where()
        if db.sslmode and any(sign in text for sign in _TLS_REFUSALS):
            # a TLS mismatch does not heal by retrying (e.g. verify-full against a server without TLS)
            raise DatabaseError(f"PostgreSQL at {where}: TLS with sslmode={db.sslmode} failed: {reason}",
                                fix="check CDC_DB_SSLMODE and CDC_RDS_CA_BUNDLE (Aurora: verify-full with the RDS "
                                    "CA bundle)") from None
        if "password authentication failed" in text or "no password supplied" in text:
            raise DatabaseError(f"PostgreSQL at {where} refused the credentials of user {db.user!r}",
                                fix=f"check {user_variable}") from None
        if "does not exist" in text:
            raise DatabaseError(f"PostgreSQL at {where}: {text.split('FATAL:')[-1].strip()}") from None
        raise TransientError(f"cannot reach PostgreSQL at {where}: {reason}",
                             fix="start it (./run stack up) or check CDC_DB_HOST / CDC_POSTGRES_PORT") from None


def accepts_connections(db: DatabaseSettings, timeout: int = 1) -> bool:
    """Whether the database takes a login with these settings now (no retry, no error: a yes or a no)."""
    try:
        with psycopg.connect(**db.conninfo(connect_timeout=timeout)):
            return True
    except psycopg.OperationalError:
        return False
