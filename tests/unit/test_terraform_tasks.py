"""Which terraform configuration provision runs for an environment, and its state backend (no tofu run here:
tests/integration/test_terraform_driver.py and test_dev_deploy.py run the real one)."""

from __future__ import annotations

import pytest

from environments.settings import is_secret_setting
from pipeline.errors import ConfigError
from pipeline.paths import ROOT
from tasks.terraform import backend_file, terraform_folder


def test_the_folder_per_environment():
    assert terraform_folder("local", {}) is None
    assert terraform_folder("dev", {}) == ROOT / "terraform" / "envs" / "dev"
    assert terraform_folder("prod", {"CDC_TERRAFORM_DIR": " "}) == ROOT / "terraform" / "envs" / "prod"
    assert terraform_folder("staging", {"CDC_TERRAFORM_DIR": "off"}) is None


def test_a_folder_without_configuration_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"CDC_TERRAFORM_DIR: .* is not a terraform configuration \(no \*.tf files\)"):
        terraform_folder("dev", {"CDC_TERRAFORM_DIR": str(tmp_path)})


def test_the_repository_envs_need_a_backend_config(tmp_path, monkeypatch):
    monkeypatch.delenv("CDC_TF_BACKEND_CONFIG", raising=False)
    monkeypatch.delenv("CDC_SETTINGS_FROM_PREFECT", raising=False)
    with pytest.raises(ConfigError, match="keeps its state in a s3 backend, and CDC_TF_BACKEND_CONFIG is not set"):
        backend_file("dev", ROOT / "terraform" / "envs" / "dev")
    monkeypatch.setenv("CDC_TF_BACKEND_CONFIG", str(tmp_path / "missing.hcl"))
    with pytest.raises(ConfigError, match="CDC_TF_BACKEND_CONFIG: .*missing.hcl does not exist"):
        backend_file("dev", ROOT / "terraform" / "envs" / "dev")
    hcl = tmp_path / "backend.hcl"
    hcl.write_text('bucket = "b"\nkey = "cdc/dev.tfstate"\nregion = "eu-west-1"\n')
    monkeypatch.setenv("CDC_TF_BACKEND_CONFIG", str(hcl))
    assert backend_file("dev", ROOT / "terraform" / "envs" / "dev") == str(hcl)


def test_a_configuration_with_local_state_needs_none(tmp_path, monkeypatch):
    monkeypatch.delenv("CDC_TF_BACKEND_CONFIG", raising=False)
    (tmp_path / "main.tf").write_text("terraform {}\n")
    assert backend_file("dev", tmp_path) is None


def test_outputs_are_stored_where_the_loader_reads_them():
    assert is_secret_setting("CDC_KAFKA_API_SECRET") and is_secret_setting("CDC_DB_PASSWORD")
    # an API key id is sensitive in terraform but read as a Variable: it goes where the loader looks
    assert not is_secret_setting("CDC_KAFKA_API_KEY", sensitive=True)
    assert not is_secret_setting("CDC_DB_SECRET_ARN")
    assert is_secret_setting("CDC_SOMETHING_NEW", sensitive=True) and not is_secret_setting("CDC_API_DB_HOST")



def test_the_lambda_package_is_built_where_the_tfvars_say(tmp_path):
    from tasks.terraform import lambda_package_wanted

    assert lambda_package_wanted(tmp_path) is None
    (tmp_path / "terraform.tfvars").write_text('lambda_package_zip  = "../pkg/cdc.zip"\nlambda_architecture = "arm64"\n')
    assert lambda_package_wanted(tmp_path) == ((tmp_path.parent / "pkg" / "cdc.zip").resolve(), "arm64")
    for env in ("dev", "staging", "prod"):  # the repository's environments: the zip under .state/lambda
        assert lambda_package_wanted(ROOT / "terraform" / "envs" / env) == (
            ROOT / ".state" / "lambda" / "cdc-lambda.zip", "x86_64")
