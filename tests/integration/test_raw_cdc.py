"""INSERT, UPDATE and DELETE in business_events arrive in raw-business-events in the seed's flat shape."""

from __future__ import annotations

import base64
import json
import os
import uuid

import psycopg

from environments.kafka import without_meta
from pipeline.business_events import Change, load_sample, row_from_event

FLAT_KEYS = {"id", "event_name", "event_type", "created_date", "saved_date", "event_data",
             "__op", "__table", "__ts_ms", "__deleted", "__lsn"}


def _ids(prefix: str, n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{prefix}-{run}-{i}" for i in range(n)]


def _stored(cfg, event_id: str):
    with psycopg.connect(**cfg.database.conninfo()) as conn:
        return conn.execute("SELECT event_data FROM business_events WHERE id = %s", (event_id,)).fetchone()


def test_insert_update_delete_arrive_with_the_flat_shape(pipeline_ready, env):
    cfg = pipeline_ready
    a, b = _ids("crud", 2)
    watcher = env.kafka.watch(cfg.raw_topic)
    try:
        env.database.apply_changes([Change(a, "c", row_from_event(load_sample("loan-created"), a)),
                                    Change(b, "c", row_from_event(load_sample("loan-created"), b))])
        stored_a = _stored(cfg, a)[0]
        with psycopg.connect(**cfg.database.conninfo()) as conn:
            conn.execute("UPDATE business_events SET event_type = 'LoanUpdated' WHERE id = %s", (a,))
            conn.execute("DELETE FROM business_events WHERE id = %s", (b,))
        got = watcher.collect({a, b}, timeout=60, min_per_id=2)
    finally:
        watcher.close()

    assert [r["__op"] for r in got[a]] == ["c", "u"]
    assert [r["__op"] for r in got[b]] == ["c", "d"]
    for records in got.values():
        for r in records:
            assert set(without_meta(r)) == FLAT_KEYS
            assert r["__table"] == "business_events"
            assert isinstance(r["__ts_ms"], int) and r["__ts_ms"] > 1_700_000_000_000
            assert isinstance(r["__lsn"], int) and r["__lsn"] > 0
            assert json.loads(r["_key"]) == {"id": r["id"]}  # keyed by id: one id, one partition, in order
        assert len({r["_partition"] for r in records}) == 1

    create_a, update_a = got[a]
    # the low-latency mode's duplicate key: every change of a row has its own WAL position
    assert len({r["__lsn"] for records in got.values() for r in records}) == 4
    assert create_a["event_name"] == "LoanCreated" and create_a["event_type"] == "LoanCreated"
    assert create_a["created_date"] == "2026-11-20T09:15:00.000000Z"
    assert create_a["saved_date"] == "2026-11-20T09:15:02.000000Z"
    assert isinstance(create_a["event_data"], str)
    assert json.loads(create_a["event_data"]) == stored_a  # the JSON string equals the stored JSONB
    assert create_a["__deleted"] == "false"
    assert update_a["event_type"] == "LoanUpdated" and json.loads(update_a["event_data"]) == stored_a

    # deletes: the whole old row (REPLICA IDENTITY FULL) with __deleted "true", and no tombstone
    delete_b = got[b][1]
    assert delete_b["__deleted"] == "true" and delete_b["event_type"] == "LoanCreated"
    assert json.loads(delete_b["event_data"])["eventHeader"]["uuid"] == b


def test_update_of_a_large_toasted_event_data_delivers_it_whole(pipeline_ready, env):
    cfg = pipeline_ready
    [big] = _ids("toast", 1)
    event = load_sample("loan-created")
    # incompressible payload so PostgreSQL must store it out of line (TOAST), well over 8 KB
    event["eventBody"]["attachments"] = [base64.b64encode(os.urandom(3000)).decode() for _ in range(12)]
    watcher = env.kafka.watch(cfg.raw_topic)
    try:
        env.database.apply_changes([Change(big, "c", row_from_event(event, big))])
        with psycopg.connect(**cfg.database.conninfo()) as conn:
            stored_size = conn.execute("SELECT pg_column_size(event_data) FROM business_events WHERE id = %s",
                                       (big,)).fetchone()[0]
            # only a flat column changes: the TOASTed event_data is "unchanged" in the WAL record
            conn.execute("UPDATE business_events SET saved_date = now() WHERE id = %s", (big,))
        got = watcher.collect({big}, timeout=60, min_per_id=2)[big]
    finally:
        watcher.close()

    assert stored_size > 8192
    stored = _stored(cfg, big)[0]
    assert [r["__op"] for r in got] == ["c", "u"]
    assert len(got[1]["event_data"]) > 8192
    assert json.loads(got[1]["event_data"]) == stored
