"""The producer API on the real local stack: uvicorn serving `python -m api`, through PgBouncer (transaction
pooling, 20 server connections) to PostgreSQL, captured by Debezium into raw-business-events."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import psycopg
import pytest

from api.loadgen import post_events
from api.server import ApiServer
from pipeline.activity import last_activity
from pipeline.business_events import load_sample
from pipeline.polling import poll_until
from stack.pgbouncer import MAX_SERVER_CONN, PoolSampler
from stack.settings import state_dir
from tests.integration.conftest import free_port


def new_event(sample: str = "loan-created") -> dict:
    event = load_sample(sample)
    event["eventHeader"]["uuid"] = f"api-{uuid.uuid4().hex[:12]}"
    return event


@pytest.fixture(scope="module")
def api(pipeline_ready, stack, tmp_path_factory):
    # a pool larger than PgBouncer's 20 server connections, so that PgBouncer is what bounds them
    server = ApiServer(tmp_path_factory.mktemp("api"), free_port(), env={"CDC_API_POOL_MAX": "100"})
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.server = server  # for the log checks
            yield client
    finally:
        server.stop()


def rows(cfg, event_id: str) -> list[tuple]:
    with psycopg.connect(**cfg.database.conninfo()) as conn:  # PostgreSQL directly, not through the API
        return conn.execute("SELECT event_data FROM business_events WHERE id = %s", (event_id,)).fetchall()


def test_created_then_same_event_200_then_other_body_409(api, cfg):
    event = new_event()
    event_id = event["eventHeader"]["uuid"]
    first = api.post("/events", json=event)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": event_id, "status": "created"}
    again = api.post("/events", json=event)
    assert again.status_code == 200 and again.json()["status"] == "already exists"
    other = json.loads(json.dumps(event))
    other["eventBody"]["entities"][0]["entityId"] = "loan-someone-else"
    conflict = api.post("/events", json=other)
    assert conflict.status_code == 409 and event_id in conflict.json()["message"]
    assert rows(cfg, event_id) == [(event,)]  # one row, the first event


def _truncated(event):
    return json.dumps(event)[:-20].encode()


def _missing_header_fields(event):
    del event["eventHeader"]["eventName"], event["eventHeader"]["createdDate"]
    return json.dumps(event).encode()


def _wrong_types(event):
    event["eventHeader"]["eventType"] = 7
    event["eventHeader"]["savedDate"] = "last tuesday"
    event["eventBody"]["entities"] = {"entityType": "Loan"}
    return json.dumps(event).encode()


def _oversize(event):
    event["eventBody"]["entities"][0]["updatedAttributes"]["blob"] = "x" * (300 * 1024)
    return json.dumps(event).encode()


@pytest.mark.parametrize("make, status, says", [
    (_truncated, 400, "malformed JSON"),
    (_missing_header_fields, 422, "$.eventHeader.eventName"),
    (_wrong_types, 422, "$.eventHeader.eventType"),
    (_oversize, 413, "limit of 262144 bytes"),
], ids=["malformed-json", "missing-header-fields", "wrong-types", "oversize-body"])
def test_bad_requests_are_clear_4xx_and_write_nothing(api, cfg, make, status, says):
    event = new_event()
    answer = api.post("/events", content=make(event), headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == status and says in json.dumps(body)
    assert rows(cfg, event["eventHeader"]["uuid"]) == []


def test_wrong_types_name_each_path(api):
    answer = api.post("/events", content=_wrong_types(new_event()), headers={"content-type": "application/json"})
    assert {p["path"] for p in answer.json()["problems"]} == {
        "$.eventHeader.eventType", "$.eventHeader.savedDate", "$.eventBody.entities"}


def test_get_by_id_health_and_metrics(api):
    event = new_event("car-created")  # the largest sample, ~16 KB
    event_id = event["eventHeader"]["uuid"]
    assert api.post("/events", json=event).status_code == 201
    got = api.get(f"/events/{event_id}")
    assert got.status_code == 200
    assert got.json()["event"] == event and got.json()["eventName"] == "CarCreated"
    assert got.json()["createdDate"] == "2026-11-18T08:05:00+00:00"
    assert api.get(f"/events/{event_id}-absent").status_code == 404
    health = api.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "reachable"}
    assert 'route="/events",status="201"' in api.get("/metrics").text


def test_accepted_requests_reach_the_activity_file(api):
    path = state_dir() / "api" / "activity.json"
    before = last_activity(path).count
    assert api.post("/events", json=new_event()).status_code == 201
    assert api.get("/events/nothing-here").status_code == 404
    poll_until(lambda: last_activity(path).count >= before + 2, timeout=10, every=0.1,
               what="the API's activity file counting 2 more requests")


def test_posted_event_reaches_raw_business_events(api, cfg, kafka):
    event = new_event("loan-payment-submitted")
    event_id = event["eventHeader"]["uuid"]
    watcher = kafka.watch(cfg.raw_topic)
    try:
        assert api.post("/events", json=event).status_code == 201
        got = watcher.collect({event_id}, timeout=60)
    finally:
        watcher.close()
    record = got[event_id][0]
    assert record["__op"] == "c" and record["event_name"] == event["eventHeader"]["eventName"]
    assert record["event_type"] == event["eventHeader"]["eventType"]
    assert json.loads(record["event_data"]) == event


def test_500_concurrent_api_clients_use_at_most_20_server_connections(api, cfg, stack):
    run = uuid.uuid4().hex[:8]
    events = []
    for c in range(500):
        mine = []
        for i in range(3):
            e = load_sample("loan-created")
            e["eventHeader"]["uuid"] = f"api-load-{run}-{c}-{i}"
            mine.append(e)
        events.append(mine)
    with PoolSampler(stack.pgbouncer, cfg.database.dbname) as pools:
        load = asyncio.run(post_events(api.base_url.host, api.base_url.port, events))
    assert load.statuses == {201: 1500}
    with psycopg.connect(**cfg.database.conninfo()) as conn:
        stored = conn.execute("SELECT count(*) FROM business_events WHERE id LIKE %s", (f"api-load-{run}-%",)).fetchone()[0]
    assert stored == 1500
    assert pools.samples > 10 and 0 < pools.max_servers <= MAX_SERVER_CONN, vars(pools)


def test_500_clients_connected_at_once_share_20_server_connections(cfg, stack):
    """500 clients each with its own connection (as 500 Lambda instances would have) run transactions at once."""
    bouncer = stack.pgbouncer
    settings = bouncer.client_settings()

    async def main():
        conns = await asyncio.gather(*(psycopg.AsyncConnection.connect(
            **settings.conninfo(application_name="cdc-bouncer-test"), prepare_threshold=None, autocommit=True)
            for _ in range(500)))
        try:
            with PoolSampler(bouncer, settings.dbname) as pools:
                async def work(conn):
                    for _ in range(3):
                        await conn.execute("SELECT pg_sleep(0.01), count(*) FROM business_events WHERE id = 'x'")
                await asyncio.gather(*(work(c) for c in conns))
            return pools
        finally:
            await asyncio.gather(*(c.close() for c in conns))

    pools = asyncio.run(main())
    assert pools.max_clients >= 100, vars(pools)  # many clients were active or waiting at once...
    assert 0 < pools.max_servers <= MAX_SERVER_CONN, vars(pools)  # ...through at most 20 server connections
    with psycopg.connect(**cfg.database.conninfo()) as conn:
        backends = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                "application_name IN ('cdc-bouncer-test', 'cdc-producer-api')",
                                (cfg.database.dbname,)).fetchone()[0]
    assert backends <= MAX_SERVER_CONN


def test_unreachable_database_answers_the_seeds_503_and_writes_nothing(cfg, stack, tmp_path):
    """The API pointed at a pooler port where nothing listens: every request that needs the database gets the
    seed's 503 with Retry-After: 120 (start on demand will plug into the same path)."""
    server = ApiServer(tmp_path, free_port(), env={"CDC_PGBOUNCER_PORT": str(free_port()),
                                                   "CDC_API_POOL_TIMEOUT": "1", "CDC_API_START_WITH": "none"})
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            event = new_event()
            answer = client.post("/events", json=event)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "120"
            assert answer.json() == {"error": "Service Temporarily Unavailable",
                                     "message": "The database is currently starting. Please retry your request "
                                                "in 1-2 minutes.", "status": 503, "retry_after": 120}
            assert client.get(f"/events/{event['eventHeader']['uuid']}").status_code == 503
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["database"] == "unreachable"
            assert client.post("/events", content=b"{", headers={"content-type": "application/json"}).status_code == 400
        assert rows(cfg, event["eventHeader"]["uuid"]) == []
    finally:
        server.stop()


def test_lambda_handler_writes_through_pgbouncer_across_invocations(cfg, stack):
    """The Mangum handler with real API Gateway events, the pool kept between invocations as on one Lambda
    instance (no AWS: the handler is called as the Lambda runtime calls it)."""
    from api.lambda_handler import build_handler
    from api.settings import load_api_settings
    from tests.unit.test_api import LambdaContext, api_gateway_event

    handler = build_handler(load_api_settings("local"))
    event = new_event()
    event_id = event["eventHeader"]["uuid"]
    try:
        first = handler(api_gateway_event(json.dumps(event)), LambdaContext())
        assert first["statusCode"] == 201, first
        again = handler(api_gateway_event(json.dumps(event), base64_encoded=True), LambdaContext())
        assert again["statusCode"] == 200
        get = api_gateway_event("")
        get.update(httpMethod="GET", path=f"/events/{event_id}", resource="/events/{id}", body=None)
        got = handler(get, LambdaContext())
        assert got["statusCode"] == 200 and json.loads(got["body"])["event"] == event
        assert rows(cfg, event_id) == [(event,)]
    finally:  # the loop Mangum ran the invocations on holds the pool
        asyncio.get_event_loop().run_until_complete(handler.app.state.store.close())


def test_concurrent_writers_of_one_uuid_get_one_201(api, cfg):
    """60 clients at once: 30 send event A, 30 send event B with the same uuid. Exactly one write wins; the
    others' answers follow from the stored body — 200 for the winner's twins, 409 for the rest."""
    a = new_event()
    b = json.loads(json.dumps(a))
    b["eventBody"]["entities"][0]["entityId"] = "loan-other"
    load = asyncio.run(post_events(api.base_url.host, api.base_url.port, [[a]] * 30 + [[b]] * 30))
    stored = rows(cfg, a["eventHeader"]["uuid"])
    assert len(stored) == 1 and stored[0][0] in (a, b)
    assert load.statuses == {201: 1, 200: 29, 409: 30}, load.statuses


def test_no_password_in_the_api_or_pgbouncer_files(api, cfg, stack):
    """PgBouncer holds a SCRAM verifier (not the password); the API's log and activity file hold no secret."""
    password = cfg.database.password.get_secret_value().encode()
    assert api.get("/health").status_code == 200
    files = [*api.server.home.iterdir(), *stack.pgbouncer.home.iterdir(), *(state_dir() / "api").iterdir()]
    assert [str(f) for f in files if f.is_file() and password in f.read_bytes()] == []
    assert (stack.pgbouncer.userlist_path.stat().st_mode & 0o777) == 0o600
    assert (stack.pgbouncer.ini_path.stat().st_mode & 0o777) == 0o600
    assert "SCRAM-SHA-256$" in stack.pgbouncer.userlist_path.read_text()


def test_database_stopped_behind_pgbouncer_answers_503_then_recovers(cfg):
    """A PostgreSQL of its own behind a PgBouncer of its own (the shared one keeps serving CDC): stopped, the API
    answers the seed's 503 at once and writes nothing; started again, the same API process writes again —
    the path start on demand will use."""
    import shutil

    from environments.postgres import PostgresDatabase
    from pipeline.business_events import SCHEMA_DDL
    from stack.pgbouncer import PgBouncer
    from stack.postgres import Postgres

    db = cfg.database.model_copy(update={"port": free_port()})
    # under the state folder: the postgres system user cannot enter pytest's private tmp folders
    home = state_dir() / "scratch" / f"api-stop-{uuid.uuid4().hex[:6]}"
    postgres = Postgres(home / "postgres", db)
    bouncer = PgBouncer(home / "pgbouncer", free_port(), db, postgres.superuser_conninfo())
    server = ApiServer(home / "api", free_port(), env={"CDC_STATE_DIR": str(home), "CDC_POSTGRES_PORT": str(db.port),
                                                      "CDC_PGBOUNCER_PORT": str(bouncer.port),
                                                      "CDC_API_POOL_TIMEOUT": "3", "CDC_API_START_WITH": "none",
                                                      "CDC_DB_PASSWORD": db.password.get_secret_value()})
    try:
        postgres.start()
        bouncer.start()
        PostgresDatabase(db).execute_ddl(SCHEMA_DDL)
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.post("/events", json=new_event()).status_code == 201
            postgres.stop()
            down = new_event()
            answer = client.post("/events", json=down)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "120", answer.text
            assert answer.json()["retry_after"] == 120
            assert client.get("/health").status_code == 503
            postgres.start()
            poll_until(lambda: client.get("/health").status_code == 200, timeout=30, every=0.5,
                       what="the API reaching the restarted database through PgBouncer")
            assert client.post("/events", json=down).status_code == 201  # nothing was written by the 503
    finally:
        server.stop()
        bouncer.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
