"""The routing job the local environment runs: filters/filters.yaml compiled for open-source Flink."""

from __future__ import annotations

from pathlib import Path

from filters.compiler import CompiledJob, LocalOptions, compile_job
from filters.loader import load_pipeline
from pipeline.settings import ROOT, Settings

FILTERS_FILE = ROOT / "filters" / "filters.yaml"


def local_options(cfg: Settings) -> LocalOptions:
    # exactly-once sinks: with stop-with-savepoint this is what makes a job switch lose and duplicate nothing
    return LocalOptions(bootstrap_servers=cfg.kafka_bootstrap, delivery_guarantee="exactly-once")


def local_job(cfg: Settings, filters_file: Path = FILTERS_FILE) -> CompiledJob:
    pipeline = load_pipeline(filters_file)
    return compile_job(pipeline, "local", local=local_options(cfg), source_name=_display(filters_file))


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
