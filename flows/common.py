"""What every flow shares: settings for the chosen environment and a markdown run summary."""

from __future__ import annotations

import sys
from collections.abc import Callable

from prefect.artifacts import create_markdown_artifact

from pipeline.cli import run_cli
from pipeline.settings import Settings, load_settings


def settings_for(environment: str) -> Settings:
    return load_settings(environment)


def publish_summary(key: str, title: str, rows: list[tuple[str, str]]) -> None:
    """A small markdown table on the flow run (never put secrets in rows)."""
    lines = [f"# {title}", "", "| step | result |", "|---|---|"]
    lines += [f"| {step} | {str(result).replace('|', '/')} |" for step, result in rows]
    create_markdown_artifact(key=key, markdown="\n".join(lines), description=title)


def main(flow_fn: Callable, **kwargs) -> None:
    """Run a flow from the command line with our exit codes and a one-line error."""

    def body() -> int:
        flow_fn(**kwargs)
        return 0

    sys.exit(run_cli(body))
