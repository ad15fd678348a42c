"""One error root for everything a user can get wrong or the platform can hit.

Each error renders as a single line (`str(err)`) that names what is wrong, where, and the fix when
there is one. Entry points print that line instead of a traceback and exit with `exit_code`.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every expected failure. `exit_code` 1 = expected failure (bad input, failed check)."""

    exit_code = 1
    #: transient errors are the only ones retried by tasks
    transient = False

    def __init__(self, message: str, *, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.fix:
            text += f" — fix: {' '.join(self.fix.split())}"
        return text


class ConfigError(PipelineError):
    """Invalid user input: YAML, settings, connector configuration."""


class EnvironmentProblem(PipelineError):
    """The machine is not ready: missing Java or binary, busy port, unreachable engine."""


class TransientError(PipelineError):
    """Worth retrying with backoff: a server still starting, a connection reset."""

    transient = True


class DatabaseError(PipelineError):
    """PostgreSQL refused something: connection, credentials, settings, DDL."""


class ConnectorError(PipelineError):
    """Kafka Connect rejected a configuration or a connector/task FAILED."""


class FlinkError(PipelineError):
    """Flink or its SQL Gateway rejected a statement or a job failed."""


class AwaitingApproval(PipelineError):
    """A run stopped on purpose: what it would change was published and needs an explicit approval."""


class DeployBusy(PipelineError):
    """Another deploy of the same environment held its slot for longer than this run would wait."""


class Unhealthy(PipelineError):
    """pipeline-health found problems: one line per problem (kept as lines, not folded into one)."""

    def one_line(self) -> str:
        lines = [" ".join(line.split()) for line in self.message.splitlines() if line.strip()]
        text = "\n  ".join(lines)
        if self.fix:
            text += f"\n  fix: {' '.join(self.fix.split())}"
        return text
