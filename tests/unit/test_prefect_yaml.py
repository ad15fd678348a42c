"""prefect.yaml: every flow on every environment, and no cloud deployment on the local worker's pool."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from environments.settings import CLOUD_VARIABLES, ENVIRONMENTS, prefect_names
from pipeline.inactivity import PROTECTED_ENVIRONMENTS
from pipeline.paths import ROOT

FLOWS = {p.stem for p in (ROOT / "flows").glob("*.py") if p.stem not in ("__init__", "common")}


def _deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_every_flow_has_a_deployment_per_environment_with_a_valid_entrypoint():
    by_flow: dict[str, set[str]] = {}
    for d in _deployments():
        path, func = d["entrypoint"].split(":")
        module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
        flow = getattr(module, func)
        assert d["parameters"]["environment"] == d["name"]
        assert set(d["parameters"]) <= {"environment", "dry_run"}  # a bare run of migrate-connector only plans
        by_flow.setdefault(flow.name, set()).add(d["name"])
        assert Path(path).stem in FLOWS
    # database-autostop never acts on a protected environment (prod): it has no deployment there
    expected = {name: set(ENVIRONMENTS) - (PROTECTED_ENVIRONMENTS if name == "database-autostop" else set())
                for name in by_flow}
    assert by_flow and by_flow == expected, by_flow
    assert len(by_flow) == len(FLOWS)


def test_cloud_deployments_never_use_the_local_pool_and_read_their_settings_from_prefect():
    for d in _deployments():
        pool = d["work_pool"]
        if d["name"] == "local":
            assert pool["name"] == "cdc-local-pool" and "env" not in pool["job_variables"]
        else:
            assert pool["name"] == "cdc-cloud-pool", d
            assert pool["job_variables"]["env"] == {"CDC_ENV": d["name"], "CDC_SETTINGS_FROM_PREFECT": "1"}


def test_prefect_names_of_a_setting():
    assert prefect_names("dev", "CDC_FLINK_API_SECRET") == ("cdc_dev_flink_api_secret", "cdc-dev-flink-api-secret")
    assert "CDC_FLINK_API_SECRET" in CLOUD_VARIABLES


def test_autostop_runs_hourly_health_every_5_minutes_and_nothing_else_is_scheduled():
    scheduled = {}
    expected = {"database_autostop": {"cron": "0 * * * *", "timezone": "UTC", "active": True},
                "pipeline_health": {"interval": 300, "active": True}}
    for d in _deployments():
        flow = d["entrypoint"].split(":")[1]
        for schedule in d.get("schedules") or []:
            scheduled.setdefault(flow, set()).add(d["name"])
            assert schedule == expected[flow]
    assert scheduled == {"database_autostop": {"local", "dev", "staging"},
                         "pipeline_health": {"local", "dev", "staging", "prod"}}
