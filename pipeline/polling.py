"""One way to wait for a condition: poll a check until it yields a value or the deadline passes.

Every "wait until X" in the project goes through `poll_until`, so timeouts read the same everywhere and a
check can end the wait early by raising (a FAILED task, a job that restarts) instead of being waited out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pipeline.errors import PipelineError, TransientError

T = TypeVar("T")


def poll_until(check: Callable[[], T | None], *, timeout: float, every: float = 0.5, what: str,
               last: Callable[[], str] | None = None, error: type[PipelineError] = TransientError,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """Call `check` until it returns something other than None/False; return that.

    Raises `error` naming `what` (and `last()`, the last thing seen, when given) after `timeout` seconds.
    A `TransientError` from `check` counts as "not yet"; any other error ends the wait at once.
    """
    deadline = clock() + timeout
    while True:
        try:
            value = check()
        except TransientError:
            value = None
        if value is not None and value is not False:
            return value
        if clock() >= deadline:
            seen = f" ({last()})" if last else ""
            raise error(f"{what} not reached after {timeout:.0f}s{seen}")
        sleep(every)


def holds_within(condition: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    """True once `condition()` holds, False after `timeout` seconds: for waits whose expiry is an answer,
    not an error (a process that ignores SIGTERM, a topic read until quiet)."""
    try:
        poll_until(condition, timeout=timeout, every=every, what="condition")
        return True
    except TransientError:
        return False
