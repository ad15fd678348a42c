"""The producer API without servers: validation and the event-to-row mapping (pure), the HTTP answers over an
in-memory store double (validation, limits, idempotency outcomes, 503), the Lambda handler with a real API
Gateway event, the activity file, PgBouncer's generated configuration."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from api.activity import FileActivity
from api.app import UNAVAILABLE_BODY, create_app
from api.lambda_handler import build_handler
from api.models import json_path, problems, validate_event
from api.settings import ApiSettings, load_api_settings
from api.store import DatabaseUnavailable
from pipeline.activity import Activity, last_activity, parse_activity
from pipeline.business_events import load_sample, row_from_event
from pipeline.database_settings import DatabaseSettings
from pipeline.errors import ConfigError

SEED_EXAMPLE = {  # the seed's example event, dates in epoch milliseconds
    "eventHeader": {"uuid": "event-123", "eventName": "LoanCreated", "createdDate": 1705312200000,
                    "savedDate": 1705312205000, "eventType": "LoanCreated"},
    "eventBody": {"entities": [{"entityType": "Loan", "entityId": "loan-456", "updatedAttributes": {
        "loan": {"loanAmount": 50000, "balance": 50000, "status": "active"}}}]},
}


def bad_paths(event) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        validate_event(json.dumps(event))
    return {p["path"]: p["message"] for p in problems(err.value)}


# --- validation and mapping (pure) ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["car-created", "car-service-done", "loan-created", "loan-payment-submitted"])
def test_every_sample_event_is_valid(name):
    assert validate_event(json.dumps(load_sample(name))).eventHeader.uuid


def test_the_seed_example_with_epoch_milliseconds_is_valid_and_maps_to_utc_columns():
    validate_event(json.dumps(SEED_EXAMPLE))
    row = row_from_event(SEED_EXAMPLE)
    assert row["id"] == "event-123" and row["event_name"] == "LoanCreated" and row["event_type"] == "LoanCreated"
    assert row["created_date"] == "2024-01-15T09:50:00.000+00:00"
    assert row["saved_date"] == "2024-01-15T09:50:05.000+00:00"
    assert json.loads(row["event_data"]) == SEED_EXAMPLE  # the whole event, dates as they came


def test_iso_dates_map_unchanged():
    row = row_from_event(load_sample("loan-created"))
    assert row["created_date"] == load_sample("loan-created")["eventHeader"]["createdDate"]


def test_missing_header_fields_are_each_named_by_path():
    event = json.loads(json.dumps(SEED_EXAMPLE))
    del event["eventHeader"]["uuid"], event["eventHeader"]["savedDate"]
    assert bad_paths(event) == {"$.eventHeader.uuid": "Field required", "$.eventHeader.savedDate": "Field required"}


def test_wrong_types_are_each_named_by_path():
    event = json.loads(json.dumps(SEED_EXAMPLE))
    event["eventHeader"].update(eventName=42, createdDate="yesterday", savedDate=True)
    event["eventBody"]["entities"][0]["entityId"] = ["x"]
    paths = bad_paths(event)
    assert set(paths) == {"$.eventHeader.eventName", "$.eventHeader.createdDate", "$.eventHeader.savedDate",
                          "$.eventBody.entities[0].entityId"}
    assert "valid string" in paths["$.eventHeader.eventName"]
    assert "ISO-8601" in paths["$.eventHeader.createdDate"]


def test_a_date_without_timezone_and_a_uuid_with_whitespace_are_refused():
    event = json.loads(json.dumps(SEED_EXAMPLE))
    event["eventHeader"].update(uuid="a b", createdDate="2024-01-15T10:30:00")
    paths = bad_paths(event)
    assert "timezone" in paths["$.eventHeader.createdDate"] and "$.eventHeader.uuid" in paths


def test_header_and_envelope_are_closed_body_and_entities_are_open():
    event = json.loads(json.dumps(SEED_EXAMPLE))
    event["eventHeader"]["eventname"] = "typo"
    event["extra"] = 1
    assert set(bad_paths(event)) == {"$.eventHeader.eventname", "$.extra"}
    open_event = json.loads(json.dumps(SEED_EXAMPLE))
    open_event["eventBody"]["correlationId"] = "c-1"
    open_event["eventBody"]["entities"][0]["version"] = 3
    validate_event(json.dumps(open_event))


def test_an_event_needs_at_least_one_entity_and_strings_fit_the_columns():
    event = json.loads(json.dumps(SEED_EXAMPLE))
    event["eventBody"]["entities"] = []
    event["eventHeader"]["eventType"] = "x" * 256
    assert set(bad_paths(event)) == {"$.eventBody.entities", "$.eventHeader.eventType"}


def test_json_path_of_a_location():
    assert json_path(("eventBody", "entities", 0, "entityId")) == "$.eventBody.entities[0].entityId"
    assert json_path(()) == "$"


# --- the HTTP answers over an in-memory store ------------------------------------------------------------------

class MemoryStore:
    """The EventStore's contract in memory: put -> created | same | different; unavailable on demand."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.unavailable = False

    async def open(self):
        pass

    async def close(self):
        pass

    def _check(self):
        if self.unavailable:
            raise DatabaseUnavailable("the database at test is unavailable: connection refused")

    async def put(self, row):
        self._check()
        if row["id"] not in self.rows:
            self.rows[row["id"]] = row
            return "created"
        return "same" if json.loads(self.rows[row["id"]]["event_data"]) == json.loads(row["event_data"]) else "different"

    async def get(self, event_id):
        self._check()
        row = self.rows.get(event_id)
        return None if row is None else {**row, "created_date": None, "saved_date": None,
                                          "event_data": json.loads(row["event_data"])}

    async def ping(self):
        self._check()


def settings(tmp_path: Path, **kw) -> ApiSettings:
    return ApiSettings(database=DatabaseSettings(port=1, password=SecretStr("pw")),
                       activity_file=tmp_path / "activity.json", **kw)


@pytest.fixture
def api(tmp_path):
    store, starts = MemoryStore(), []
    app = create_app(settings(tmp_path, max_body_bytes=20_000), store=store, request_start=lambda: starts.append(1))
    with TestClient(app) as client:
        yield client, store, starts, tmp_path


def test_created_then_same_then_conflict(api):
    client, store, _, _ = api
    first = client.post("/events", json=SEED_EXAMPLE)
    assert first.status_code == 201 and first.json() == {"id": "event-123", "status": "created"}
    assert first.headers["location"] == "/events/event-123"
    reordered = {"eventBody": SEED_EXAMPLE["eventBody"], "eventHeader": SEED_EXAMPLE["eventHeader"]}
    assert client.post("/events", json=reordered).status_code == 200
    other = json.loads(json.dumps(SEED_EXAMPLE))
    other["eventBody"]["entities"][0]["updatedAttributes"]["loan"]["balance"] = 1
    conflict = client.post("/events", json=other)
    assert conflict.status_code == 409 and "event-123" in conflict.json()["message"]
    assert len(store.rows) == 1 and json.loads(store.rows["event-123"]["event_data"]) == SEED_EXAMPLE
    got = client.get("/events/event-123")
    assert got.status_code == 200 and got.json()["event"] == SEED_EXAMPLE
    assert client.get("/events/nope").status_code == 404


@pytest.mark.parametrize("body, status, words", [
    (b'{"eventHeader": {', 400, "malformed JSON"),
    (b"", 400, "empty"),
    (b'{"eventHeader": NaN}', 400, "NaN"),
    (b"\xff\xfe", 400, "UTF-8"),
    (b"[]", 422, "$"),
])
def test_bad_bodies_are_clear_4xx_and_write_nothing(api, body, status, words):
    client, store, _, _ = api
    answer = client.post("/events", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status and words in answer.json()["message"]
    assert answer.json()["status"] == status and not store.rows


def test_invalid_event_is_422_listing_each_path(api):
    client, store, _, _ = api
    event = json.loads(json.dumps(SEED_EXAMPLE))
    del event["eventHeader"]["eventName"]
    event["eventHeader"]["createdDate"] = "soon"
    answer = client.post("/events", json=event)
    assert answer.status_code == 422
    assert {p["path"] for p in answer.json()["problems"]} == {"$.eventHeader.eventName", "$.eventHeader.createdDate"}
    assert not store.rows


def test_not_json_is_415(api):
    client, store, _, _ = api
    assert client.post("/events", content=json.dumps(SEED_EXAMPLE), headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/events", content=json.dumps(SEED_EXAMPLE),
                       headers={"content-type": "application/cloudevents+json"}).status_code == 201


def test_oversize_body_is_413_declared_or_streamed(api):
    client, store, _, _ = api
    big = json.loads(json.dumps(SEED_EXAMPLE))
    big["eventBody"]["entities"][0]["updatedAttributes"]["blob"] = "x" * 30_000
    assert client.post("/events", json=big).status_code == 413
    chunks = iter([json.dumps(big).encode()[i:i + 4096] for i in range(0, 31_000, 4096)])
    streamed = client.post("/events", content=chunks, headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "limit of 20000" in streamed.json()["message"]
    assert not store.rows


def test_database_unavailable_is_the_seeds_503_and_asks_for_a_start(api):
    client, store, starts, _ = api
    store.unavailable = True
    answer = client.post("/events", json=SEED_EXAMPLE)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "120"
    assert answer.json() == UNAVAILABLE_BODY and starts == [1]
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    assert starts == [1]  # health never asks for a start


def test_a_failing_start_request_still_answers_503(tmp_path):
    store = MemoryStore()
    store.unavailable = True

    def broken():
        raise RuntimeError("no route to the start function")

    with TestClient(create_app(settings(tmp_path), store=store, request_start=broken)) as client:
        assert client.post("/events", json=SEED_EXAMPLE).status_code == 503


def test_metrics_and_activity_count_accepted_event_requests_only(api):
    client, store, _, path = api
    client.post("/events", json=SEED_EXAMPLE)
    client.post("/events", content=b"{", headers={"content-type": "application/json"})
    client.get("/health")
    metrics = client.get("/metrics").text
    assert 'cdc_api_requests_total{method="POST",route="/events",status="201"} 1.0' in metrics
    assert 'cdc_api_requests_total{method="POST",route="/events",status="400"} 1.0' in metrics
    assert 'cdc_api_events_total{outcome="created"} 1.0' in metrics
    activity = client.app.state.activity.flush()
    assert activity.count == 2 and last_activity(path / "activity.json") == activity


def test_openapi_docs_describe_the_event(api):
    client, *_ = api
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["EventHeader"]["required"] == ["uuid", "eventName", "eventType",
                                                                          "createdDate", "savedDate"]
    assert "$ref" in schema["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert client.get("/docs").status_code == 200


# --- the Lambda handler with a real API Gateway event --------------------------------------------------------------

def api_gateway_event(body: str, *, base64_encoded: bool = False) -> dict:
    """An API Gateway REST API (v1) proxy event as Lambda receives it."""
    return {
        "resource": "/events", "path": "/events", "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com",
                    "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
        "multiValueHeaders": {"Content-Type": ["application/json"],
                              "Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
                              "X-Forwarded-Proto": ["https"], "X-Forwarded-Port": ["443"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourceId": "r1", "resourcePath": "/events", "httpMethod": "POST",
                           "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "path": "/prod/events",
                           "accountId": "123456789012", "stage": "prod", "apiId": "abc123",
                           "protocol": "HTTP/1.1", "requestTimeEpoch": 1705312200000,
                           "identity": {"sourceIp": "203.0.113.9", "userAgent": "curl/8.0"}},
        "body": base64.b64encode(body.encode()).decode() if base64_encoded else body,
        "isBase64Encoded": base64_encoded,
    }


class LambdaContext:
    function_name = "producer-api"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_lambda_handler_serves_an_api_gateway_event(tmp_path):
    store = MemoryStore()
    handler = build_handler(settings(tmp_path), store=store)
    answer = handler(api_gateway_event(json.dumps(SEED_EXAMPLE)), LambdaContext())
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["id"] == "event-123"
    again = handler(api_gateway_event(json.dumps(SEED_EXAMPLE), base64_encoded=True), LambdaContext())
    assert again["statusCode"] == 200
    bad = handler(api_gateway_event('{"eventHeader": {}}'), LambdaContext())
    assert bad["statusCode"] == 422 and len(store.rows) == 1
    store.unavailable = True
    down = handler(api_gateway_event(json.dumps(SEED_EXAMPLE)), LambdaContext())
    assert down["statusCode"] == 503 and down["headers"]["retry-after"] == "120"
    assert json.loads(down["body"]) == UNAVAILABLE_BODY


# --- settings, activity, PgBouncer's configuration -----------------------------------------------------------------

def test_local_api_settings_go_through_pgbouncer(monkeypatch, tmp_path):
    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CDC_PGBOUNCER_PORT", "26999")
    s = load_api_settings("local")
    assert s.database.port == 26999 and s.activity_file == tmp_path / "api" / "activity.json"
    assert "pw" not in repr(s) and s.max_body_bytes == 256 * 1024


def test_cloud_api_settings_name_every_missing_variable():
    with pytest.raises(ConfigError) as err:
        load_api_settings("dev", environ={})
    assert ("CDC_API_DB_HOST (or CDC_DB_HOST), CDC_DB_USER, CDC_DB_PASSWORD (or CDC_DB_SECRET_ARN), CDC_AWS_REGION, "
            "CDC_AURORA_CLUSTER_ID") in str(err.value)
    s = load_api_settings("dev", environ={"CDC_API_DB_HOST": "proxy.example", "CDC_DB_USER": "u",
                                          "CDC_DB_PASSWORD": "secret-pw", "CDC_AWS_REGION": "eu-west-1",
                                          "CDC_AURORA_CLUSTER_ID": "cdc-dev"})
    assert s.database.host == "proxy.example" and s.database.sslmode == "verify-full" and s.activity_file is None
    assert s.start_with == "rds" and s.aws.aurora_cluster_id == "cdc-dev"
    assert "secret-pw" not in repr(s)
    with_function = load_api_settings("dev", environ={"CDC_API_DB_HOST": "p", "CDC_DB_USER": "u", "CDC_DB_PASSWORD": "x",
                                                      "CDC_AWS_REGION": "eu-west-1", "CDC_AURORA_CLUSTER_ID": "c",
                                                      "CDC_AURORA_AUTOSTART_FUNCTION": "cdc-dev-autostart"})
    assert with_function.start_with == "function"
    no_start = load_api_settings("dev", environ={"CDC_API_DB_HOST": "p", "CDC_DB_USER": "u", "CDC_DB_PASSWORD": "x",
                                                 "CDC_API_START_WITH": "none"})
    assert no_start.start_with == "none" and no_start.aws is None
    with pytest.raises(ConfigError, match="CDC_API_START_WITH='lambda' is not one of flow, function, rds, none"):
        load_api_settings("dev", environ={"CDC_API_START_WITH": "lambda"})


def test_activity_file_merges_recorders_and_reads_back(tmp_path):
    path = tmp_path / "api" / "activity.json"
    assert last_activity(path) == Activity(0, None)
    a, b = FileActivity(path), FileActivity(path)
    a.record(1_000)
    a.record(3_000)
    b.record(2_000)
    assert a.flush() == Activity(2, 3_000)
    assert b.flush() == Activity(3, 3_000)
    assert a.flush() is None  # nothing new
    assert last_activity(path) == Activity(3, 3_000)
    assert last_activity(path).last_request_at.isoformat() == "1970-01-01T00:00:03+00:00"


def test_a_damaged_activity_file_is_an_error_for_the_reader():
    with pytest.raises(ValueError):
        parse_activity('{"count": "many"}')
    assert parse_activity("") == Activity(0, None)


def test_pgbouncer_configuration_pools_transactions_into_20_server_connections(tmp_path):
    from stack.pgbouncer import PgBouncer

    db = DatabaseSettings(port=25432, password=SecretStr("not-in-the-ini"))
    bouncer = PgBouncer(tmp_path, 26432, db, superuser_conninfo={})
    ini = bouncer.ini()
    assert "pool_mode = transaction" in ini and "max_db_connections = 20" in ini and "default_pool_size = 20" in ini
    assert "listen_port = 26432" in ini and "auth_type = scram-sha-256" in ini
    assert "cdc = host=127.0.0.1 port=25432 dbname=cdc" in ini
    assert "not-in-the-ini" not in ini and "password" not in ini
    assert bouncer.client_settings().port == 26432


def test_scram_verifier_check_matches_only_its_password():
    import base64
    import hashlib
    import hmac

    from stack.postgres import scram_matches

    salt, iterations = b"0123456789abcdef", 4096
    salted = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, iterations)
    stored = base64.b64encode(hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()).decode()
    server = base64.b64encode(hmac.new(salted, b"Server Key", "sha256").digest()).decode()
    verifier = f"SCRAM-SHA-256${iterations}:{base64.b64encode(salt).decode()}${stored}:{server}"
    assert scram_matches(verifier, "s3cret")
    assert not scram_matches(verifier, "other")
    assert not scram_matches(None, "s3cret") and not scram_matches("md5abc", "s3cret")
