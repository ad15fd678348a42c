"""Exactly-once capture (KIP-618): a Kafka Connect worker killed mid-stream loses and duplicates nothing in
raw-business-events for a read_committed reader, which is how the routing job reads it in exactly-once mode.

Without it (measured before: issue 12) the same kill duplicated about 120 of 6,000 events: Connect had
produced them but not yet committed their source offsets, and produced them again after the restart.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter

from connectors.config import LOCAL_CONNECTOR_NAME
from pipeline.business_events import Change, load_sample, row_from_event
from stack.process import gone


def test_a_connect_worker_killed_mid_stream_duplicates_nothing_for_committed_readers(pipeline_ready, env, stack):
    run = uuid.uuid4().hex[:8]
    base = load_sample("loan-created")
    changes = [Change(f"eos-{run}-{i}", "c", row_from_event(base, f"eos-{run}-{i}")) for i in range(3000)]
    ids = {c.id for c in changes}
    watcher = env.kafka.watch(pipeline_ready.raw_topic)  # read_committed, from the end offsets now
    written = [0]
    failure: list[BaseException] = []

    def write() -> None:  # about 300 events/s, 10 per transaction
        try:
            for i in range(0, len(changes), 10):
                started = time.monotonic()
                env.database.apply_changes(changes[i:i + 10])
                written[0] = i + 10
                time.sleep(max(0.0, 0.033 - (time.monotonic() - started)))
        except BaseException as err:  # surfaced below
            failure.append(err)

    writer = threading.Thread(target=write)
    try:
        writer.start()
        while written[0] < 1000 and writer.is_alive():
            time.sleep(0.05)
        pid = stack.connect.pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # the worker and its tasks, mid-transaction
        assert gone(pid, 30)
        stack.connect.start()
        env.connect.wait_running(LOCAL_CONNECTOR_NAME, timeout=120)
        writer.join(120)
        assert not failure, failure
        got = watcher.collect(ids, timeout=180)
        late = watcher.collect(ids, timeout=5, min_per_id=10**9)  # a late second copy would show now
    finally:
        writer.join(5)
        watcher.close()
    counts = Counter({i: len(got.get(i, [])) + len(late.get(i, [])) for i in ids})
    missing = sorted(i for i, n in counts.items() if n == 0)
    duplicated = sorted(i for i, n in counts.items() if n > 1)
    assert not missing, f"{len(missing)} events never arrived, e.g. {missing[:3]}"
    assert not duplicated, f"{len(duplicated)} events arrived twice, e.g. {duplicated[:3]}"
