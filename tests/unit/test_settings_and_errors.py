import stat

import pytest

from pipeline.cli import run_cli
from pipeline.errors import ConfigError, EnvironmentProblem, PipelineError, TransientError
from environments.settings import load_settings
from stack.settings import local_password, local_ports


def test_local_password_is_generated_once_with_private_permissions(tmp_path, monkeypatch):
    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CDC_DB_PASSWORD", raising=False)
    first = local_password().get_secret_value()
    assert len(first) >= 24 and first == local_password().get_secret_value()
    mode = (tmp_path / "secrets" / "db-password").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_settings_never_show_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("CDC_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CDC_DB_PASSWORD", "very-secret-pw")
    cfg = load_settings("local")
    assert "very-secret-pw" not in repr(cfg) and "very-secret-pw" not in cfg.model_dump_json()
    assert cfg.database.conninfo()["password"] == "very-secret-pw"


def test_port_override_and_bad_port(monkeypatch):
    monkeypatch.setenv("CDC_KAFKA_PORT", "61000")
    assert local_ports()["kafka"] == 61000
    monkeypatch.setenv("CDC_KAFKA_PORT", "ninety")
    with pytest.raises(ConfigError, match="CDC_KAFKA_PORT='ninety' is not a port number"):
        local_ports()


CLOUD_ENV = {
    "CDC_CONFLUENT_ORG_ID": "org-1", "CDC_CONFLUENT_ENV_ID": "env-1", "CDC_CONFLUENT_KAFKA_CLUSTER_ID": "lkc-1",
    "CDC_CONFLUENT_CLOUD_API_KEY": "CLOUDKEY", "CDC_CONFLUENT_CLOUD_API_SECRET": "cloud-secret-value",
    "CDC_FLINK_API_KEY": "FLINKKEY", "CDC_FLINK_API_SECRET": "flink-secret-value", "CDC_FLINK_REGION": "us-east-1",
    "CDC_FLINK_CLOUD": "AWS", "CDC_FLINK_COMPUTE_POOL_ID": "lfcp-1",
    "CDC_FLINK_CATALOG": "cdc-dev", "CDC_FLINK_DATABASE": "cdc-dev-kafka", "CDC_SCHEMA_REGISTRY_URL": "https://psrc-1.example",
    "CDC_SCHEMA_REGISTRY_API_KEY": "SRKEY", "CDC_SCHEMA_REGISTRY_API_SECRET": "sr-secret-value",
    "CDC_KAFKA_BOOTSTRAP": "pkc-1.example:9092", "CDC_KAFKA_API_KEY": "KAFKAKEY", "CDC_KAFKA_API_SECRET": "kafka-secret-value",
    "CDC_AWS_REGION": "us-east-1", "CDC_AURORA_CLUSTER_ID": "cdc-dev", "CDC_DB_HOST": "cdc-dev.cluster-x.rds.example",
    "CDC_DB_USER": "cdc", "CDC_DB_PASSWORD": "db-secret-value",
}


def test_cloud_settings_name_every_missing_variable_in_one_line():
    env = {k: v for k, v in CLOUD_ENV.items() if k not in ("CDC_FLINK_API_SECRET", "CDC_AURORA_CLUSTER_ID", "CDC_DB_PASSWORD")}
    with pytest.raises(ConfigError) as info:
        load_settings("dev", environ=env)
    line = str(info.value)
    assert "\n" not in line and "missing 3 setting(s)" in line
    for name in ("CDC_FLINK_API_SECRET", "CDC_AURORA_CLUSTER_ID", "CDC_DB_PASSWORD (or CDC_DB_SECRET_ARN)"):
        assert name in line


def test_cloud_settings_load_and_never_show_a_secret():
    cfg = load_settings("staging", environ=CLOUD_ENV)
    assert cfg.kind == "cloud" and cfg.name == "staging"
    assert cfg.kafka.security_protocol == "SASL_SSL" and cfg.kafka.replication_factor is None
    assert cfg.database.sslmode == "verify-full"
    assert cfg.confluent.flink_base_url() == "https://flink.us-east-1.aws.confluent.cloud"
    shown = repr(cfg) + cfg.model_dump_json()
    for secret in ("cloud-secret-value", "flink-secret-value", "sr-secret-value", "kafka-secret-value", "db-secret-value"):
        assert secret not in shown


def test_unknown_environment_is_one_line():
    with pytest.raises(ConfigError, match="unknown environment 'qa' — fix: use one of local, dev, staging, prod"):
        load_settings("qa")


def test_error_renders_one_line_with_fix():
    err = EnvironmentProblem("port 1 is\nbusy", fix="choose   another")
    assert str(err) == "port 1 is busy — fix: choose another"
    assert TransientError("x").transient and not PipelineError("x").transient


def test_cli_exit_codes(capsys):
    def expected():
        raise ConfigError("bad thing", fix="do this")

    def crash():
        raise ZeroDivisionError("boom")

    assert run_cli(lambda: 0) == 0
    assert run_cli(expected) == 1
    err = capsys.readouterr().err
    assert err == "error: bad thing — fix: do this\n"
    assert run_cli(crash) == 2
    assert "crash: ZeroDivisionError: boom" in capsys.readouterr().err


def test_checkpoint_interval_is_a_duration_named_by_its_variable():
    import pytest

    from pipeline.errors import ConfigError
    from stack.settings import CHECKPOINT_INTERVAL_DEFAULT, checkpoint_interval

    assert checkpoint_interval({}) == CHECKPOINT_INTERVAL_DEFAULT == "500ms"
    assert checkpoint_interval({"CDC_CHECKPOINT_INTERVAL": " 2s "}) == "2s"
    for bad in ("50ms", "1m", "fast", "0s"):
        with pytest.raises(ConfigError, match=r"CDC_CHECKPOINT_INTERVAL=.* is not a duration of at least 100ms"):
            checkpoint_interval({"CDC_CHECKPOINT_INTERVAL": bad})
