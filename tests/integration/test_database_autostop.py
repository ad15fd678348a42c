"""database-autostop and start on demand on the real local stack.

One cycle, as a user meets it: changes are written, the API falls quiet, database-autostop pauses capture
and stops PostgreSQL; a request then gets the seed's 503 with Retry-After and makes the API run
database-autostart (one start for many concurrent requests); PostgreSQL accepts connections again, capture
resumes, the retried request is written, and every change — written before the stop or after the start — is
in each filtered topic the filters choose, exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from api.loadgen import post_events
from api.server import ApiServer
from connectors.config import LOCAL_CONNECTOR_NAME
from environments.postgres import accepts_connections
from filters.loader import load_pipeline
from flows.database_autostart import database_autostart
from flows.database_autostop import database_autostop
from pipeline.activity import last_activity
from pipeline.business_events import Change, load_sample, row_from_event
from pipeline.errors import ConfigError
from pipeline.inactivity import AUTOSTOP_KEY
from pipeline.paths import FILTERS_FILE
from pipeline.polling import poll_until
from pipeline.smoke import ROUTED_SAMPLES, expected_routing
from stack.settings import api_activity_file, state_dir
from tests.integration.conftest import free_port
from tests.integration.helpers import deploy, ids_by_topic

#: seconds: the window the test waits out instead of the default three hours
WINDOW_SECONDS = 3.0


def event(run: str, sample: str, i: int) -> dict:
    body = load_sample(sample)
    body["eventHeader"]["uuid"] = f"{run}-{sample}-{i}"
    return body



@pytest.fixture
def deployed(pipeline_ready, cfg, env, stack):
    deploy(cfg, FILTERS_FILE)
    yield env
    # whatever happened: the database up, capture running, no auto-stop record left
    stack.postgres.start()
    poll_until(stack.pgbouncer.serves, timeout=30, what="PgBouncer serving again")
    state = env.connect.status(LOCAL_CONNECTOR_NAME)
    if state is not None and state.state in ("PAUSED", "STOPPED"):
        env.connect.resume(LOCAL_CONNECTOR_NAME)
    env.rollout_store.save(AUTOSTOP_KEY, {})


@pytest.fixture
def api_server(deployed, stack, tmp_path):
    poll_until(stack.pgbouncer.serves, timeout=30, what="PgBouncer serving")
    server = ApiServer(tmp_path / "api", free_port(), env={"CDC_API_POOL_TIMEOUT": "3"})
    server.start()
    yield server
    server.stop()


def test_stop_after_inactivity_then_a_request_starts_the_database_and_nothing_is_lost(cfg, env, stack, api_server):
    run = f"as{uuid.uuid4().hex[:8]}"
    pipeline = load_pipeline(FILTERS_FILE)
    by_api = [event(run, s, i) for i in range(3) for s in ROUTED_SAMPLES]
    with httpx.Client(base_url=api_server.url, timeout=60) as client:
        # 1. traffic through the API, then quiet
        for body in by_api:
            assert client.post("/events", json=body).status_code == 201
        poll_until(lambda: (last_activity(api_activity_file()).last_request_ms or 0) >= int(time.time() * 1000) - 5000,
                   timeout=10, what="the API's activity flushed to its file")
        # a verdict inside the window keeps the database running and says why
        kept = database_autostop(environment="local", inactivity_hours=1)
        assert kept["action"] == "keep-running" and "inside the 1 h window" in kept["reason"], kept

        # 2. changes written straight to PostgreSQL (not API traffic) right up to the stop: in flight when capture pauses
        direct = [Change(f"{run}-direct-{s}-{i}", "c", row_from_event(event(run, s, i), f"{run}-direct-{s}-{i}"))
                  for i in range(5) for s in ROUTED_SAMPLES]
        env.database.apply_changes(direct)
        last_ms = last_activity(api_activity_file()).last_request_ms
        poll_until(lambda: time.time() * 1000 - last_ms > WINDOW_SECONDS * 1000, timeout=10, every=0.2,
                   what="the inactivity window passing")
        stopped = database_autostop(environment="local", inactivity_hours=WINDOW_SECONDS / 3600)
        assert stopped["action"] == "stop", stopped
        assert set(stopped["steps"]) == {"pause capture", "stop database"}
        assert stack.postgres.pid() is None and not accepts_connections(cfg.database)
        assert env.connect.status(LOCAL_CONNECTOR_NAME).state == "STOPPED"
        assert env.rollout_store.load(AUTOSTOP_KEY)["connector"] == LOCAL_CONNECTOR_NAME
        again = database_autostop(environment="local", inactivity_hours=WINDOW_SECONDS / 3600)
        assert again["action"] == "nothing" and "already stopped" in again["reason"]  # a re-run converges

        # 3. a request meets the stopped database: the seed's 503, and the API asks for a start — once for 20 at a time
        after = [event(run, s, 10 + i) for i in range(2) for s in ROUTED_SAMPLES]
        asked_at = time.monotonic()
        answer = client.post("/events", json=after[0])
        assert answer.status_code == 503 and answer.headers["retry-after"] == "120", answer.text
        assert answer.json()["retry_after"] == 120
        burst = asyncio.run(post_events("127.0.0.1", api_server.port, [[after[1]]] * 20))
        assert set(burst.statuses) <= {503, 201}, burst.statuses  # 201 only once the start has finished
        poll_until(lambda: accepts_connections(cfg.database), timeout=120, every=0.2, what="PostgreSQL started on demand")
        accepting_after = time.monotonic() - asked_at
        poll_until(lambda: client.get("/health").status_code == 200, timeout=60, every=0.2,
                   what="the API reaching its database again")
        api_after = time.monotonic() - asked_at
        metrics = client.get("/metrics").text
        assert 'cdc_api_database_start_requests_total{outcome="asked"} 1.0' in metrics, metrics

        # 4. capture resumes (the flow's last step), the retried requests are written
        poll_until(lambda: not env.rollout_store.load(AUTOSTOP_KEY), timeout=120, every=0.5,
                   what="database-autostart resuming capture and clearing the auto-stop record")
        assert env.connect.status(LOCAL_CONNECTOR_NAME).running
        for body in after:
            assert client.post("/events", json=body).status_code in (200, 201)
    log = state_dir() / "api" / "autostart.log"
    poll_until(lambda: "database-autostart (local): start" in log.read_text(), timeout=60, every=0.5,
               what="the database-autostart run's summary in its log")

    # 5. every change — before the stop (API and direct) and after the start — in its topics exactly once
    changes = [Change(b["eventHeader"]["uuid"], "c", row_from_event(b, b["eventHeader"]["uuid"])) for b in by_api + after]
    expected = expected_routing(pipeline, changes + direct)
    assert sum(sum(c.values()) for c in expected.values()) == len(changes) + len(direct)  # each routed sample once

    def arrived() -> dict[str, Counter]:
        return {topic: Counter(ids) for topic, ids in ids_by_topic(cfg, list(expected), run).items()}

    poll_until(lambda: arrived() == expected or None, timeout=120, every=1,
               what="every change in its filtered topics", last=lambda: str({t: sum(c.values()) for t, c in arrived().items()}))
    print(f"\nauto-start: request -> PostgreSQL accepting in {accepting_after:.1f}s, -> the API writing in "
          f"{api_after:.1f}s; "
          f"{len(changes) + len(direct)} changes, each in its topics once")


def test_autostart_on_a_running_database_only_reports_and_autostop_refuses_prod(deployed):
    result = database_autostart(environment="local")
    assert result["action"] == "ready" and "already available" in result["reason"]
    assert "nothing to resume" in result["steps"]["capture"]
    with pytest.raises(ConfigError, match="never runs on 'prod'"):
        database_autostop(environment="prod")


def test_a_dry_run_decides_without_stopping(deployed, stack, api_server):
    """Quiet for longer than the window: the verdict is stop, a dry run changes nothing. (The activity file is
    never edited by a test: a scheduled database-autostop of a Prefect worker may read it meanwhile.)"""
    body = event(f"dry{uuid.uuid4().hex[:8]}", "loan-created", 0)
    assert httpx.post(f"{api_server.url}/events", json=body, timeout=30).status_code == 201
    def quiet() -> bool:
        last = last_activity(api_activity_file()).last_request_ms
        return last is not None and time.time() * 1000 - last > (WINDOW_SECONDS + 1.5) * 1000

    poll_until(quiet, timeout=30, every=0.2, what="the inactivity window passing")
    result = database_autostop(environment="local", inactivity_hours=WINDOW_SECONDS / 3600, dry_run=True)
    assert result["action"] == "stop" and result["steps"] == {"dry run": "nothing changed"}, result
    assert result["figures"]["newest request"].endswith(" UTC")
    assert stack.postgres.healthy()
    assert env_connector_running(deployed)


def env_connector_running(env) -> bool:
    state = env.connect.status(LOCAL_CONNECTOR_NAME)
    return state is not None and state.running
