"""flink-rollout: compile filters/filters.yaml, plan against what runs in Flink, apply only a real change."""

from __future__ import annotations

from prefect import flow

from flows.common import main, settings_for
from tasks.deploy_slot import one_deploy_at_a_time
from tasks.flink import apply_rollout, compile_routing_job, ensure_output_topics, plan_rollout


@flow(name="flink-rollout", log_prints=True)
def flink_rollout(environment: str = "local", filters_file: str | None = None) -> dict:
    with one_deploy_at_a_time(environment):  # inside deploy-pipeline: its slot, already held
        cfg = settings_for(environment)
        job = compile_routing_job(cfg, filters_file)
        ensure_output_topics(cfg, job)  # consumers can join their groups before the first event is routed
        plan = plan_rollout(cfg, job)
        result = apply_rollout(cfg, plan, job)
    print(f"flink-rollout: {plan.action}; job {result['job_id']}; added {plan.added or '-'}, "
          f"changed {plan.changed or '-'}, removed {plan.removed or '-'}")
    return {"plan": vars(plan), **result}


if __name__ == "__main__":
    main(flink_rollout)
