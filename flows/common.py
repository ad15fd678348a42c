"""What every flow shares: settings for the chosen environment and a markdown run summary."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from prefect.artifacts import create_markdown_artifact

from pipeline.cli import run_cli
from pipeline.errors import PipelineError
from tasks.env import ENVIRONMENTS, settings_for

__all__ = ["main", "publish_summary", "settings_for"]


def publish_summary(key: str, title: str, rows: list[tuple[str, str]]) -> None:
    """A small markdown table on the flow run (never put secrets in rows)."""
    lines = [f"# {title}", "", "| step | result |", "|---|---|"]
    lines += [f"| {step} | {str(result).replace('|', '/')} |" for step, result in rows]
    create_markdown_artifact(key=key, markdown="\n".join(lines), description=title)


class _NoPipelineTraceback(logging.Filter):
    """On the console an expected failure is one line; the run's logs in the Prefect API keep the detail."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PipelineError):
            record.exc_info = None
            record.exc_text = None
            if "Traceback" in str(record.msg):
                record.msg = str(record.msg).split("\n", 1)[0]
        return True


def quiet_console_tracebacks() -> None:
    """Prefect's console handler sits on the root logger; its API handler (run logs) is untouched."""
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in ("prefect", "prefect._internal")]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not any(
                    isinstance(f, _NoPipelineTraceback) for f in handler.filters):
                handler.addFilter(_NoPipelineTraceback())


# also when a Prefect worker's run process imports a flow module without going through main()
quiet_console_tracebacks()


def main(flow_fn: Callable, add_arguments: Callable | None = None) -> None:
    """Run a flow from the command line (`--environment` and the flow's own options), with our exit codes and
    a one-line error."""
    import argparse

    module = flow_fn.__module__
    if module == "__main__":  # run as `python -m flows.x`: the module's real name
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec else module
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=flow_fn.description)
    parser.add_argument("--environment", default="local", choices=list(ENVIRONMENTS))
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()

    def body() -> int:
        quiet_console_tracebacks()
        flow_fn(**vars(args))
        return 0

    sys.exit(run_cli(body))
