from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from filters.loader import load_pipeline
from pipeline.errors import PipelineError
from pipeline.paths import FILTERS_FILE
from pipeline.smoke import report_rows, run_smoke
from tasks.env import Settings, environment


@task(name="smoke-test")
def smoke_test_task(cfg: Settings) -> dict:
    pipeline = load_pipeline(FILTERS_FILE)
    with environment(cfg) as env:
        result = run_smoke(env, pipeline)
    rows = report_rows(result, pipeline)
    create_table_artifact(key="smoke-test", table=rows,
                          description=f"smoke test {result.run}, delivery mode {result.mode}: per-route counts and "
                                      "commit->consumer latency (ms)")
    log = get_run_logger()
    log.info("delivery mode %s", result.mode)
    for r in rows:
        log.info("%s: expected %s, in topic %s, processed %s, latency p50 %s ms p95 %s ms max %s ms", r["route"],
                 r["expected"], r["in_topic"], r["processed"], r["latency_p50_ms"], r["latency_p95_ms"], r["latency_max_ms"])
    problems = result.problems()
    if problems:
        raise PipelineError(f"smoke test {result.run} failed: " + "; ".join(problems))
    return {"run": result.run, "delivery_mode": result.mode, "routes": rows}
