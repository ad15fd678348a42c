"""provision: the environment's infrastructure, then raw-business-events and its schema.

local: the engines of stack/ started (healthy ones reused). Cloud: terraform first (plan published; applied
only with apply_infrastructure=true; outputs stored as the environment's settings), then the resources checked.
"""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.provision import ensure_infrastructure, ensure_raw_topic, register_raw_schema
from tasks.terraform import (AWAITING_APPROVAL, PLAN_ARTIFACT, lambda_package, store_outputs, terraform_apply,
                             terraform_backend, terraform_folder, terraform_plan)


@flow(name="provision", log_prints=True)
def provision(environment: str = "local", apply_infrastructure: bool = False,
              allow_database_destroy: bool = False) -> dict:
    terraform = None
    folder = terraform_folder(environment)
    if folder is not None:
        backend = terraform_backend(environment, str(folder))
        package = lambda_package(environment, str(folder))
        terraform = terraform_plan(environment, str(folder), backend, apply_infrastructure, allow_database_destroy)
        terraform["lambda_package"] = package
        if terraform["verdict"] == AWAITING_APPROVAL:
            publish_summary("provision", f"provision ({environment})",
                            [("terraform", f"{terraform['plan']}: {AWAITING_APPROVAL} (artifact {PLAN_ARTIFACT})")])
            print(f"provision ({environment}): the terraform plan ({terraform['plan']}) is published as "
                  f"{PLAN_ARTIFACT} and NOT applied; re-run with apply_infrastructure=true to apply it")
            return {"terraform": terraform, "awaiting_approval": True}
        if terraform["verdict"] == "apply":
            terraform["apply"] = terraform_apply(environment, str(folder))
        terraform["settings"] = store_outputs(environment, str(folder))
    cfg = settings_for(environment)
    resources = ensure_infrastructure(cfg)
    topic = ensure_raw_topic(cfg)
    schema = register_raw_schema(cfg)
    rows = [("terraform", f"{terraform['plan']}: {terraform['verdict']}")] if terraform else []
    rows += [(r["resource"], f"{r['outcome']} ({r['seconds']}s) {r['detail']}".strip()) for r in resources]
    rows += [(cfg.raw_topic, topic), (f"{cfg.raw_topic}-value schema", schema)]
    publish_summary("provision", f"provision ({environment})", rows)
    return {"terraform": terraform, "resources": resources, "raw_topic": topic, "schema": schema,
            "awaiting_approval": False}


def infrastructure_arguments(parser) -> None:
    parser.add_argument("--apply-infrastructure", action="store_true",
                        help="apply the terraform plan (cloud environments); without it the plan is only published")
    parser.add_argument("--allow-database-destroy", action="store_true",
                        help="let a plan that destroys prod's database through (its data is lost)")


if __name__ == "__main__":
    main(provision, infrastructure_arguments)
