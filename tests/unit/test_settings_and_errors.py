import stat

import pytest

from pipeline.cli import run_cli
from pipeline.errors import ConfigError, EnvironmentProblem, PipelineError, TransientError
from pipeline.settings import load_settings, local_password, local_ports


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


def test_cloud_environment_is_refused_clearly():
    with pytest.raises(ConfigError, match="environment 'prod' targets Confluent Cloud"):
        load_settings("prod")


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
