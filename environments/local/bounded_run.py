"""Run a filter pipeline through real Flink on a bounded copy of events, for comparison with the evaluator.

Everything lives in topics named for the run, so runs never see each other's data: the events are
written to `<prefix>-raw`, each route to `<prefix>-<filter id>`, and the job reads the raw topic from
its first to its last offset and then finishes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import time

from environments.kafka import KafkaClients
from environments.local.flink import LocalFlinkJobs
from filters.compiler import CompiledJob, LocalOptions, compile_job
from filters.model import Pipeline
from pipeline.errors import PipelineError
from stack.settings import state_dir


@dataclass
class FlinkRun:
    job_id: str
    routed: dict[str, set[str]]  # event id -> output topics (original names)
    seconds: float


def isolate(pipeline: Pipeline, prefix: str) -> tuple[Pipeline, dict[str, str]]:
    """A copy of `pipeline` reading `<prefix>-raw` and writing `<prefix>-<id>`; returns it and new->old topic names."""
    renamed = {}
    filters = []
    for f in pipeline.filters:
        topic = f"{prefix}-{f.id}"
        renamed[topic] = f.output_topic
        filters.append(f.model_copy(update={"output_topic": topic}))
    source = pipeline.source.model_copy(update={"topic": f"{prefix}-raw"})
    return pipeline.model_copy(update={"source": source, "filters": tuple(filters)}), renamed


def bounded(job: CompiledJob) -> tuple[str, ...]:
    """The job's statements with the source read from earliest to the latest offset, then finished."""
    needle = "'scan.startup.mode' = 'group-offsets'"
    if needle not in job.source_ddl:
        raise PipelineError("the compiled source table has no group-offsets start-up mode to replace")
    source = job.source_ddl.replace(needle, "'scan.startup.mode' = 'earliest-offset',\n    'scan.bounded.mode' = 'latest-offset'")
    return (source, *job.statements[1:])


def run_through_flink(cfg, pipeline: Pipeline, events: list[dict], timeout: float = 300.0) -> FlinkRun:
    """`cfg` is the local settings (environments.settings.LocalSettings)."""
    prefix = f"diff-{uuid.uuid4().hex[:8]}"
    isolated, renamed = isolate(pipeline, prefix)
    kafka = KafkaClients(cfg.kafka)
    kafka.ensure_topic(isolated.source.topic, 1)
    kafka.produce_json(isolated.source.topic, events)
    options = LocalOptions(bootstrap_servers=cfg.kafka_bootstrap, group_id=prefix, delivery_guarantee="at-least-once")
    job = compile_job(isolated, "local", local=options)
    jobs = LocalFlinkJobs(cfg.sql_gateway_url, cfg.flink_rest_url, state_dir() / "flink" / "scratch",
                          cfg.kafka_bootstrap)
    try:
        t0 = time.monotonic()
        job_id = jobs.start(bounded(job), f"{prefix}-differential")
        jobs.wait_finished(job_id, timeout=timeout)
        seconds = time.monotonic() - t0
    finally:
        jobs.close()
    routed: dict[str, set[str]] = {}
    for topic, original in renamed.items():
        for record in kafka.read_to_end(topic):
            routed.setdefault(record.get("id"), set()).add(original)
    return FlinkRun(job_id, routed, seconds)
