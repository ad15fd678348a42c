"""provision's terraform step for a cloud environment: plan, publish the plan, apply only when approved, and
store the outputs where every flow reads its settings (Prefect Variables / Secret blocks).

It runs before the environment's settings are loaded: provisioning from nothing is what creates them. Which
configuration: CDC_TERRAFORM_DIR, else terraform/envs/<environment>; CDC_TERRAFORM_DIR=off when the
infrastructure is managed elsewhere (provision then only checks it, as before). The provider credentials
(AWS_PROFILE or AWS_* keys, CONFLUENT_CLOUD_API_KEY/SECRET) come from the worker's environment, untouched;
the state backend from CDC_TF_BACKEND_CONFIG (the user's backend.hcl: bucket, key, region).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from environments.settings import is_secret_setting, lookup_setting, store_in_prefect
from environments.terraform.cli import TofuWorkspace
from pipeline.errors import ConfigError
from pipeline.infra_plan import apply_verdict, cleared_settings, settings_from_outputs
from pipeline.paths import ROOT, display
from tasks.retry import TRANSIENT_RETRIES

PLAN_ARTIFACT = "provision-terraform-plan"
AWAITING_APPROVAL = "awaiting approval"
#: a `backend "s3" {}` left empty on purpose: its settings are given at init, never written in the folder
_PARTIAL_BACKEND = re.compile(r'backend\s+"(\w+)"\s*\{\s*\}')


def terraform_folder(environment: str, environ=None) -> Path | None:
    """The configuration provision applies for `environment`, or None: local (stack/ starts its engines) or
    CDC_TERRAFORM_DIR=off."""
    environ = os.environ if environ is None else environ
    if environment == "local":
        return None
    override = environ.get("CDC_TERRAFORM_DIR", "").strip()
    if override.lower() == "off":
        return None
    folder = Path(override) if override else ROOT / "terraform" / "envs" / environment
    if not folder.is_dir() or not list(folder.glob("*.tf")):
        raise ConfigError(f"CDC_TERRAFORM_DIR: {display(folder)} is not a terraform configuration (no *.tf files)",
                          fix="point it at a configuration folder, or set CDC_TERRAFORM_DIR=off when the "
                              "infrastructure is provisioned elsewhere")
    return folder


def backend_file(environment: str, folder: Path) -> str | None:
    """The backend.hcl for a configuration whose backend block is left empty (terraform/envs/*: s3)."""
    partial = next((m.group(1) for tf in sorted(folder.glob("*.tf")) for m in _PARTIAL_BACKEND.finditer(tf.read_text())),
                   None)
    path = lookup_setting(environment, "CDC_TF_BACKEND_CONFIG")
    if partial is None:
        return path
    if path is None:
        raise ConfigError(f"{display(folder)} keeps its state in a {partial} backend, and CDC_TF_BACKEND_CONFIG "
                          "is not set", fix="write a backend.hcl (bucket, key, region; terraform/README.md) and set "
                                            "CDC_TF_BACKEND_CONFIG to its path")
    if not Path(path).is_file():
        raise ConfigError(f"CDC_TF_BACKEND_CONFIG: {path} does not exist")
    return str(Path(path).resolve())


def declared_outputs(folder: Path) -> set[str]:
    """The output names the configuration declares (its own *.tf files)."""
    return {m for tf in folder.glob("*.tf") for m in re.findall(r'^output\s+"(\w+)"', tf.read_text(), re.M)}


def lambda_package_wanted(folder: Path) -> tuple[Path, str] | None:
    """(zip path, architecture) when the configuration's terraform.tfvars names a `lambda_package_zip`."""
    tfvars = folder / "terraform.tfvars"
    text = tfvars.read_text() if tfvars.is_file() else ""
    found = re.search(r'^\s*lambda_package_zip\s*=\s*"([^"]+)"', text, re.M)
    if not found:
        return None
    arch = re.search(r'^\s*lambda_architecture\s*=\s*"([^"]+)"', text, re.M)
    return (folder / found.group(1)).resolve(), arch.group(1) if arch else "x86_64"


@task(name="lambda-package")
def lambda_package(environment: str, folder: str) -> str:
    """The package the configuration's Lambdas are created from, built (or kept) before the plan reads its hash."""
    from environments.aws.lambda_package import build_lambda_package

    wanted = lambda_package_wanted(Path(folder))
    if wanted is None:
        return "not needed"
    zip_path, architecture = wanted
    ca = lookup_setting(environment, "CDC_RDS_CA_BUNDLE")
    result = build_lambda_package(zip_path, architecture=architecture, rds_ca_bundle=Path(ca) if ca else None)
    get_run_logger().info("lambda package %s: %s", display(zip_path), result.line())
    return result.line()


def _publish_plan(environment: str, summary, verdict: str) -> None:
    title = f"provision ({environment}): terraform plan"
    footer = {"apply": "Approved: applied by this run.",
              AWAITING_APPROVAL: "Not applied. To apply it, re-run provision (or deploy-pipeline) with "
                                 "apply_infrastructure=true (`--apply-infrastructure`).",
              "no changes": "Nothing to apply."}.get(verdict, verdict)
    create_markdown_artifact(key=PLAN_ARTIFACT, markdown=summary.markdown(title) + f"\n\n**{footer}**",
                             description=title)


@task(name="terraform-backend")
def terraform_backend(environment: str, folder: str) -> str | None:
    """The state backend's settings file, checked before anything is built or planned."""
    return backend_file(environment, Path(folder))


@task(name="terraform-plan")
def terraform_plan(environment: str, folder: str, backend: str | None, approved: bool,
                   allow_database_destroy: bool = False) -> dict:
    """init + plan, published as a markdown artifact; the verdict says whether to apply. A plan that destroys a
    protected environment's database is published, then refused."""
    workspace = TofuWorkspace(Path(folder))
    workspace.init(backend_file=backend)
    summary = workspace.plan()
    try:
        verdict = apply_verdict(summary, environment, approved, allow_database_destroy)
    except ConfigError as refused:
        _publish_plan(environment, summary, f"Refused: {refused.message}")
        (Path(folder) / workspace.PLAN_FILE).unlink(missing_ok=True)
        raise
    _publish_plan(environment, summary, verdict)
    if verdict != "apply":  # the saved plan holds the variables' values: keep it only as long as needed
        (Path(folder) / workspace.PLAN_FILE).unlink(missing_ok=True)
    get_run_logger().info("terraform plan for %s in %s: %s (%s)", environment, display(folder), summary.line(), verdict)
    return {"folder": display(folder), "plan": summary.line(), "verdict": verdict,
            "changes": [[c.action, c.address] for c in summary.changes]}


@task(name="terraform-apply")
def terraform_apply(environment: str, folder: str) -> str:
    """Apply exactly the plan terraform-plan saved and published."""
    TofuWorkspace(Path(folder)).apply()
    get_run_logger().info("terraform apply for %s in %s: done", environment, display(folder))
    return "applied"


@task(name="terraform-outputs", **TRANSIENT_RETRIES)
def store_outputs(environment: str, folder: str) -> dict[str, str]:
    """Every `cdc_*` output stored where the flows read that setting: a Secret block for a secret, a Variable
    otherwise; a null output removes the stored value. Returns setting -> outcome (never a value)."""
    outputs = TofuWorkspace(Path(folder)).outputs()
    outcomes = {variable: store_in_prefect(environment, variable, value, is_secret_setting(variable, sensitive))
                for variable, value, sensitive in settings_from_outputs(outputs)}
    outcomes |= {variable: store_in_prefect(environment, variable, None, is_secret_setting(variable))
                 for variable in cleared_settings(outputs, declared_outputs(Path(folder)))}
    log = get_run_logger()
    counts = {o: sum(1 for v in outcomes.values() if v == o) for o in ("written", "unchanged", "removed")}
    log.info("terraform outputs for %s: %s", environment, ", ".join(f"{n} {o}" for o, n in counts.items()))
    if outcomes and os.environ.get("CDC_SETTINGS_FROM_PREFECT") != "1":
        log.warning("the outputs are stored as Prefect Variables cdc_%s_<name> / Secret blocks; this process "
                    "reads its settings from its environment only: set CDC_SETTINGS_FROM_PREFECT=1 to use them",
                    environment)
    return outcomes
