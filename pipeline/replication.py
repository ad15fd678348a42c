"""Logical-replication setup for `business_events`: checks, schema, publication, replica identity, slot.

Pure checks (`check_server_settings`) plus idempotent steps written against the `Database` port, so the
same code runs on the local PostgreSQL and on Aurora. Errors name the exact fix.

Replica identity is FULL: PostgreSQL then logs the whole old row, so a DELETE event carries every
column (filters on event_type still route it), and an UPDATE of a row whose large JSONB value was
TOASTed and not changed still delivers event_data (verified by tests/integration/test_raw_cdc.py).

The publication also holds `cdc_heartbeat`, one row the connector updates on every Debezium heartbeat
(`heartbeat.action.query`). Without it a slot whose table is idle never moves: PostgreSQL sends nothing for
changes outside the publication, so Debezium has no newer position to confirm and the slot keeps every WAL
segment any other table, database or vacuum writes (measured here after a benchmark: 405 MiB retained and
growing with writes to another table; with the heartbeat, 44 KB within a minute). The row is not in the
connector's `table.include.list`, so Debezium reads it, confirms its position and writes nothing to Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.business_events import SCHEMA_DDL, TABLE
from pipeline.errors import DatabaseError
from pipeline.ports import Database

#: the heartbeat table: in the publication, outside the connector's table.include.list
HEARTBEAT_TABLE = "cdc_heartbeat"
HEARTBEAT_DDL = (f"CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} "
                 "(id SMALLINT PRIMARY KEY, beat_at TIMESTAMP WITH TIME ZONE NOT NULL)",)
#: the connector's heartbeat.action.query: one row, updated in place, so the table never grows
HEARTBEAT_QUERY = (f"INSERT INTO public.{HEARTBEAT_TABLE} (id, beat_at) VALUES (1, now()) "
                   "ON CONFLICT (id) DO UPDATE SET beat_at = EXCLUDED.beat_at")
#: what the publication holds, schema-qualified as pg_publication_tables reports it
PUBLISHED = frozenset({f"public.{TABLE}", f"public.{HEARTBEAT_TABLE}"})

#: setting -> the value logical replication needs (exact for wal_level, a minimum for the counts)
REQUIRED = {"wal_level": "logical", "max_replication_slots": 1, "max_wal_senders": 1}
#: what the fix suggests for the counts: room for the connector's slot plus a migration's second one
SUGGESTED_MINIMUM = 10


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
            problems.append(SettingProblem(name, values.get(name, "?"), str(SUGGESTED_MINIMUM)))
    return problems


def verify_server_settings(db: Database) -> dict[str, str]:
    values = db.server_settings(REQUIRED)
    problems = check_server_settings(values)
    if problems:
        p = problems[0]
        more = f" (and {', '.join(x.name for x in problems[1:])})" if len(problems) > 1 else ""
        raise DatabaseError(f"{p.name} is {p.found!r} on {db.where()}, logical replication needs {p.wanted}{more}",
                            fix=p.fix())
    return values


def ensure_schema(db: Database) -> list[str]:
    """Create the table, its indexes and the heartbeat table (IF NOT EXISTS) and set REPLICA IDENTITY FULL on
    the table; return what changed."""
    changed = []
    existed = db.query("SELECT to_regclass(%s)", (TABLE,))[0][0] is not None
    heartbeat_existed = db.query("SELECT to_regclass(%s)", (HEARTBEAT_TABLE,))[0][0] is not None
    db.execute_ddl(SCHEMA_DDL + HEARTBEAT_DDL)
    identity = db.query("SELECT relreplident FROM pg_class WHERE oid = %s::regclass", (TABLE,))[0][0]
    if identity != "f":
        db.execute(f"ALTER TABLE {TABLE} REPLICA IDENTITY FULL")
        changed.append("replica identity FULL")
    if not existed:
        changed.insert(0, f"table {TABLE} + indexes")
    if not heartbeat_existed:
        changed.append(f"heartbeat table {HEARTBEAT_TABLE}")
    return changed


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def published_tables(db: Database, name: str) -> set[str]:
    """The publication's tables, schema-qualified (`public.business_events`)."""
    return {r[0] for r in db.query(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s", (name,))}


def ensure_publication(db: Database, name: str) -> bool:
    """A publication for exactly business_events and the heartbeat table; True when created or corrected."""
    rows = db.query("SELECT puballtables FROM pg_publication WHERE pubname = %s", (name,))
    if not rows:
        db.execute(f"CREATE PUBLICATION {_ident(name)} FOR TABLE {TABLE}, {HEARTBEAT_TABLE}")
        return True
    if rows[0][0] or published_tables(db, name) != PUBLISHED:
        db.execute(f"ALTER PUBLICATION {_ident(name)} SET TABLE {TABLE}, {HEARTBEAT_TABLE}")
        return True
    return False


def ensure_slot(db: Database, name: str) -> bool:
    """A pgoutput logical slot; True when created. A slot with another plugin is an error, not replaced."""
    rows = db.query("SELECT plugin FROM pg_replication_slots WHERE slot_name = %s", (name,))
    if rows:
        if rows[0][0] != "pgoutput":
            raise DatabaseError(f"replication slot {name!r} exists with plugin {rows[0][0]!r}, the connector needs pgoutput",
                                fix=f"SELECT pg_drop_replication_slot('{name}') once nothing reads it")
        return False
    db.query("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
    return True


def setup_replication(db: Database, slot: str, publication: str) -> dict:
    """Everything replication-setup does, in order; returns a summary of what changed."""
    settings = verify_server_settings(db)
    changed = ensure_schema(db)
    if ensure_publication(db, publication):
        changed.append(f"publication {publication}")
    if ensure_slot(db, slot):
        changed.append(f"slot {slot}")
    return {"settings": settings, "changed": changed}
