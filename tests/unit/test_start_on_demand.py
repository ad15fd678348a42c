"""Start on demand: concurrent failing requests make one start ask (in one process and across processes)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.app import UNAVAILABLE_BODY, create_app
from api.start_on_demand import FlowStarter, SingleFlight
from tests.unit.test_api import SEED_EXAMPLE, MemoryStore, settings


def test_200_concurrent_callers_make_one_ask():
    release, asks = threading.Event(), []

    def ask():
        asks.append(1)
        release.wait(5)  # the ask is still in flight while every other caller arrives
        return "asked"

    single = SingleFlight(ask, cooldown=60)
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(single) for _ in range(200)]
        deadline = time.monotonic() + 5
        while single.coalesced < 199 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        results = [f.result() for f in futures]
    assert asks == [1] and single.asked == 1 and single.coalesced == 199
    assert results.count("asked") == 1 and results.count("already asked") == 199


def test_cooldown_and_a_failed_ask():
    now = [100.0]
    outcomes = iter([RuntimeError("lambda throttled"), "asked", "asked again"])

    def ask():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    single = SingleFlight(ask, cooldown=60, clock=lambda: now[0])
    with pytest.raises(RuntimeError):
        single()
    assert single() == "asked"  # a failed ask does not hold the cool-down
    now[0] += 59
    assert single() == "already asked"
    now[0] += 2
    assert single() == "asked again" and single.asked == 2 and single.coalesced == 1


def test_100_concurrent_503s_make_one_start_request(tmp_path):
    store, asks = MemoryStore(), []
    store.unavailable = True
    gate = threading.Event()

    def ask():
        asks.append(1)
        gate.wait(2)
        return "started"

    app = create_app(settings(tmp_path), store=store, request_start=ask)
    with TestClient(app) as client:
        with ThreadPoolExecutor(max_workers=25) as pool:
            answers = list(pool.map(lambda _: client.post("/events", json=SEED_EXAMPLE), range(100)))
            gate.set()
        metrics = client.get("/metrics").text
    assert {a.status_code for a in answers} == {503}
    assert all(a.headers["retry-after"] == "120" and a.json() == UNAVAILABLE_BODY for a in answers)
    assert asks == [1]
    assert 'cdc_api_database_start_requests_total{outcome="asked"} 1.0' in metrics
    assert 'cdc_api_database_start_requests_total{outcome="coalesced"} 99.0' in metrics
    assert not store.rows


def test_flow_starter_runs_one_process_at_a_time_across_starters(tmp_path):
    """Two FlowStarters (as two API processes) on one state folder: the second ask finds the first's process
    holding the lock; once it exits, a new ask starts again. A stand-in interpreter records its arguments."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/argv\nsleep 1.5\n")
    fake.chmod(0o755)
    one, two = (FlowStarter("local", tmp_path / "api", python=str(fake)) for _ in range(2))
    first = one()
    assert first.startswith("database-autostart started (pid ")
    assert two() == "database-autostart already running" and two.running()
    deadline = time.monotonic() + 10
    while two.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not two.running()
    assert two().startswith("database-autostart started")
    deadline = time.monotonic() + 10
    while one.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "argv").read_text().splitlines() == ["-m flows.database_autostart --environment local"] * 2
    assert os.stat(one.lock_path).st_size == 0  # the lock file holds nothing (no pid, no secret)
