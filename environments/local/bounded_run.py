"""Run a filter pipeline through real Flink on a bounded copy of events, for comparison with the evaluator.

Everything lives in topics named for the run, so runs never see each other's data: the events are
written to `<prefix>-raw`, each route to `<prefix>-<filter id>`, and the job reads the raw topic from
its first to its last offset and then finishes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import time

from environments.kafka import KafkaClients, RawRecord
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
    #: what the job sent to the dead-letter topic, in source order
    dead_letters: list[RawRecord] = field(default_factory=list)


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
    """The job's statements with the sources (the raw topic as JSON, and as bytes for the dead letters) read
    from earliest to the latest offset, then finished."""
    needle = "'scan.startup.mode' = 'group-offsets'"
    if needle not in job.source_ddl:
        raise PipelineError("the compiled source table has no group-offsets start-up mode to replace")
    bounded_scan = "'scan.startup.mode' = 'earliest-offset',\n    'scan.bounded.mode' = 'latest-offset'"
    return tuple(s.replace(needle, bounded_scan) for s in job.ddl) + (job.statement_set,)


def run_through_flink(cfg, pipeline: Pipeline, events: list[dict], timeout: float = 300.0,
                      raw_values: list[bytes | None] | None = None) -> FlinkRun:
    """`cfg` is the local settings (environments.settings.LocalSettings). `raw_values` are written as they
    are instead of `events` (what routing makes of records that are not events)."""
    prefix = f"diff-{uuid.uuid4().hex[:8]}"
    isolated, renamed = isolate(pipeline, prefix)
    kafka = KafkaClients(cfg.kafka)
    kafka.ensure_topic(isolated.source.topic, 1)
    if raw_values is None:
        kafka.produce_json(isolated.source.topic, events)
    else:
        kafka.produce_bytes(isolated.source.topic, raw_values)
    options = LocalOptions(bootstrap_servers=cfg.kafka_bootstrap, group_id=prefix, delivery_guarantee="at-least-once")
    job = compile_job(isolated, "local", local=options)
    for topic in job.output_topics:
        kafka.ensure_topic(topic, 1)
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
    return FlinkRun(job_id, routed, seconds, kafka.read_records_to_end(job.dead_letter_topic))
