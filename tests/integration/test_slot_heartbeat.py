"""The replication slot advances while business_events is idle: the connector's heartbeat query updates a
row in the publication, so writes elsewhere in the database are confirmed and released, and nothing of it
reaches Kafka. Without the heartbeat query the slot's confirmed position stays where the last business
event left it (checked by hand with the query removed; docs/connectors.md, "Heartbeat")."""

from __future__ import annotations

from pipeline.business_events import TABLE
from pipeline.polling import holds_within
from pipeline.replication import HEARTBEAT_TABLE, PUBLISHED, published_tables, setup_replication

FILLER = "heartbeat_test_filler"  # outside the publication: PostgreSQL sends the slot nothing for it
SLOT_SQL = """SELECT confirmed_flush_lsn >= %s::pg_lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)
  FROM pg_replication_slots WHERE slot_name = %s"""


def test_replication_setup_publishes_the_heartbeat_table_and_repairs_a_publication_without_it(pipeline_ready, env):
    db, publication = env.database, pipeline_ready.database.publication
    assert published_tables(db, publication) == set(PUBLISHED)
    db.execute(f'ALTER PUBLICATION "{publication}" SET TABLE {TABLE}')
    summary = setup_replication(db, pipeline_ready.database.slot_name, publication)
    assert summary["changed"] == [f"publication {publication}"]
    assert published_tables(db, publication) == set(PUBLISHED)
    assert setup_replication(db, pipeline_ready.database.slot_name, publication)["changed"] == []


def test_writes_outside_the_publication_are_released_by_the_heartbeat(pipeline_ready, env, kafka):
    db, slot = env.database, pipeline_ready.database.slot_name
    _, raw_before = kafka.group_position("slot-heartbeat-test", pipeline_ready.raw_topic)
    db.execute(f"CREATE TABLE IF NOT EXISTS {FILLER} (n INTEGER, pad TEXT)")
    try:
        # about 20 MB of WAL the connector is never sent
        db.execute(f"INSERT INTO {FILLER} SELECT g, repeat('x', 100) FROM generate_series(1, 150000) g")
        target = db.query("SELECT pg_current_wal_lsn()::text")[0][0]
        passed = holds_within(lambda: db.query(SLOT_SQL, (target, slot))[0][0], timeout=60, every=1)  # 6 beats
        retained = db.query(SLOT_SQL, (target, slot))[0][1]
        assert passed, f"slot {slot} did not confirm {target} within 60 s (retains {retained} bytes)"
        beat_at_age = db.query(f"SELECT extract(epoch FROM now() - beat_at) FROM {HEARTBEAT_TABLE} WHERE id = 1")
        assert beat_at_age and beat_at_age[0][0] < 60
        _, raw_after = kafka.group_position("slot-heartbeat-test", pipeline_ready.raw_topic)
        assert raw_after == raw_before, "the heartbeat or the filler table reached the raw topic"
    finally:
        db.execute(f"DROP TABLE IF EXISTS {FILLER}")
