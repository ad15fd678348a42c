"""The e2e benchmark's accounting (pure): what each topic must receive, lost / duplicated / unexpected, and
latency percentiles. The benchmark prints figures; these tests make sure the figures count the right things."""

from __future__ import annotations

import json
import os
from collections import Counter

from benchmarks.cpu import tree_cpu_seconds
from benchmarks.e2e import EVENT_BYTES, account, expected_outputs, make_rows, percentiles
from filters.loader import load_pipeline
from pipeline.paths import FILTERS_FILE


def test_rows_are_the_size_asked_and_four_kinds_of_six_are_routed():
    rows = make_rows("r1", "p", 12)
    assert len({r["id"] for r in rows}) == 12 and all(r["id"].startswith("e2e-r1-p-") for r in rows)
    assert all(EVENT_BYTES <= len(r["event_data"]) <= EVENT_BYTES + 40 for r in rows)
    assert json.loads(rows[0]["event_data"])["eventHeader"]["uuid"] == rows[0]["id"]
    want = expected_outputs(load_pipeline(FILTERS_FILE), rows)
    assert sum(want.values()) == 8  # LoanCreated, LoanPaymentSubmitted, CarServiceDone, CarCreated; twice each
    assert {t for t, _ in want} == {"filtered-loan-created-events", "filtered-loan-payment-submitted-events",
                                    "filtered-service-events", "filtered-car-created-events"}


def test_lost_duplicated_unexpected_and_first_arrival_latency():
    want = Counter({("t", "a"): 1, ("t", "b"): 1, ("u", "c"): 1})
    commits = {"a": 10.0, "b": 10.0, "c": 11.0, "d": 11.0}
    received = [("t", "a", 10.1), ("t", "a", 10.5), ("u", "c", 11.2), ("t", "d", 11.3)]
    got = account(want, received, commits)
    assert (got["expected"], got["lost"], got["duplicated"], got["unexpected"]) == (3, 1, 1, 1)
    assert got["latency_ms"]["n"] == 2 and got["latency_ms"]["max"] == 200.0  # a's first arrival, c
    assert got["last_arrival"] == 11.2


def test_percentiles():
    p = percentiles([float(i) for i in range(1, 101)])
    assert (p["p50"], p["p95"], p["p99"], p["max"]) == (51.0, 95.0, 99.0, 100.0)
    assert percentiles([]) == {"n": 0}


def test_cpu_of_this_process_tree_is_counted():
    busy = sum(i * i for i in range(300_000))  # some CPU of our own
    assert busy and tree_cpu_seconds(os.getpid()) > 0
