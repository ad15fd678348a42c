import sys

import pytest
from pydantic import SecretStr

from consumers.config import ConsumerSettings
from consumers.registry import CONSUMERS, get_consumer
from consumers.runtime import main
from pipeline.errors import ConfigError

KEY, SECRET = "AKEY-7H2Q", "s3cr3t-Zq9-value"
SEED = {
    "loan": ("consumers.loan", "filtered-loan-created-events", "loan-consumer-group"),
    "loan-payment": ("consumers.loan_payment", "filtered-loan-payment-submitted-events", "loan-payment-consumer-group"),
    "service": ("consumers.service", "filtered-service-events", "service-consumer-group"),
    "car": ("consumers.car", "filtered-car-created-events", "car-consumer-group"),
}


@pytest.mark.parametrize("name", list(SEED))
def test_registry_names_the_seed_topics_and_groups(name):
    spec = get_consumer(name)
    assert (spec.module, spec.topic, spec.group_id) == SEED[name]
    assert spec.command("/py") == ["/py", "-m", SEED[name][0]]
    settings = ConsumerSettings.from_env(spec, {})
    assert (settings.topic, settings.group_id, settings.bootstrap_servers) == (spec.topic, spec.group_id, "127.0.0.1:29092")
    assert settings.dlq_topic == spec.topic + ".dlq"
    cfg = settings.consumer_config()
    assert cfg["security.protocol"] == "PLAINTEXT" and "sasl.password" not in cfg
    assert cfg["enable.auto.commit"] is False and cfg["isolation.level"] == "read_committed"
    assert cfg["auto.offset.reset"] == "earliest"


def test_registry_has_exactly_the_four_consumers_and_rejects_others():
    assert list(CONSUMERS) == ["loan", "loan-payment", "service", "car"]
    with pytest.raises(ConfigError, match="unknown consumer 'boat' — fix: use one of loan, loan-payment, service, car"):
        get_consumer("boat")


def test_environment_overrides():
    env = {"KAFKA_BOOTSTRAP_SERVERS": "a:1, b:2", "KAFKA_TOPIC": "t-1", "CONSUMER_GROUP_ID": "g-1",
           "PROCESSED_OUTPUT": "/tmp/x.jsonl", "PROCESSING_DELAY_MS": "25", "CONSUMER_SESSION_TIMEOUT_MS": "6000",
           "KAFKA_DLQ_TOPIC": "dead"}
    s = ConsumerSettings.from_env(get_consumer("car"), env)
    assert (s.bootstrap_servers, s.topic, s.group_id, s.dlq_topic) == ("a:1, b:2", "t-1", "g-1", "dead")
    assert str(s.processed_output) == "/tmp/x.jsonl" and s.processing_delay_ms == 25
    assert s.consumer_config()["session.timeout.ms"] == 6000


def test_blank_variables_mean_defaults():
    s = ConsumerSettings.from_env(get_consumer("loan"), {"KAFKA_TOPIC": "  ", "KAFKA_API_KEY": "", "KAFKA_API_SECRET": ""})
    assert s.topic == "filtered-loan-created-events" and s.api_key is None


def test_api_key_switches_to_sasl_ssl_plain_in_every_client():
    s = ConsumerSettings.from_env(get_consumer("loan"), {"KAFKA_API_KEY": KEY, "KAFKA_API_SECRET": SECRET})
    assert isinstance(s.api_key, SecretStr) and isinstance(s.api_secret, SecretStr)
    for cfg in (s.consumer_config(), s.producer_config(), s.admin_config()):
        assert cfg["security.protocol"] == "SASL_SSL" and cfg["sasl.mechanisms"] == "PLAIN"
        assert cfg["sasl.username"] == KEY and cfg["sasl.password"] == SECRET
    assert s.security_protocol == "SASL_SSL"


def test_secrets_never_appear_in_repr_dump_or_startup_description():
    s = ConsumerSettings.from_env(get_consumer("loan"), {"KAFKA_API_KEY": KEY, "KAFKA_API_SECRET": SECRET})
    for text in (repr(s), str(s), s.model_dump_json(), str(s.model_dump()), str(s.describe())):
        assert KEY not in text and SECRET not in text
    assert s.describe()["credentials"] == "api key set"


@pytest.mark.parametrize(("env", "message"), [
    ({"KAFKA_API_KEY": KEY}, "KAFKA_API_KEY is set but KAFKA_API_SECRET is not — fix: set KAFKA_API_SECRET"),
    ({"KAFKA_API_SECRET": SECRET}, "KAFKA_API_SECRET is set but KAFKA_API_KEY is not"),
    ({"KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "KAFKA_BOOTSTRAP_SERVERS='localhost' is not a comma-separated list of host:port"),
    ({"KAFKA_TOPIC": "bad topic!"}, "KAFKA_TOPIC='bad topic!' is not a valid Kafka topic name"),
    ({"KAFKA_TOPIC": "t", "KAFKA_DLQ_TOPIC": "t"}, "KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC"),
    ({"PROCESSING_DELAY_MS": "slow"}, "PROCESSING_DELAY_MS='slow' is not an integer >= 0"),
    ({"CONSUMER_SESSION_TIMEOUT_MS": "10"}, "CONSUMER_SESSION_TIMEOUT_MS='10' is not an integer >= 1000"),
])
def test_configuration_mistakes_are_one_line(env, message):
    with pytest.raises(ConfigError) as info:
        ConsumerSettings.from_env(get_consumer("loan"), env)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert SECRET not in str(info.value) and KEY not in str(info.value)


def test_main_exits_1_with_one_line_and_no_traceback(capsys):
    assert main(get_consumer("service"), environ={"KAFKA_API_KEY": KEY}) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("error: KAFKA_API_KEY is set but KAFKA_API_SECRET is not — fix: set KAFKA_API_SECRET to the"
                   " API key's secret (SASL_SSL/PLAIN needs both)\n")
    assert KEY not in err


def test_unwritable_processed_output_is_a_configuration_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(get_consumer("car"), environ={"PROCESSED_OUTPUT": str(blocker / "out.jsonl")}) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: PROCESSED_OUTPUT=") and err.count("\n") == 1


def test_spec_environment_builds_child_variables():
    env = get_consumer("loan").environment(bootstrap_servers="h:1", processed_output="/o", api_key=SecretStr(KEY),
                                           api_secret=SecretStr(SECRET))
    assert env == {"KAFKA_BOOTSTRAP_SERVERS": "h:1", "PROCESSED_OUTPUT": "/o", "KAFKA_API_KEY": KEY,
                   "KAFKA_API_SECRET": SECRET}
    assert sys.executable == get_consumer("loan").command()[0]


def test_ca_location_is_trusted_by_every_client_over_sasl_ssl(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = ConsumerSettings.from_env(get_consumer("loan"), {"KAFKA_API_KEY": KEY, "KAFKA_API_SECRET": SECRET,
                                                         "KAFKA_SSL_CA_LOCATION": str(ca)})
    for cfg in (s.consumer_config(), s.producer_config(), s.admin_config()):
        assert cfg["ssl.ca.location"] == str(ca) and cfg["security.protocol"] == "SASL_SSL"
    assert s.connection().ssl_ca_location == str(ca) and s.describe()["ssl_ca_location"] == str(ca)
    plain = ConsumerSettings.from_env(get_consumer("loan"), {})
    assert "ssl.ca.location" not in plain.consumer_config() and plain.connection().security_protocol == "PLAINTEXT"


@pytest.mark.parametrize(("env", "message"), [
    ({"KAFKA_SSL_CA_LOCATION": "/etc/hostname"},
     "KAFKA_SSL_CA_LOCATION is set but KAFKA_API_KEY is not (the CA file is only used for SASL_SSL)"),
    ({"KAFKA_API_KEY": KEY, "KAFKA_API_SECRET": SECRET, "KAFKA_SSL_CA_LOCATION": "/no/such/ca.pem"},
     "KAFKA_SSL_CA_LOCATION='/no/such/ca.pem' is not a readable file"),
])
def test_ca_location_mistakes_are_one_line(env, message):
    with pytest.raises(ConfigError) as info:
        ConsumerSettings.from_env(get_consumer("loan"), env)
    assert str(info.value).startswith(message) and "\n" not in str(info.value) and SECRET not in str(info.value)


def test_spec_environment_passes_the_ca_location():
    env = get_consumer("car").environment(bootstrap_servers="h:1", api_key=KEY, api_secret=SECRET,
                                          ssl_ca_location="/state/kafka/tls/ca.pem")
    assert env["KAFKA_SSL_CA_LOCATION"] == "/state/kafka/tls/ca.pem"
