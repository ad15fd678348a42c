"""Retry policy shared by every task: back off and retry transient errors only."""

from __future__ import annotations

from pipeline.errors import PipelineError

RETRY_DELAYS = [1, 3, 9]


def only_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry a TransientError (or a network-level error), never a real failure.

    Only connection-level OSErrors count: a FileNotFoundError or PermissionError will not heal by waiting.
    """
    try:
        state.result()
    except PipelineError as err:
        return err.transient
    except (ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False


TRANSIENT_RETRIES = {"retries": len(RETRY_DELAYS), "retry_delay_seconds": RETRY_DELAYS,
                     "retry_condition_fn": only_transient}
