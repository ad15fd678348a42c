"""The ports: what the core needs from an environment, as small Protocols, bundled as one `Environment`.

The core (rollout, replication, smoke, provision, migration, inactivity) is written against these only.
Adapters live in `environments/` (local engines, Confluent Cloud, AWS); `environments.build(settings)` is the
one place that chooses them. Where targets behave differently the port says so with a capability flag
(`SUPPORTS_SAVEPOINTS`, `MASKS_SECRETS`, ...) and the core branches on the flag, never on a name.

Every method raises `pipeline.errors.PipelineError` subclasses only: `TransientError` for what is worth
retrying (unreachable, 429, 5xx, timeouts), a specific error with one clear line otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipeline.delivery import DEFAULT as DEFAULT_DELIVERY
from pipeline.delivery import DeliveryMode

if TYPE_CHECKING:
    from datetime import datetime

    from pipeline.activity import ActivityReading
    from pipeline.business_events import Change


# --- Kafka Connect ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskState:
    id: int
    state: str  # RUNNING | FAILED | PAUSED | UNASSIGNED | STOPPED (Confluent: free-form)
    error: str | None = None  # first line of the trace / msg of a failed task


@dataclass(frozen=True)
class ConnectorState:
    name: str
    state: str  # RUNNING | PAUSED | FAILED | UNASSIGNED | PROVISIONING | DEGRADED | STOPPED
    tasks: tuple[TaskState, ...] = ()
    error: str | None = None  # the connector's own trace, first line

    @property
    def running(self) -> bool:
        return self.state == "RUNNING" and bool(self.tasks) and all(t.state == "RUNNING" for t in self.tasks)

    def failure(self) -> str | None:
        """One line for the first FAILED connector or task, or None."""
        if self.state == "FAILED":
            return f"connector {self.name!r} FAILED: {self.error or 'no trace'}"
        for t in self.tasks:
            if t.state == "FAILED":
                return f"connector {self.name!r} task {t.id} FAILED: {t.error or 'no trace'}"
        return None


@runtime_checkable
class Connect(Protocol):
    """Kafka Connect: the open-source REST API locally, Confluent's managed connectors in the cloud."""

    #: secrets come back masked (`****`): "unchanged" must be decided without comparing them
    MASKS_SECRETS: bool

    def validate(self, name: str, config: dict[str, str]) -> list[str]: ...
    def config(self, name: str) -> dict[str, str] | None: ...
    def put_config(self, name: str, config: dict[str, str], *, deployed_fingerprint: str | None = None) -> str: ...
    def fingerprint(self, name: str, config: dict[str, str]) -> str: ...  # what put_config compares when masked
    def status(self, name: str) -> ConnectorState | None: ...
    def wait_running(self, name: str, timeout: float = 90.0) -> ConnectorState: ...
    def pause(self, name: str) -> None: ...
    def resume(self, name: str) -> None: ...
    def delete(self, name: str) -> bool: ...
    def offsets(self, name: str) -> list[dict]: ...  # [{"partition": {...}, "offset": {...}}]
    def create_with_offsets(self, name: str, config: dict[str, str], offsets: list[dict]) -> str: ...
    #: failed tasks can be restarted through the API (pipeline-health heals them); else only reported
    RESTARTS_FAILED_TASKS: bool
    def restart_failed(self, name: str) -> None: ...  # restart the connector's FAILED instances and tasks


# --- Flink routing jobs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunningJob:
    id: str  # Flink job id locally, the statement name in Confluent Cloud
    name: str
    fingerprint: str


@runtime_checkable
class RoutingJobs(Protocol):
    """Where the routing job runs: a Flink cluster through its SQL Gateway, or Confluent Flink statements.

    A switch is `stop(old)` -> `start(new, resume_from=token)`; the token is what carries the read position
    over: a savepoint path (SUPPORTS_SAVEPOINTS) or the old statement's name (`sql.tables.initial-offset-from`).
    """

    SUPPORTS_SAVEPOINTS: bool
    DIALECT: str  # the filters compiler's dialect: local | confluent

    def compile_options(self) -> dict: ...  # keyword arguments for filters.compiler.compile_job
    def running(self) -> list[RunningJob]: ...
    def validate(self, statements: Sequence[str]) -> None: ...
    def start(self, statements: Sequence[str], name: str, resume_from: str | None = None) -> str: ...
    def wait_running(self, job_id: str, timeout: float = 90.0) -> None: ...
    def stop(self, job: RunningJob) -> str: ...  # the resume token
    def restore(self, job: RunningJob, token: str, statements: Sequence[str] | None) -> str: ...  # running again
    def cancel(self, job_id: str) -> None: ...
    def exceptions(self, job_id: str) -> str | None: ...


@runtime_checkable
class RolloutStore(Protocol):
    """Durable records by key: each routing job submitted (fingerprint -> routes and statements, for plans and
    rollback) and each connector deployed where Connect masks secrets (`connector-<name>` -> fingerprint)."""

    def save(self, key: str, record: dict) -> None: ...
    def load(self, key: str) -> dict | None: ...


# --- Kafka, Schema Registry ---------------------------------------------------------------------------

class TopicWatcher(Protocol):
    def collect(self, want_ids: set[str], timeout: float = 60.0, min_per_id: int = 1) -> dict[str, list[dict]]: ...
    def close(self) -> None: ...


@runtime_checkable
class Kafka(Protocol):
    def ensure_topic(self, name: str, partitions: int) -> str: ...  # created | grown | unchanged (...)
    def group_active_on_topic(self, group: str, topic: str) -> bool: ...
    def wait_group_caught_up(self, group: str, topic: str, timeout: float = 120.0) -> None: ...
    def watch(self, topic: str) -> TopicWatcher: ...


@runtime_checkable
class SchemaRegistry(Protocol):
    def ensure_schema(self, subject: str, schema: dict) -> str: ...  # registered | unchanged
    def latest(self, subject: str) -> dict | None: ...  # {subject, version, id, schema, ...} or None


# --- Database and infrastructure ----------------------------------------------------------------------

@runtime_checkable
class Database(Protocol):
    """The PostgreSQL that holds business_events (local server or Aurora), reached with psycopg."""

    def where(self) -> str: ...  # host:port/dbname, for messages
    def server_settings(self, names: Iterable[str]) -> dict[str, str]: ...
    def execute_ddl(self, statements: Sequence[str]) -> None: ...  # one transaction
    def query(self, sql: str, params: Sequence | dict | None = None) -> list[tuple]: ...
    def execute(self, sql: str, params: Sequence | dict | None = None) -> None: ...
    def apply_changes(self, changes: Sequence[Change]) -> None: ...  # one transaction each; sets committed_ms


@dataclass(frozen=True)
class ResourceCheck:
    resource: str
    outcome: str  # started | reused | exists | missing | ...
    seconds: float = 0.0
    detail: str = ""


@runtime_checkable
class Infrastructure(Protocol):
    """The environment's servers: local processes started by the project, or cloud resources that must exist."""

    #: whether `ensure_up` starts servers (local) or only checks that provisioned ones exist (cloud)
    STARTS_SERVERS: bool

    def ensure_up(self) -> list[ResourceCheck]: ...
    def database_state(self) -> str: ...  # available | stopped | starting | stopping | ... (AWS vocabulary)
    def start_database(self) -> str: ...  # the state after the request
    def stop_database(self) -> str: ...
    def wait_available(self, timeout: float = 1200.0) -> str: ...  # "available", or raises naming the state seen
    def wait_stopped(self, timeout: float = 1200.0) -> str: ...  # "stopped", or raises naming the state seen
    def replication_problems(self) -> list[str]: ...  # cloud-side settings (e.g. rds.logical_replication), with the fix


@runtime_checkable
class ActivityMeter(Protocol):
    """The producer API's traffic as the auto-stop flow reads it: the local API's activity file, or the API's
    CloudWatch `Count`. Raises a `PipelineError` when it cannot tell (the flow then keeps the database running)."""

    def reading(self, since: datetime, until: datetime) -> ActivityReading: ...


@dataclass(frozen=True)
class Processed:
    """One event a consumer processed (what the smoke test counts, and its latency's end)."""

    id: str
    topic: str
    consumer: str
    processed_at_ms: int


@runtime_checkable
class ConsumerFleet(Protocol):
    def deploy(self) -> list[dict]: ...
    def processed(self) -> list[Processed]: ...
    def consumer_for(self, topic: str) -> str: ...  # the consumer reading `topic`, or "none"
    def stop(self) -> list[str]: ...


# --- pipeline-health ---------------------------------------------------------------------------------

@runtime_checkable
class HealthProbe(Protocol):
    """What pipeline-health reads and heals beyond the other ports: the engines this environment runs, the
    routing job with its figures and retained checkpoints, the consumer processes (pipeline/health.py has
    the readings' types)."""

    #: the engines are processes this environment starts, so a dead one can be started again
    RESTARTS_ENGINES: bool
    #: a lost routing job can be started again from its newest retained checkpoint
    RESTORES_FROM_CHECKPOINTS: bool

    def engines(self) -> list: ...  # [EngineReading]
    def start_engine(self, name: str) -> list[str]: ...  # one line per engine started (or started over)
    def routing(self) -> list: ...  # [RoutingReading] of the routing jobs that are not over
    def latest_checkpoint(self, job_id: str) -> str | None: ...
    def consumers_alive(self) -> dict[str, bool | None]: ...
    def start_consumers(self) -> list[str]: ...  # one line per consumer started


# --- the bundle ---------------------------------------------------------------------------------------

@dataclass
class Environment:
    """Everything a flow needs for one target, built by `environments.build(settings)`."""

    name: str
    kind: str  # local | cloud  (for messages only: the core branches on capabilities)
    database: Database
    connect: Connect
    routing: RoutingJobs
    kafka: Kafka
    rollout_store: RolloutStore
    infrastructure: Infrastructure
    consumers: ConsumerFleet
    #: how the filtered topics are delivered and read (pipeline/delivery.py)
    delivery: DeliveryMode = DEFAULT_DELIVERY
    schema_registry: SchemaRegistry | None = None  # only where tables are typed by a registry
    #: where the producer API's traffic is counted (None: nowhere this environment can read)
    activity: ActivityMeter | None = None
    #: the capture connector's (name, config) for a variant (None: the settings' variant) on this target;
    #: secrets as references or real values that only ever travel to the Connect API (never logged)
    connector_config: Callable[..., tuple[str, dict[str, str]]] | None = field(default=None, repr=False)
    #: what pipeline-health reads and heals beyond the ports above (None: only the ports above)
    health: HealthProbe | None = None
    closers: list = field(default_factory=list, repr=False)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
