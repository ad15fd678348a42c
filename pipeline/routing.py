"""The routing job an environment runs: the filters compiled in the dialect its RoutingJobs adapter speaks."""

from __future__ import annotations

from pathlib import Path

from filters.compiler import CompiledJob, compile_job
from filters.loader import load_pipeline
from pipeline.paths import FILTERS_FILE, display
from pipeline.ports import RoutingJobs


def routing_job(jobs: RoutingJobs, filters_file: Path = FILTERS_FILE) -> CompiledJob:
    pipeline = load_pipeline(filters_file)
    return compile_job(pipeline, jobs.DIALECT, source_name=display(filters_file), **jobs.compile_options())
