"""ConfluentSchemaRegistry against a Schema Registry double (MockTransport; one test over a real server).

The double asserts: Basic auth, the registry content type, a JSON Schema body `{"schemaType": "JSON",
"schema": "<the schema as a JSON string>"}` on the compatibility check and on register.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from environments.confluent.schema_registry import CONTENT_TYPE, ConfluentSchemaRegistry, SchemaRegistryError
from environments.confluent.schemas import raw_topic_json_schema, value_subject
from pipeline.errors import ConfigError, TransientError
from pipeline.ports import SchemaRegistry
from tests.contract.doubles import Double, FakeClock, Reply, assert_clean, fixture, from_fixture

KEY, SECRET = "SRKEY77", "sr-secret-Pq8"
SUBJECT = value_subject("raw-business-events")


class FakeRegistry(Double):
    def __init__(self) -> None:
        super().__init__("", KEY, SECRET, host="psrc-abc12.us-east-1.aws.confluent.cloud")
        self.versions: dict[str, list[dict]] = {}
        self.compatible = True

        @self.route("GET", "/subjects/(?P<subject>[^/]+)/versions/latest")
        def latest(call, subject):
            if not self.versions.get(subject):
                return Reply(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            return Reply(200, self.versions[subject][-1])

        @self.route("POST", "/compatibility/subjects/(?P<subject>[^/]+)/versions/latest")
        def compatibility(call, subject):
            self.check_body(call)
            self.expect(call.query.get("verbose") == ["true"], "compatibility check without verbose=true")
            if not self.versions.get(subject):
                return from_fixture("errors/sr_40401")
            return Reply(200, fixture("schema_registry/compatible") if self.compatible
                         else fixture("schema_registry/incompatible_verbose"))

        @self.route("POST", "/subjects/(?P<subject>[^/]+)/versions")
        def register(call, subject):
            body = self.check_body(call)
            history = self.versions.setdefault(subject, [])
            history.append({"subject": subject, "version": len(history) + 1, "id": 100001 + len(history),
                            "schemaType": "JSON", "schema": body["schema"]})
            return from_fixture("schema_registry/register")

    def check_body(self, call) -> dict:
        self.expect(call.headers.get("content-type") == CONTENT_TYPE, f"content type {call.headers.get('content-type')}")
        body = call.json()
        self.expect(body.get("schemaType") == "JSON", f"schemaType {body.get('schemaType')!r}")
        self.expect(isinstance(body.get("schema"), str) and isinstance(json.loads(body["schema"]), dict),
                    "schema must be the JSON Schema as a string")
        return body


@pytest.fixture
def fake():
    double = FakeRegistry()
    yield double
    assert double.violations == []


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def registry(fake, clock):
    client = ConfluentSchemaRegistry(url="https://psrc-abc12.us-east-1.aws.confluent.cloud", api_key=KEY,
                                     api_secret=SecretStr(SECRET), transport=fake.transport(), sleep=clock.sleep)
    yield client
    client.close()


def test_raw_topic_schema_names_every_field_and_allows_more():
    schema = raw_topic_json_schema()
    assert list(schema["properties"]) == ["id", "event_name", "event_type", "created_date", "saved_date",
                                          "event_data", "__op", "__table", "__ts_ms", "__deleted", "__lsn"]
    assert schema["properties"]["id"] == {"type": "string"}
    assert schema["properties"]["event_data"] == {"oneOf": [{"type": "null"}, {"type": "string"}]}
    assert schema["properties"]["__ts_ms"] == {"oneOf": [{"type": "null"}, {"type": "integer"}]}
    assert schema["properties"]["__lsn"] == {"oneOf": [{"type": "null"}, {"type": "integer"}]}
    assert schema["additionalProperties"] is True and schema["required"] == ["id"]


def test_new_subject_is_registered_then_unchanged(registry, fake):
    assert isinstance(registry, SchemaRegistry)
    assert registry.ensure_schema(SUBJECT, raw_topic_json_schema()) == "registered"
    assert fake.sequence() == [f"GET /subjects/{SUBJECT}/versions/latest",
                               f"POST /compatibility/subjects/{SUBJECT}/versions/latest",
                               f"POST /subjects/{SUBJECT}/versions"]
    assert registry.ensure_schema(SUBJECT, raw_topic_json_schema()) == "unchanged"
    assert len(fake.calls) == 4  # only the read


def test_a_compatible_change_is_checked_then_registered(registry, fake):
    registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert registry.ensure_schema(SUBJECT, raw_topic_json_schema(title="raw v2")) == "registered"
    assert fake.versions[SUBJECT][-1]["version"] == 2


def test_an_avro_latest_version_is_not_taken_as_ours(registry, fake):
    latest = fixture("schema_registry/read_latest_avro")  # TF mock: no schemaType means AVRO
    fake.versions[SUBJECT] = [latest]
    assert registry.ensure_schema(SUBJECT, raw_topic_json_schema()) == "registered"


def test_incompatible_change_is_one_config_line_with_the_registrys_messages(registry, fake):
    registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    fake.compatible = False
    with pytest.raises(ConfigError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema(title="breaking"))
    text = assert_clean(err.value, SECRET)
    assert text.startswith(f"the new schema for '{SUBJECT}' is incompatible with version 1: Found incompatible "
                           "change: Difference{jsonPath='#/properties/__ts_ms', type=TYPE_CHANGED}; {oldSchemaVersion: 1}")
    assert len(fake.versions[SUBJECT]) == 1  # nothing registered


def test_409_at_register_is_incompatible_whatever_the_error_code(registry, fake):
    fake.fail_next("POST", f"/subjects/{SUBJECT}/versions", from_fixture("errors/sr_409_incompatible"))
    with pytest.raises(ConfigError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert "refused the schema for 'raw-business-events-value' as incompatible: 409 Conflict: Schema being " \
           "registered is incompatible" in assert_clean(err.value, SECRET)


def test_invalid_schema_422(registry, fake):
    fake.fail_next("POST", f"/subjects/{SUBJECT}/versions", from_fixture("errors/sr_42201"))
    with pytest.raises(ConfigError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert "as invalid: 422 Unprocessable Entity: Invalid schema" in assert_clean(err.value, SECRET)


@pytest.mark.parametrize("name,status", [("errors/sr_401", 401), ("errors/sr_403", 403)])
def test_rejected_key_names_the_variable(registry, fake, name, status):
    fake.fail_next("GET", f"/subjects/{SUBJECT}/versions/latest", from_fixture(name))
    with pytest.raises(ConfigError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert assert_clean(err.value, SECRET).startswith(
        "Confluent Cloud Schema Registry rejected the Schema Registry API key (CDC_SCHEMA_REGISTRY_API_KEY): "
        f"{status} ")


def test_429_then_5xx(registry, fake, clock):
    fake.fail_next("GET", f"/subjects/{SUBJECT}/versions/latest", Reply(429, None, {"Retry-After": "3"}))
    assert registry.ensure_schema(SUBJECT, raw_topic_json_schema()) == "registered"
    assert clock.sleeps == [3.0]
    fake.fail_next("GET", f"/subjects/{SUBJECT}/versions/latest",
                   Reply(500, {"error_code": 50001, "message": "Error in the backend data store"}))
    with pytest.raises(TransientError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert "Error in the backend data store (error code 50001)" in assert_clean(err.value, SECRET)


def test_other_refusals_are_the_registrys_error(registry, fake):
    fake.fail_next("POST", f"/compatibility/subjects/{SUBJECT}/versions/latest",
                   Reply(400, {"error_code": 400, "message": "Bad Request"}))
    fake.versions[SUBJECT] = [{"subject": SUBJECT, "version": 1, "id": 1, "schemaType": "JSON", "schema": "{}"}]
    with pytest.raises(SchemaRegistryError) as err:
        registry.ensure_schema(SUBJECT, raw_topic_json_schema())
    assert assert_clean(err.value, SECRET) == (f"Schema Registry could not check compatibility for '{SUBJECT}': "
                                               "400 Bad Request")


def test_over_a_real_server(fake, clock):
    with fake.serve() as url:
        client = ConfluentSchemaRegistry(url=url, api_key=KEY, api_secret=SecretStr(SECRET), sleep=clock.sleep)
        assert client.ensure_schema(SUBJECT, raw_topic_json_schema()) == "registered"
        assert client.ensure_schema(SUBJECT, raw_topic_json_schema()) == "unchanged"
        client.close()
