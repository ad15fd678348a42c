"""migrate-connector: switch the capture connector to another variant with no event lost or duplicated.

Plans first (a markdown artifact: connector and SQL changes, what consumers see change, the steps), then
pause -> drain -> stop routing -> switch connector -> start routing for the new shape -> resume -> verify.
Re-running after success does nothing; after a failure it continues from the recorded step.
"""

from __future__ import annotations

from prefect import flow

from flows.common import main, publish_summary, settings_for
from tasks.deploy_slot import one_deploy_at_a_time
from tasks.migration import plan_connector_migration, run_connector_migration


@flow(name="migrate-connector", log_prints=True)
def migrate_connector(environment: str = "local", target: str = "v2-debezium", dry_run: bool = False) -> dict:
    with one_deploy_at_a_time(environment):
        cfg = settings_for(environment)
        plan = plan_connector_migration(cfg, target, dry_run)
        if dry_run or plan["action"] == "none":
            print(f"migrate-connector ({environment}): {plan['source']} -> {plan['target']}: "
                  + ("nothing to do" if plan["action"] == "none" else "dry run, nothing changed"))
            return {"plan": plan, "applied": False}
        result = run_connector_migration(cfg, target)
    rows = [(step, f"{result['step_seconds'].get(step, '-')}s") for step in result["steps"]]
    publish_summary("migrate-connector", f"migrate-connector ({environment}): {plan['source']} -> {plan['target']}", rows)
    print(f"migrate-connector ({environment}): now {plan['target']}; "
          + ", ".join(f"{k} {v}s" for k, v in result["step_seconds"].items())
          + f". Set CDC_CONNECTOR_VARIANT={target} for later deployments of {environment}.")
    return {"plan": plan, "applied": True, **result}


def _arguments(parser) -> None:
    parser.add_argument("--target", required=True, help="v2-debezium | debezium | cdc-source-fixed | cdc-source-basic")
    parser.add_argument("--dry-run", action="store_true", help="publish the plan, change nothing")


if __name__ == "__main__":
    main(migrate_connector, _arguments)
