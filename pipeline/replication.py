"""Logical-replication setup for `business_events`: checks, schema, publication, replica identity, slot.

The checks are pure (`check_server_settings`) so their messages are unit-tested; the rest are small
idempotent steps over a psycopg connection. Errors name the exact fix.

Replica identity is FULL: PostgreSQL then logs the whole old row, so a DELETE event carries every
column (filters on event_type still route it), and an UPDATE of a row whose large JSONB value was
TOASTed and not changed still delivers event_data (verified by tests/integration/test_raw_cdc.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from pipeline.errors import DatabaseError, TransientError
from pipeline.settings import DatabaseSettings

TABLE = "business_events"

SCHEMA_DDL = [
    """CREATE TABLE IF NOT EXISTS business_events (
    id VARCHAR(255) PRIMARY KEY,
    event_name VARCHAR(255) NOT NULL,
    event_type VARCHAR(255),
    created_date TIMESTAMP WITH TIME ZONE,
    saved_date TIMESTAMP WITH TIME ZONE,
    event_data JSONB NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS idx_business_events_event_type ON business_events(event_type)",
    "CREATE INDEX IF NOT EXISTS idx_business_events_created_date ON business_events(created_date)",
]

# setting -> (minimum or exact value, how to compare)
REQUIRED = {"wal_level": "logical", "max_replication_slots": 1, "max_wal_senders": 1}


@dataclass(frozen=True)
class SettingProblem:
    name: str
    found: str
    wanted: str

    def fix(self) -> str:
        return f"ALTER SYSTEM SET {self.name} = {self.wanted}; then restart PostgreSQL"


def check_server_settings(values: dict[str, str]) -> list[SettingProblem]:
    """Compare `SHOW`-style values with what logical replication needs."""
    problems = []
    if values.get("wal_level") != "logical":
        problems.append(SettingProblem("wal_level", values.get("wal_level", "?"), "logical"))
    for name in ("max_replication_slots", "max_wal_senders"):
        try:
            ok = int(values.get(name, "0")) >= REQUIRED[name]
        except ValueError:
            ok = False
        if not ok:
            problems.append(SettingProblem(name, values.get(name, "?"), "10"))
    return problems


def connect(db: DatabaseSettings, **overrides) -> psycopg.Connection:
    """Open a connection; unreachable servers are transient, refused credentials are not."""
    try:
        return psycopg.connect(**db.conninfo(**overrides), autocommit=True)
    except psycopg.OperationalError as err:
        text = " ".join(str(err).split())
        reason = str(err).strip().splitlines()[0].rsplit(": ", 1)[-1] if str(err).strip() else type(err).__name__
        where = f"{db.host}:{db.port}/{db.dbname}"
        if "password authentication failed" in text or "no password supplied" in text:
            raise DatabaseError(f"PostgreSQL at {where} refused the credentials of user {db.user!r}",
                                fix="check CDC_DB_USER / CDC_DB_PASSWORD") from None
        if "does not exist" in text:
            raise DatabaseError(f"PostgreSQL at {where}: {text.split('FATAL:')[-1].strip()}") from None
        raise TransientError(f"cannot reach PostgreSQL at {where}: {reason}",
                             fix="start it (python -m stack up) or check CDC_DB_HOST / CDC_POSTGRES_PORT") from None


def verify_server_settings(conn: psycopg.Connection) -> dict[str, str]:
    values = {name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0] for name in REQUIRED}
    problems = check_server_settings(values)
    if problems:
        p = problems[0]
        more = f" (and {', '.join(x.name for x in problems[1:])})" if len(problems) > 1 else ""
        raise DatabaseError(f"{p.name} is {p.found!r}, logical replication needs {p.wanted}{more}", fix=p.fix())
    return values


def ensure_schema(conn: psycopg.Connection) -> list[str]:
    """Create the table and its indexes (IF NOT EXISTS) and set REPLICA IDENTITY FULL; return what changed."""
    changed = []
    existed = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is not None
    with conn.transaction():
        for ddl in SCHEMA_DDL:
            conn.execute(ddl)
        identity = conn.execute("SELECT relreplident FROM pg_class WHERE oid = %s::regclass", (TABLE,)).fetchone()[0]
        if identity != "f":
            conn.execute("ALTER TABLE business_events REPLICA IDENTITY FULL")
            changed.append("replica identity FULL")
    if not existed:
        changed.insert(0, "table business_events + indexes")
    return changed


def ensure_publication(conn: psycopg.Connection, name: str) -> bool:
    """A publication for exactly business_events; True when created or corrected."""
    row = conn.execute("SELECT puballtables FROM pg_publication WHERE pubname = %s", (name,)).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE business_events").format(sql.Identifier(name)))
        return True
    tables = {r[0] for r in conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s", (name,))}
    if row[0] or tables != {f"public.{TABLE}"}:
        conn.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE business_events").format(sql.Identifier(name)))
        return True
    return False


def ensure_slot(conn: psycopg.Connection, name: str) -> bool:
    """A pgoutput logical slot; True when created. A slot with another plugin is an error, not replaced."""
    row = conn.execute("SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone()
    if row is not None:
        if row[0] != "pgoutput":
            raise DatabaseError(f"replication slot {name!r} exists with plugin {row[0]!r}, the connector needs pgoutput",
                                fix=f"SELECT pg_drop_replication_slot('{name}') once nothing reads it")
        return False
    conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
    return True


def setup_replication(db: DatabaseSettings) -> dict:
    """Everything replication-setup does, in order; returns a summary of what changed."""
    with connect(db) as conn:
        settings = verify_server_settings(conn)
        changed = ensure_schema(conn)
        if ensure_publication(conn, db.publication):
            changed.append(f"publication {db.publication}")
        if ensure_slot(conn, db.slot_name):
            changed.append(f"slot {db.slot_name}")
    return {"settings": settings, "changed": changed}
