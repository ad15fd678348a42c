"""deploy-pipeline: the whole deployment, step by step, as subflows; stops at the first real failure.

provision -> replication-setup -> register-connectors -> flink-rollout -> deploy-consumers -> smoke-test,
holding the environment's deploy slot throughout (tasks/deploy_slot.py: one deploy at a time).
Retries happen inside tasks and only for transient errors; a real failure stops the chain at its step. On a
cloud environment whose terraform plan has changes, the chain stops after provision unless
apply_infrastructure=true approves them (exit 1, the plan published).
"""

from __future__ import annotations

import time

from prefect import flow

from flows.common import main, publish_summary
from flows.deploy_consumers import deploy_consumers
from flows.flink_rollout import flink_rollout
from flows.provision import infrastructure_arguments, provision
from flows.register_connectors import register_connectors
from flows.replication_setup import replication_setup
from flows.smoke_test import smoke_test
from pipeline.errors import AwaitingApproval
from tasks.deploy_slot import one_deploy_at_a_time


@flow(name="deploy-pipeline", log_prints=True)
def deploy_pipeline(environment: str = "local", apply_infrastructure: bool = False,
                    allow_database_destroy: bool = False) -> dict:
    # one deploy of an environment at a time; its flink-rollout subflow runs inside this slot
    with one_deploy_at_a_time(environment):
        timings: list[tuple[str, str]] = []
        t_all = time.monotonic()

        def step(name, fn, *args):
            t0 = time.monotonic()
            result = fn(*args)
            timings.append((name, f"{time.monotonic() - t0:.1f}s"))
            return result

        provisioned = step("provision", provision, environment, apply_infrastructure, allow_database_destroy)
        if provisioned["awaiting_approval"]:
            plan = provisioned["terraform"]["plan"]
            publish_summary("deploy-pipeline", f"deploy-pipeline ({environment})",
                            timings + [("stopped", f"the terraform plan ({plan}) awaits approval")])
            raise AwaitingApproval(f"deploy-pipeline ({environment}) stopped after provision: the terraform plan "
                                   f"({plan}) is published as artifact provision-terraform-plan and was not applied",
                                   fix="review it, then re-run with apply_infrastructure=true (--apply-infrastructure)")
        results = {
            "provision": provisioned,
            "replication-setup": step("replication-setup", replication_setup, environment),
            "register-connectors": step("register-connectors", register_connectors, environment),
            "flink-rollout": step("flink-rollout", flink_rollout, environment),
            "deploy-consumers": step("deploy-consumers", deploy_consumers, environment),
            "smoke-test": step("smoke-test", smoke_test, environment),
        }
        total = time.monotonic() - t_all
        timings.append(("total", f"{total:.1f}s"))
        mode = results["smoke-test"].get("delivery_mode", "?")
        publish_summary("deploy-pipeline", f"deploy-pipeline ({environment}, {mode})", timings)
        print(f"deploy-pipeline ({environment}, delivery mode {mode}) green in {total:.1f}s: " + ", ".join(f"{k} {v}" for k, v in timings[:-1]))
        return {"timings": dict(timings), "steps": results}


if __name__ == "__main__":
    main(deploy_pipeline, infrastructure_arguments)
