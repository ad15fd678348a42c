"""Exit-code discipline for every command-line entry: 0 ok, 1 expected failure, 2 crash.

An expected failure (any PipelineError) prints one line to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn, TextIO

from pipeline.errors import PipelineError


def run_tool(body: Callable[[], int], err: TextIO) -> int:
    """`run_cli` for the tools that write to an injectable stream: the error line without a prefix, and
    argparse's own exit (`--help`, a usage mistake) passed through."""
    try:
        return body()
    except PipelineError as exc:
        print(str(exc), file=err)
        return exc.exit_code
    except SystemExit as exc:  # argparse
        return int(exc.code or 0)
    except Exception:  # a bug: show everything
        traceback.print_exc(file=err)
        return 2


def run_cli(body: Callable[[], int]) -> int:
    try:
        return body()
    except PipelineError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a crash: keep the traceback for the bug report
        traceback.print_exc()
        print(f"crash: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


class UsageParser(argparse.ArgumentParser):
    """argparse whose usage mistakes are expected failures (exit 1, one line), not crashes (argparse's 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")
