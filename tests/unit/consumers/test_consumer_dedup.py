"""The low-latency mode's duplicate filter: by (id, __lsn), durable across a restart, keys before offsets."""

import json
import sqlite3

import pytest

from consumers.config import ConsumerSettings
from consumers.dedup import SeenKeys
from consumers.output import read_processed
from consumers.registry import get_consumer
from consumers.runtime import ConsumerApp
from pipeline.errors import ConfigError
from tests.unit.consumers.samples import as_bytes, loan_created
from tests.unit.consumers.test_consumer_runtime import Msg, lines, make_app

LOW = {"DELIVERY_MODE": "low-latency"}


def low_latency_app(records, tmp_path, store):
    app, stream = make_app(records, tmp_path, env={**LOW, "DEDUP_STORE": str(store)})
    app.seen = SeenKeys(app.settings.dedup_store)
    return app, stream


def test_a_second_copy_of_a_change_is_dropped_and_other_changes_of_the_same_row_are_not(tmp_path):
    store = tmp_path / "loan-seen.sqlite"
    records = [Msg(0, 0, as_bytes(loan_created("a", __lsn=100))),
               Msg(0, 1, as_bytes(loan_created("a", __lsn=100))),   # replayed copy
               Msg(0, 2, as_bytes(loan_created("a", __lsn=200, op="u"))),  # a later change of the same row
               Msg(1, 0, as_bytes(loan_created("b", __lsn=100)))]   # same LSN, another row
    app, stream = low_latency_app(records, tmp_path, store)
    assert app.run() == 0
    assert [(r.id, r.offset) for r in read_processed(tmp_path / "out.jsonl")] == [("a", 0), ("a", 2), ("b", 0)]
    dropped = [line for line in lines(stream) if line["msg"] == "duplicate dropped"]
    assert [(d["id"], d["lsn"], d["offset"]) for d in dropped] == [("a", 100, 1)]
    assert app.consumer.commits[-1] == {0: 3, 1: 1}  # the dropped copy's offset is committed too
    assert lines(stream)[-1]["duplicates_dropped"] == 1 and app.processed == 3


def test_the_filter_survives_a_restart(tmp_path):
    store = tmp_path / "loan-seen.sqlite"
    first, _ = low_latency_app([Msg(0, 0, as_bytes(loan_created("a", __lsn=7)))], tmp_path, store)
    assert first.run() == 0
    # a new process (new app, same file) receives the same change again, e.g. after the job replayed it
    second, stream = low_latency_app([Msg(0, 5, as_bytes(loan_created("a", __lsn=7))),
                                      Msg(0, 6, as_bytes(loan_created("c", __lsn=8)))], tmp_path, store)
    assert second.run() == 0
    assert [r.id for r in read_processed(tmp_path / "out.jsonl")] == ["a", "c"]
    assert second.duplicates == 1


def test_keys_are_durable_before_the_offsets_are_committed(tmp_path):
    store = tmp_path / "loan-seen.sqlite"
    app, _ = low_latency_app([Msg(0, 0, as_bytes(loan_created("a", __lsn=1)))], tmp_path, store)
    seen_at_commit = []
    real_commit = app.consumer.commit

    def commit(offsets, asynchronous):
        # another connection sees only committed SQLite data: what a restarted process would read
        with sqlite3.connect(store) as other:
            seen_at_commit.append(other.execute("SELECT id, lsn FROM seen").fetchall())
        return real_commit(offsets, asynchronous)

    app.consumer.commit = commit
    assert app.run() == 0
    assert seen_at_commit and seen_at_commit[0] == [("a", 1)]


def test_records_without_lsn_are_processed_every_time(tmp_path):
    store = tmp_path / "loan-seen.sqlite"
    records = [Msg(0, 0, as_bytes(loan_created("a"))), Msg(0, 1, as_bytes(loan_created("a")))]
    app, _ = low_latency_app(records, tmp_path, store)
    assert app.run() == 0
    assert [r.id for r in read_processed(tmp_path / "out.jsonl")] == ["a", "a"] and app.duplicates == 0


def test_exactly_once_keeps_no_filter_and_reads_committed(tmp_path):
    records = [Msg(0, 0, as_bytes(loan_created("a", __lsn=1))), Msg(0, 1, as_bytes(loan_created("a", __lsn=1)))]
    app, _ = make_app(records, tmp_path)
    assert app.seen is None and app.settings.consumer_config()["isolation.level"] == "read_committed"
    assert app.run() == 0
    assert len(read_processed(tmp_path / "out.jsonl")) == 2


def test_settings_for_each_mode():
    spec = get_consumer("loan")
    low = ConsumerSettings.from_env(spec, LOW)
    assert low.consumer_config()["isolation.level"] == "read_uncommitted"
    assert str(low.dedup_store) == "loan-seen.sqlite"  # in the working directory unless DEDUP_STORE says
    assert low.describe()["delivery_mode"] == "low-latency"
    with pytest.raises(ConfigError) as err:
        ConsumerSettings.from_env(spec, {"DELIVERY_MODE": "fast"})
    assert str(err.value).startswith("DELIVERY_MODE='fast' is not a delivery mode")
    with pytest.raises(ConfigError) as err:
        ConsumerSettings.from_env(spec, {"DEDUP_STORE": "/tmp/x.sqlite"})
    assert "DEDUP_STORE is set but DELIVERY_MODE is exactly-once" in str(err.value)


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(ConfigError) as err:
        SeenKeys(tmp_path / "dir")
    assert str(err.value).startswith(f"DEDUP_STORE={str(tmp_path / 'dir')!r} cannot be opened")


def test_old_keys_are_pruned(tmp_path):
    seen = SeenKeys(tmp_path / "s.sqlite", retention_ms=1000)
    seen.add("old", 1, at_ms=1_000)
    seen.add("new", 2, at_ms=10_000)
    seen.commit()
    assert seen.prune(now_ms=10_500) == 1
    assert not seen.seen("old", 1) and seen.seen("new", 2) and seen.count() == 1
    seen.close()
