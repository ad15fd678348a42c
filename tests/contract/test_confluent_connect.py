"""ConfluentConnect against a connect/v1 double served by a real HTTP server thread on 127.0.0.1.

The double keeps connectors as Confluent does: secrets stored but returned masked, server keys added to
the returned config, pause/resume accepted with 202 and applied a read later. It asserts every request:
Basic auth, the flat config map on PUT (no wrapper), `name` equal to the path, required keys present,
string values, the create-with-offsets body.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from environments.confluent.connect import ConfluentConnect, config_fingerprint, is_masked
from pipeline.errors import ConfigError, ConnectorError, TransientError
from pipeline.ports import Connect
from tests.contract.doubles import Double, FakeClock, Reply, assert_clean, fixture, from_fixture

ENV, LKC = "env-abc123", "lkc-abc123"
KEY, SECRET = "CLOUDKEY42", "cloud-secret-Xy9"
KAFKA_SECRET, DB_PASSWORD = "kafka-secret-Q1w2", "db-pa55word-Z9"
NAME = "business-events-cdc"
MASK = "****************"
SECRET_KEYS = ("kafka.api.key", "kafka.api.secret", "database.password")
# the server-added keys of the OAS read-config example, as Confluent returns them
SERVER_ADDED = {k: v for k, v in fixture("connect/read_config").items()
                if k in ("cloud.environment", "cloud.provider", "kafka.endpoint", "kafka.region")}
ALL_SECRETS = (SECRET, KAFKA_SECRET, DB_PASSWORD)


def desired(**overrides: str) -> dict[str, str]:
    config = {"connector.class": "PostgresCdcSourceV2", "name": NAME, "kafka.auth.mode": "KAFKA_API_KEY",
              "kafka.api.key": "KAFKAKEY7", "kafka.api.secret": KAFKA_SECRET, "database.hostname": "db.example",
              "database.port": "5432", "database.user": "cdc", "database.password": DB_PASSWORD,
              "database.dbname": "app", "topic.prefix": "cdc", "table.include.list": "public.business_events",
              "output.data.format": "JSON", "tasks.max": "1"}
    config.update(overrides)
    return config


class FakeConnect(Double):
    def __init__(self) -> None:
        super().__init__(f"/connect/v1/environments/{ENV}/clusters/{LKC}", KEY, SECRET)
        self.connectors: dict[str, dict] = {}
        self.status_script: dict[str, list[dict]] = {}
        self.validate_reply = from_fixture("connect/validate_ok")

        @self.route("GET", "/connectors/(?P<name>[^/]+)/config")
        def read_config(call, name):
            if name not in self.connectors:
                return from_fixture("connect/not_found")
            return Reply(200, self.returned_config(name))

        @self.route("PUT", "/connectors/(?P<name>[^/]+)/config")
        def put_config(call, name):
            body = call.json()
            self.check_config(body, name, "PUT config")
            entry = self.connectors.setdefault(name, {"state": "PROVISIONING"})
            entry["config"] = dict(body)
            reply = fixture("connect/put_config")  # OAS shape {name, config, tasks, type}
            reply.update(name=name, config=self.returned_config(name), tasks=[{"connector": name, "task": 0}])
            return Reply(200, reply)

        @self.route("POST", "/connectors")
        def create(call):
            body = call.json()
            self.expect(set(body) == {"name", "config", "offsets"}, f"create body keys {sorted(body)}")
            self.check_config(body.get("config") or {}, body.get("name"), "POST connectors")
            for item in body.get("offsets") or []:
                self.expect(set(item) == {"partition", "offset"}, f"offset item {item}")
            if body["name"] in self.connectors:
                return Reply(409, {"error_code": 409, "message": f"Connector {body['name']} already exists"})
            self.connectors[body["name"]] = {"config": dict(body["config"]), "state": "PROVISIONING",
                                             "offsets": body["offsets"]}
            reply = fixture("connect/create_with_offsets")
            reply.update(name=body["name"], config=self.returned_config(body["name"]), offsets=body["offsets"])
            return Reply(201, reply)

        @self.route("GET", "/connectors/(?P<name>[^/]+)/status")
        def status(call, name):
            if name not in self.connectors:
                return from_fixture("connect/not_found")
            script = self.status_script.get(name)
            if script:
                body = script.pop(0) if len(script) > 1 else script[0]
                return Reply(200, body)
            body = fixture("connect/status_running")
            body["name"] = name
            body["connector"]["state"] = self.connectors[name]["state"]
            return Reply(200, body)

        @self.route("PUT", "/connectors/(?P<name>[^/]+)/(?P<action>pause|resume)")
        def pause_resume(call, name, action):
            self.expect(not call.body, f"{action} must have no body")
            if name not in self.connectors:
                return Reply(404, {"error": {"code": 404, "message": "resource not found"}})
            target = "PAUSED" if action == "pause" else "RUNNING"
            # asynchronous: the next status read still shows the old state, the one after the new one
            current = self.connectors[name]["state"]
            self.connectors[name]["state"] = target
            self.status_script[name] = [self.status_body(name, current), self.status_body(name, target)]
            return Reply(202)

        @self.route("DELETE", "/connectors/(?P<name>[^/]+)")
        def delete(call, name):
            if self.connectors.pop(name, None) is None:
                return from_fixture("connect/not_found")
            return from_fixture("connect/delete")

        @self.route("GET", "/connectors/(?P<name>[^/]+)/offsets")
        def offsets(call, name):
            if name not in self.connectors:
                return Reply(404, {"error": {"code": 404, "message": "resource not found"}})  # OAS offsets 404
            body = fixture("connect/offsets_source")
            body["name"] = name
            return Reply(200, body)

        @self.route("PUT", "/connector-plugins/(?P<plugin>[^/]+)/config/validate")
        def validate(call, plugin):
            body = call.json()
            self.check_config(body, body.get("name"), "validate")
            self.expect(body.get("connector.class") == plugin, f"validate plugin {plugin} vs {body.get('connector.class')}")
            return self.validate_reply

    def check_config(self, config: dict, name: str | None, what: str) -> None:
        self.expect(isinstance(config, dict) and "config" not in config, f"{what}: config must be the flat map")
        self.expect(all(isinstance(v, str) for v in config.values()), f"{what}: every value must be a string")
        for key in ("connector.class", "name", "kafka.api.key", "kafka.api.secret"):
            self.expect(key in config, f"{what}: required key {key} missing")
        self.expect(config.get("name") == name, f"{what}: config name {config.get('name')!r} != {name!r}")

    def returned_config(self, name: str) -> dict[str, str]:
        stored = self.connectors[name]["config"]
        shown = {k: (MASK if k in SECRET_KEYS else v) for k, v in stored.items()}
        return {**SERVER_ADDED, **shown}

    def status_body(self, name: str, state: str) -> dict:
        body = fixture("connect/status_running")
        body["name"] = name
        body["connector"]["state"] = state
        return body


@pytest.fixture
def fake():
    double = FakeConnect()
    yield double
    assert double.violations == []


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def connect(fake, clock):
    with fake.serve() as url:
        client = ConfluentConnect(environment_id=ENV, cluster_id=LKC, api_key=KEY, api_secret=SecretStr(SECRET),
                                  api_url=url, poll_every=1.0, state_timeout=60.0, sleep=clock.sleep, clock=clock)
        yield client
        client.close()


def test_implements_the_port(connect):
    assert isinstance(connect, Connect) and connect.MASKS_SECRETS is True


# --- create-or-update and "unchanged" despite masked secrets -------------------------------------------------

def test_put_config_creates_with_the_flat_config_map(connect, fake):
    assert connect.put_config(NAME, desired()) == "created"
    assert fake.sequence()[-2:] == [f"GET {fake.base_path}/connectors/{NAME}/config",
                                    f"PUT {fake.base_path}/connectors/{NAME}/config"]
    assert fake.calls_to("PUT", f".*/connectors/{NAME}/config")[0].json() == desired()
    stored = connect.config(NAME)
    assert all(is_masked(stored[k]) for k in SECRET_KEYS) and stored["cloud.provider"] == "aws"


def test_unchanged_needs_equal_non_secret_keys_and_the_deployed_fingerprint(connect, fake):
    connect.put_config(NAME, desired())
    fp = connect.fingerprint(NAME, desired())
    assert fp == config_fingerprint(NAME, desired()) and DB_PASSWORD not in fp
    puts = len(fake.calls_to("PUT", ".*/config"))
    # masked secrets and server-added keys differ from ours, yet nothing is sent
    assert connect.put_config(NAME, desired(), deployed_fingerprint=fp) == "unchanged"
    assert len(fake.calls_to("PUT", ".*/config")) == puts


def test_without_a_fingerprint_a_masked_config_is_redeployed(connect, fake):
    connect.put_config(NAME, desired())
    assert connect.put_config(NAME, desired()) == "updated"
    assert len(fake.calls_to("PUT", ".*/config")) == 2


def test_a_changed_secret_is_deployed(connect, fake):
    connect.put_config(NAME, desired())
    fp = connect.fingerprint(NAME, desired())
    assert connect.put_config(NAME, desired(**{"database.password": "rotated-pass-77"}), deployed_fingerprint=fp) \
        == "updated"
    assert fake.connectors[NAME]["config"]["database.password"] == "rotated-pass-77"


def test_a_changed_or_removed_key_is_deployed(connect, fake):
    connect.put_config(NAME, desired())
    fp = connect.fingerprint(NAME, desired())
    assert connect.put_config(NAME, desired(**{"tasks.max": "2"}), deployed_fingerprint=fp) == "updated"
    config = desired(**{"tasks.max": "2"})
    fp = connect.fingerprint(NAME, config)
    del config["database.password"]  # a secret key removed from our config
    assert connect.put_config(NAME, config, deployed_fingerprint=fp) == "updated"


def test_config_name_must_match(connect):
    with pytest.raises(ConfigError):
        connect.put_config(NAME, desired(name="other"))


def test_rejected_config_is_one_line_with_the_apis_message_and_no_secret(connect, fake):
    fake.fail_next("PUT", f"/connectors/{NAME}/config",
                   Reply(400, {"error": {"code": 400, "message": f"Invalid value {DB_PASSWORD} for database.password"}}))
    with pytest.raises(ConnectorError) as err:
        connect.put_config(NAME, desired())
    text = assert_clean(err.value, *ALL_SECRETS)
    assert text == (f"Confluent Cloud rejected connector '{NAME}': 400 Bad Request: "
                    "Invalid value **** for database.password")


def test_create_500_is_transient_with_the_apis_message(connect, fake):
    fake.fail_next("PUT", f"/connectors/{NAME}/config", from_fixture("errors/connect_500_create"))
    with pytest.raises(TransientError) as err:
        connect.put_config(NAME, desired())
    assert "Failed to find any class that implements Connector" in assert_clean(err.value, *ALL_SECRETS)


@pytest.mark.parametrize("name,status", [("errors/connect_401", 401), ("errors/connect_403", 403)])
def test_rejected_key_is_one_line_naming_the_variable(connect, fake, name, status):
    fake.fail_next("GET", f"/connectors/{NAME}/config", from_fixture(name))
    with pytest.raises(ConfigError) as err:
        connect.put_config(NAME, desired())
    text = assert_clean(err.value, *ALL_SECRETS)
    assert text.startswith("Confluent Cloud Connect API rejected the Cloud API key (CDC_CONFLUENT_CLOUD_API_KEY): "
                           f"{status} ")


def test_429_on_put_is_retried_after_retry_after(connect, fake, clock):
    fake.fail_next("PUT", f"/connectors/{NAME}/config", Reply(429, None, {"Retry-After": "4"}))
    assert connect.put_config(NAME, desired()) == "created"
    assert clock.sleeps == [4.0]


# --- status, waiting, pause/resume ----------------------------------------------------------------------------

def test_status_maps_states_and_task_messages(connect, fake):
    connect.put_config(NAME, desired())
    fake.status_script[NAME] = [fixture("connect/status_failed")]
    state = connect.status(NAME)
    assert state.state == "FAILED"
    assert state.error == "There were some errors with your configuration: database.hostname: Could not connect to the database"
    assert state.tasks[0].state == "FAILED"
    assert state.tasks[0].error == "Unable to connect: FATAL: password authentication failed"
    assert connect.status("missing") is None


def test_wait_running_follows_terraforms_rule(connect, fake, clock):
    connect.put_config(NAME, desired())
    fake.status_script[NAME] = [fixture("connect/status_provisioning_no_tasks"), fixture("connect/status_provisioning"),
                                fixture("connect/status_running")]
    state = connect.wait_running(NAME, timeout=30)
    assert state.state == "RUNNING"
    assert state.tasks[0].state == "STOPPED"  # Confluent's mock: a free-form task state under RUNNING
    assert clock.sleeps == [1.0, 1.0]


def test_wait_running_fails_at_once_with_the_trace(connect, fake):
    connect.put_config(NAME, desired())
    fake.status_script[NAME] = [fixture("connect/status_provisioning"), fixture("connect/status_failed")]
    with pytest.raises(ConnectorError) as err:
        connect.wait_running(NAME, timeout=30)
    text = assert_clean(err.value, *ALL_SECRETS)
    assert f"connector '{NAME}' is FAILED, expected RUNNING: There were some errors with your configuration" in text


def test_wait_running_times_out_as_transient(connect, fake, clock):
    connect.put_config(NAME, desired())
    fake.status_script[NAME] = [fixture("connect/status_provisioning")]
    with pytest.raises(TransientError) as err:
        connect.wait_running(NAME, timeout=5)
    assert "not reached after 5s (state PROVISIONING)" in str(err.value)


def test_pause_and_resume_are_asynchronous_and_waited(connect, fake, clock):
    connect.put_config(NAME, desired())
    fake.connectors[NAME]["state"] = "RUNNING"
    connect.pause(NAME)
    assert connect.status(NAME).state == "PAUSED"
    assert len(fake.calls_to("PUT", ".*/pause")) == 1
    connect.pause(NAME)  # already paused: nothing sent
    assert len(fake.calls_to("PUT", ".*/pause")) == 1
    connect.resume(NAME)
    assert connect.status(NAME).state == "RUNNING"
    assert len(fake.calls_to("PUT", ".*/resume")) == 1
    assert clock.sleeps  # the wait polled


def test_pause_of_a_missing_connector_is_one_line(connect):
    with pytest.raises(ConnectorError) as err:
        connect.pause("missing")
    assert "there is no connector 'missing' in cluster lkc-abc123" in assert_clean(err.value, *ALL_SECRETS)


def test_delete(connect, fake):
    connect.put_config(NAME, desired())
    assert connect.delete(NAME) is True
    assert connect.delete(NAME) is False


# --- offsets, create with offsets, validate -------------------------------------------------------------------

def test_offsets_and_create_with_offsets(connect, fake):
    connect.put_config(NAME, desired())
    offsets = connect.offsets(NAME)
    assert offsets == [{"partition": {"protocol": 1, "table": "sourcedb.sourcetable"},
                        "offset": {"timestamp_nanos": 0, "incrementing": 3, "timestamp": 1699142400000}}]
    with pytest.raises(ConnectorError):
        connect.offsets("missing")
    lsn = [{"partition": {"server": "cdc"}, "offset": {"lsn": 123456, "txId": 42}}]
    assert connect.create_with_offsets("cdc-v2", desired(name="cdc-v2"), lsn) == "created"
    body = fake.calls_to("POST", ".*/connectors")[0].json()
    assert body == {"name": "cdc-v2", "config": desired(name="cdc-v2"), "offsets": lsn}
    with pytest.raises(ConnectorError) as err:
        connect.create_with_offsets("cdc-v2", desired(name="cdc-v2"), lsn)
    assert "already exists" in assert_clean(err.value, *ALL_SECRETS)
    with pytest.raises(ConfigError):
        connect.create_with_offsets("cdc-v3", desired(name="cdc-v3"), [{"lsn": 1}])


def test_the_documented_create_request_shape_is_what_we_send(connect, fake):
    example = fixture("connect/create_request_source")  # OAS request example
    connect.create_with_offsets(example["name"], {**example["config"]}, example["offsets"])
    assert set(fake.calls_to("POST", ".*/connectors")[0].json()) == set(example)


def test_validate_returns_field_messages(connect, fake):
    assert connect.validate(NAME, desired()) == []
    fake.validate_reply = from_fixture("connect/validate_errors")
    errors = connect.validate(NAME, desired())
    assert errors == ['flush.size: "flush.size" should be greater than or equal to 1000']
    assert fake.calls_to("PUT", ".*/connector-plugins/PostgresCdcSourceV2/config/validate")
