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


def test_a_refused_prod_plan_is_published_then_fails_and_its_plan_file_removed(tmp_path, monkeypatch):
    """The wiring of terraform-plan around the pure verdict (the plan itself is `tofu show -json` shaped; a plan
    that destroys an aws_rds_cluster needs the AWS provider, which cannot be downloaded here)."""
    import tasks.terraform as tt
    from pipeline.infra_plan import summarize

    published = []

    class Workspace:
        PLAN_FILE = "cdc.tfplan"

        def __init__(self, folder):
            self.folder = folder

        def init(self, backend_file=None):
            published.append(("init", backend_file))

        def plan(self):
            (self.folder / self.PLAN_FILE).write_text("plan")
            return summarize({"format_version": "1.2", "resource_changes": [
                {"address": "module.aurora.aws_rds_cluster.this", "type": "aws_rds_cluster",
                 "change": {"actions": ["delete", "create"]}}]})

    monkeypatch.setattr(tt, "TofuWorkspace", Workspace)
    monkeypatch.setattr(tt, "_publish_plan", lambda env, summary, verdict: published.append((env, verdict)))
    monkeypatch.setattr(tt, "get_run_logger", lambda: __import__("logging").getLogger("t"))
    with pytest.raises(ConfigError, match=r"the plan for prod destroys the database \(module.aurora.aws_rds_cluster.this\)"):
        tt.terraform_plan.fn("prod", str(tmp_path), None, True)
    assert published[0] == ("init", None) and published[1][0] == "prod"
    assert published[1][1].startswith("Refused: the plan for prod destroys the database")
    assert not (tmp_path / "cdc.tfplan").exists()
    # allowed: applied as approved, the saved plan kept for terraform-apply
    result = tt.terraform_plan.fn("prod", str(tmp_path), None, True, allow_database_destroy=True)
    assert result["verdict"] == "apply" and result["changes"] == [["replace", "module.aurora.aws_rds_cluster.this"]]
    assert (tmp_path / "cdc.tfplan").exists()
    # not approved on dev: published, not applied, the plan file (it holds the variables' values) removed
    assert tt.terraform_plan.fn("dev", str(tmp_path), None, False)["verdict"] == "awaiting approval"
    assert not (tmp_path / "cdc.tfplan").exists()
