"""The replication slot advances while business_events is idle: the connector's heartbeat query updates a
row in the publication, so writes elsewhere in the database are confirmed and released, and nothing of it
reaches Kafka. Without the heartbeat query the slot's confirmed position stays where the last business
event left it (checked by hand with the query removed; docs/connectors.md, "Heartbeat"). pipeline-health shows
the heartbeat's age and raises an alarm when its table is gone."""

from __future__ import annotations

from environments.health_probe import slot_reading
from pipeline.business_events import TABLE
from pipeline.health import Thresholds, slot_rows
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
        reading = slot_reading(db, slot)  # what pipeline-health shows of the heartbeat
        assert not reading.heartbeat_missing and reading.heartbeat_age_s is not None and reading.heartbeat_age_s < 60
        _, raw_after = kafka.group_position("slot-heartbeat-test", pipeline_ready.raw_topic)
        assert raw_after == raw_before, "the heartbeat or the filler table reached the raw topic"
    finally:
        db.execute(f"DROP TABLE IF EXISTS {FILLER}")


def test_a_dropped_heartbeat_table_is_an_alarm_until_replication_setup_puts_it_back(pipeline_ready, env):
    db, slot = env.database, pipeline_ready.database.slot_name
    try:
        db.execute(f"DROP TABLE {HEARTBEAT_TABLE}")
        (row,) = slot_rows(slot, slot_reading(db, slot), Thresholds(), asleep=False)
        assert row.state == "alarm" and HEARTBEAT_TABLE in row.problem, row
    finally:
        setup_replication(db, slot, pipeline_ready.database.publication)
    (row,) = slot_rows(slot, slot_reading(db, slot), Thresholds(), asleep=False)
    assert row.state == "ok", row
    # and the connector's heartbeat writes its row again (it retries the query at every beat)
    def beating() -> bool:
        age = slot_reading(db, slot).heartbeat_age_s
        return age is not None and age < 15

    assert holds_within(beating, timeout=60, every=1), slot_reading(db, slot)
