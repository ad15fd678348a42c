"""environments.http: the shared REST rules and api_message over every documented error body shape."""

from __future__ import annotations

import socket

import httpx
import pytest
from pydantic import SecretStr

from environments.http import RestClient, api_message, retry_after_seconds
from pipeline.errors import ConfigError, ConnectorError, EnvironmentProblem, TransientError
from tests.contract.doubles import Double, FakeClock, Reply, assert_clean, fixture, fixture_file, from_fixture

KEY, SECRET = "ABCDEFKEY123", "s3cr3t-Value/with+chars"


def make(double: Double, clock: FakeClock | None = None, base: str = "https://api.test", **kwargs) -> RestClient:
    return RestClient(base + double.base_path, service="Test API", auth=(KEY, SecretStr(SECRET)),
                      key_variable="CDC_TEST_API_KEY", credential="Test API key",
                      transport=kwargs.pop("transport", None) or double.transport(),
                      sleep=(clock or FakeClock()).sleep, **kwargs)


@pytest.fixture
def double() -> Double:
    d = Double("/v1", KEY, SECRET)

    @d.route("GET", "/things/(?P<name>[^/]+)")
    def get_thing(call, name):
        return Reply(200, {"name": name})

    yield d
    assert d.violations == []


# --- api_message: one line with the API's own words, whatever the shape -------------------------------------

SHAPES = [
    ("errors/connect_401", "Unauthorized"),
    ("errors/connect_400_put", "Bad Request"),
    ("errors/connect_500_create", "Failed to find any class that implements Connector and which name matches "
                                  "io.confluent.connect.<connector-class>..."),
    ("connect/not_found", "resource not found"),
    ("errors/flink_404", "Not Found"),
    ("errors/flink_409", "The entitlement '91e3e86f-fca6-4f14-98f5-a48e64113ce2' already exists."),
    ("errors/flink_422", "The property '/cluster/storage_size' of type string did not match the following type: "
                         "integer (at /cluster/storage_size)"),
    ("errors/flink_400", "The 'delorean' resource can't be filtered by 'num_doors' (at num_doors)"),
    ("flink/read_deleted_flink_statement", "Statement resource=workspace-2023-11-15-030109-0408d52d-eaff-4d50-a246-"
                                           "f822a29f2eb9 does not exist"),
    ("errors/cli_detail_resolution", "Quota exceeded for connectors in cluster lkc-abc123 — Delete an unused "
                                     "connector or ask for a higher quota"),
    ("errors/message_only", "The requested cluster is being provisioned."),
    ("errors/kafka_connect_oss", "Cannot complete request momentarily due to stale configuration (typically caused "
                                 "by a concurrent config change)"),
    ("errors/flink_gateway_trace", "ValidationException: SQL validation failed. From line 1, column 15 to line 1, "
                                   "column 19: Object 'nope' not found"),
    ("errors/sr_40401", "Subject 'raw-business-events-value' not found. (error code 40401)"),
    ("errors/sr_401", "Unauthorized"),
]


@pytest.mark.parametrize("name,expected", SHAPES, ids=[s[0] for s in SHAPES])
def test_api_message_takes_the_apis_own_words_from_every_body_shape(name, expected):
    data = fixture_file(name)
    message = api_message(httpx.Response(data["status"], json=data["body"]))
    assert message == expected
    assert "\n" not in message


def test_api_message_plain_text_html_and_empty_bodies():
    assert api_message(httpx.Response(502, text="\n  upstream connect error or disconnect\nreset reason: overflow")) \
        == "upstream connect error or disconnect"
    html = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503</h1></body></html>"
    assert api_message(httpx.Response(503, text=html, headers={"content-type": "text/html"})) \
        == "503 Service Temporarily Unavailable"
    assert api_message(httpx.Response(500, html="<html><body>\n<h1>Oops</h1><p>try later</p></body></html>")) == "Oops"
    assert api_message(httpx.Response(404)) == "404 Not Found"
    assert api_message(httpx.Response(502, text="   \n")) == "502 Bad Gateway"
    assert api_message(httpx.Response(200, json={"error": None})) == "200 OK"  # connect/v1 delete's body


def test_api_message_summarises_a_java_trace_sent_as_plain_text():
    trace = ("org.apache.kafka.connect.errors.ConnectException: boom\n\tat a.B.c(B.java:1)\n"
             "Caused by: org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry\n\tat x.Y.z(Y.java:2)\n")
    assert api_message(httpx.Response(500, text=trace)) == "PSQLException: FATAL: no pg_hba.conf entry"


# --- status rules ------------------------------------------------------------------------------------------

def test_other_4xx_are_returned_to_the_caller_and_fail_raises_its_error_class(double):
    double.fail_next("GET", "/things/a", from_fixture("connect/not_found"))
    client = make(double)
    resp = client.get("/things/a")
    assert resp.status_code == 404
    with pytest.raises(ConnectorError) as err:
        client.fail(resp, ConnectorError, "no thing a")
    assert assert_clean(err.value, SECRET) == "no thing a: 404 Not Found: resource not found"
    assert client.get("/things/b").json() == {"name": "b"}


def test_429_honours_retry_after_then_succeeds(double):
    double.fail_next("GET", "/things/a", Reply(429, None, {"Retry-After": "7"}), Reply(429, None, {"Retry-After": "2"}))
    clock = FakeClock()
    assert make(double, clock).get("/things/a").json() == {"name": "a"}
    assert clock.sleeps == [7.0, 2.0]
    assert len(double.calls) == 3


def test_429_caps_retry_after_and_gives_up_after_bounded_retries_as_transient(double):
    double.fail_next("GET", "/things/a", *[Reply(429, {"message": "slow down"}, {"Retry-After": "3600"})] * 4)
    clock = FakeClock()
    with pytest.raises(TransientError) as err:
        make(double, clock).get("/things/a")
    text = assert_clean(err.value, SECRET)
    assert "429" in text and "slow down" in text and "api.test" in text
    assert clock.sleeps == [60.0, 60.0, 60.0]  # capped, 3 retries, then the error
    assert len(double.calls) == 4


def test_retry_after_forms():
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "5"})) == 5.0
    assert retry_after_seconds(httpx.Response(429)) == 1.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) == 1.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "-3"})) == 0.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"})) == 60.0


@pytest.mark.parametrize("name", ["errors/connect_500_read", "errors/connect_500_create", "errors/flink_500"])
def test_5xx_is_transient_with_the_apis_message(double, name):
    double.fail_next("GET", "/things/a", from_fixture(name))
    with pytest.raises(TransientError) as err:
        make(double).get("/things/a")
    text = assert_clean(err.value, SECRET)
    assert text.startswith("Test API at api.test answered 500 Internal Server Error on GET /v1/things/a: ")
    assert api_message(httpx.Response(500, json=fixture(name))) in text


@pytest.mark.parametrize("name,status", [("errors/connect_401", 401), ("errors/flink_401", 401),
                                         ("errors/connect_403", 403), ("errors/flink_403", 403),
                                         ("errors/sr_401", 401), ("errors/sr_403", 403)])
def test_401_and_403_are_one_config_line_naming_the_key_variable(double, name, status):
    double.fail_next("GET", "/things/a", from_fixture(name))
    with pytest.raises(ConfigError) as err:
        make(double).get("/things/a")
    text = assert_clean(err.value, SECRET, KEY + ":" + SECRET)
    assert text.startswith(f"Test API rejected the Test API key (CDC_TEST_API_KEY): {status} ")
    assert "— fix: " in text and "CDC_TEST_API_KEY" in text.split("— fix: ")[1 if status == 401 else 0]


def test_secrets_echoed_by_the_server_are_scrubbed(double):
    double.fail_next("GET", "/things/a", Reply(400, {"message": f"bad value {SECRET} and pw hunter2-db-pass"}))
    client = make(double)
    client.redact([SecretStr("hunter2-db-pass")])
    resp = client.get("/things/a")
    with pytest.raises(ConnectorError) as err:
        client.fail(resp, ConnectorError, "refused")
    assert assert_clean(err.value, SECRET, "hunter2-db-pass") == "refused: 400 Bad Request: bad value **** and pw ****"


def test_unreachable_host_is_transient_naming_service_and_host():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = RestClient(f"http://127.0.0.1:{port}/v1", service="Test API", auth=(KEY, SecretStr(SECRET)))
    with pytest.raises(TransientError) as err:
        client.get("/things/a")
    text = assert_clean(err.value, SECRET)
    assert text.startswith("Test API at 127.0.0.1 is unreachable (ConnectError")


def test_timeout_is_transient(double):
    def hang(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientError) as err:
        make(double, transport=httpx.MockTransport(hang)).get("/things/a")
    assert assert_clean(err.value, SECRET) == "Test API at api.test did not answer in time (ReadTimeout on GET /v1/things/a)"


def test_url_with_credentials_is_refused():
    with pytest.raises(ConfigError) as err:
        RestClient(f"https://user:{SECRET.replace('/', '')}@api.test/v1", service="Test API")
    assert_clean(err.value, SECRET.replace("/", ""))


def test_repr_holds_no_secret(double):
    client = make(double)
    assert SECRET not in repr(client) and SECRET not in repr(client.__dict__.get("http"))


# --- redirects (Flink gateway): Authorization back on https hops only ---------------------------------------

def _redirecting(target_base: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "flink.test":
            return httpx.Response(307, headers={"Location": f"{target_base}{request.url.path}"})
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler)


def test_reauth_on_an_https_redirect_to_another_host():
    seen: list[httpx.Request] = []
    client = RestClient("https://flink.test/sql/v1", service="Flink", auth=(KEY, SecretStr(SECRET)),
                        reauth_on_redirect=True, transport=_redirecting("https://flink-gw.other.test", seen))
    assert client.get("/statements").json() == {"ok": True}
    assert [r.url.host for r in seen] == ["flink.test", "flink-gw.other.test"]
    assert seen[1].headers["authorization"] == seen[0].headers["authorization"]


def test_no_reauth_on_a_redirect_to_plain_http_or_when_not_asked():
    seen: list[httpx.Request] = []
    client = RestClient("https://flink.test/sql/v1", service="Flink", auth=(KEY, SecretStr(SECRET)),
                        reauth_on_redirect=True, transport=_redirecting("http://flink-gw.other.test", seen))
    client.get("/statements")
    assert "authorization" not in seen[1].headers
    seen.clear()
    client = RestClient("https://flink.test/sql/v1", service="Flink", auth=(KEY, SecretStr(SECRET)),
                        transport=_redirecting("https://flink-gw.other.test", seen))
    client.get("/statements")
    assert "authorization" not in seen[1].headers


def test_a_redirect_loop_is_one_line():
    def loop(request):
        return httpx.Response(302, headers={"Location": str(request.url)})

    client = RestClient("https://flink.test/sql/v1", service="Flink", auth=(KEY, SecretStr(SECRET)),
                        transport=httpx.MockTransport(loop))
    with pytest.raises(EnvironmentProblem) as err:
        client.get("/statements")
    assert "redirected more than 5 times" in assert_clean(err.value, SECRET)


def test_unparsable_url_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as err:
        RestClient(f"https://user:{SECRET}@api.test:x/v1", service="Test API")
    assert_clean(err.value, SECRET)
