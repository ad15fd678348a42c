"""Check generated statements against the local Flink SQL Gateway, when one is running.

`python -m filters validate` calls `explain_statements` after the YAML is valid, but only when
`gateway_reachable()` finds the gateway: Flink then parses and plans every statement (DDL in a
throw-away session, EXPLAIN of the statement set); nothing is started.
"""

from __future__ import annotations

from collections.abc import Sequence


def _gateway_url() -> str:
    from pipeline.settings import local_ports

    return f"http://127.0.0.1:{local_ports()['sql_gateway']}"


def gateway_reachable() -> bool:
    from pipeline.flink_gateway import SqlGateway

    return SqlGateway(_gateway_url()).reachable()


def explain_statements(statements: Sequence[str]) -> None:
    """Raise FlinkError (a PipelineError) with Flink's message when it rejects a statement."""
    from pipeline.rollout import validate

    validate(_gateway_url(), tuple(statements))
