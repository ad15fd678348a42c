"""pipeline-health's decisions, as plain functions over plain readings (no I/O).

Each component read by the adapters becomes one or more `Row`s: a state, a figure, and — when it is
unhealthy — one line saying what is wrong. The flow publishes the rows as a table and fails with the
problem lines. Healing is decided here too (whether a failed connector task is restarted now, later, or
no more), so that its bounds are tested without engines.

States: `ok`; `asleep` (stopped on purpose: the database by database-autostop, the connector it paused);
`healed` (was unhealthy, a heal action fixed it in this run); `alarm` (works, but a figure is past its
threshold); `unhealthy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pipeline.ports import ConnectorState

State = Literal["ok", "asleep", "healed", "alarm", "unhealthy"]
PROBLEM_STATES = frozenset({"alarm", "unhealthy"})

MIB = 1024 * 1024
#: group states of a working consumer: a rebalance (a member restarted, a dead one timed out) passes by itself
GROUP_WORKING = frozenset({"STABLE", "PREPARING_REBALANCING", "COMPLETING_REBALANCING"})


@dataclass(frozen=True)
class Thresholds:
    """When a working component still counts as a problem."""

    #: WAL the replication slot keeps on the server (the disk-growth risk of a stalled or slow connector)
    slot_retained_bytes: int = 1024 * MIB
    #: the newest checkpoint of the routing job older than this: it is stuck (interval is 500 ms locally)
    checkpoint_age_seconds: float = 120.0
    #: records a consumer group has not committed, summed over partitions
    consumer_lag: int = 50_000
    #: connector task restarts tried before giving up (across runs), and the first wait between them
    task_restart_limit: int = 5
    task_restart_backoff_seconds: float = 60.0


@dataclass(frozen=True)
class Row:
    component: str
    state: State
    figure: str
    problem: str | None = None

    @property
    def is_problem(self) -> bool:
        return self.state in PROBLEM_STATES


# --- readings (what the adapters return) -------------------------------------------------------------------

@dataclass(frozen=True)
class EngineReading:
    name: str
    alive: bool
    detail: str = ""  # pid, memory
    #: False when the engines were stopped on purpose (`./run stack down`): reported, never started again
    wanted: bool = True


@dataclass(frozen=True)
class RoutingReading:
    id: str
    name: str
    state: str  # RUNNING | RESTARTING | FAILED | ... (Flink); Confluent statement phases
    checkpoint_age_seconds: float | None = None  # None: no completed checkpoint (yet), or not reported
    restarts: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class GroupReading:
    consumer: str
    group: str
    topic: str
    process_alive: bool | None  # None: not a process this environment runs
    group_state: str  # STABLE | EMPTY | DEAD | ...
    lag: dict[int, int] = field(default_factory=dict)  # partition -> committed records not yet committed


@dataclass(frozen=True)
class SlotReading:
    name: str
    active: bool
    retained_bytes: int  # current WAL position − restart_lsn
    flush_lag_bytes: int  # current WAL position − confirmed_flush_lsn
    #: the connector's heartbeat table, when it was read (None: not read)
    heartbeat_table: str | None = None
    heartbeat_missing: bool = False
    #: seconds since the connector's heartbeat query last updated it (None: never, or not read)
    heartbeat_age_s: float | None = None


# --- rows ----------------------------------------------------------------------------------------------------

def engine_rows(engines: Sequence[EngineReading], *, database_asleep: bool, database_engine: str = "postgres") -> list[Row]:
    rows = []
    for e in engines:
        if e.alive:
            rows.append(Row(f"engine {e.name}", "ok", e.detail or "running"))
        elif e.name == database_engine and database_asleep:
            rows.append(Row(f"engine {e.name}", "asleep", "stopped by database-autostop; starts on demand"))
        elif not e.wanted:
            rows.append(Row(f"engine {e.name}", "unhealthy", "stopped (./run stack down)",
                            f"engine {e.name} is not running: the stack was stopped (./run stack up)"))
        else:
            rows.append(Row(f"engine {e.name}", "unhealthy", "not running", f"engine {e.name} is not running"))
    return rows


def connector_rows(name: str, state: ConnectorState | None, *, asleep: bool) -> list[Row]:
    if state is None:
        return [Row(f"connector {name}", "unhealthy", "missing",
                    f"connector {name!r} is not deployed (run deploy-pipeline)")]
    if asleep and state.state in ("PAUSED", "STOPPED"):
        return [Row(f"connector {name}", "asleep", f"{state.state} by database-autostop")]
    figure = f"{state.state}, tasks " + (", ".join(f"{t.id} {t.state}" for t in state.tasks) or "none")
    failure = state.failure()
    if failure:
        return [Row(f"connector {name}", "unhealthy", figure, failure)]
    if not state.running:
        return [Row(f"connector {name}", "unhealthy", figure, f"connector {name!r} is {state.state}, not RUNNING"
                    + ("" if state.tasks else " (no tasks)"))]
    return [Row(f"connector {name}", "ok", figure)]


def routing_rows(jobs: Sequence[RoutingReading], t: Thresholds) -> list[Row]:
    if not jobs:
        return [Row("routing job", "unhealthy", "none running", "no routing job is running: events wait in the raw topic")]
    rows = []
    for job in jobs:
        age = "no checkpoint yet" if job.checkpoint_age_seconds is None else f"checkpoint {job.checkpoint_age_seconds:.0f}s ago"
        restarts = "" if job.restarts is None else f", {job.restarts} restarts"
        figure = f"{job.state}, {age}{restarts}"
        what = f"routing job {job.name}"
        if job.state != "RUNNING":
            rows.append(Row(what, "unhealthy", figure,
                            f"{what} is {job.state}" + (f": {job.error}" if job.error else "")))
        elif job.checkpoint_age_seconds is not None and job.checkpoint_age_seconds > t.checkpoint_age_seconds:
            rows.append(Row(what, "alarm", figure, f"{what} has not completed a checkpoint for "
                            f"{job.checkpoint_age_seconds:.0f}s (threshold {t.checkpoint_age_seconds:.0f}s)"))
        else:
            rows.append(Row(what, "ok", figure))
    if len(jobs) > 1:
        rows.append(Row("routing job", "unhealthy", f"{len(jobs)} running",
                        f"{len(jobs)} routing jobs run at once: every event is routed {len(jobs)} times"))
    return rows


def group_rows(groups: Iterable[GroupReading], t: Thresholds) -> list[Row]:
    rows = []
    for g in groups:
        lag = sum(g.lag.values())
        per = ", ".join(f"p{p} {n}" for p, n in sorted(g.lag.items())) or "no partitions"
        figure = f"{g.group_state}, lag {lag} ({per})"
        what = f"consumer {g.consumer}"
        if g.process_alive is False:
            rows.append(Row(what, "unhealthy", figure, f"{what} is not running (group {g.group} on {g.topic})"))
        elif g.group_state not in GROUP_WORKING:
            rows.append(Row(what, "unhealthy", figure, f"{what}: group {g.group} is {g.group_state}, not STABLE"))
        elif lag > t.consumer_lag:
            rows.append(Row(what, "alarm", figure, f"{what} is {lag} records behind on {g.topic} "
                            f"(threshold {t.consumer_lag})"))
        else:
            rows.append(Row(what, "ok", figure))
    return rows


def slot_rows(name: str, slot: SlotReading | None, t: Thresholds, *, asleep: bool) -> list[Row]:
    what = f"replication slot {name}"
    if slot is None:
        if asleep:
            return [Row(what, "asleep", "database stopped")]
        return [Row(what, "unhealthy", "missing", f"{what} does not exist (run replication-setup)")]
    figure = (f"{'active' if slot.active else 'inactive'}, retains {_bytes(slot.retained_bytes)}, "
              f"confirmed-flush lag {_bytes(slot.flush_lag_bytes)}")
    if slot.heartbeat_table and slot.heartbeat_missing:
        figure += f", no {slot.heartbeat_table} table"
    elif slot.heartbeat_table:
        figure += (", no heartbeat yet" if slot.heartbeat_age_s is None
                   else f", heartbeat {slot.heartbeat_age_s:.0f}s ago")
    if slot.retained_bytes > t.slot_retained_bytes:
        return [Row(what, "alarm", figure, f"{what} retains {_bytes(slot.retained_bytes)} of WAL (threshold "
                    f"{_bytes(t.slot_retained_bytes)}): the connector is not confirming what it read")]
    if slot.heartbeat_table and slot.heartbeat_missing:
        # the connector's heartbeat query fails without it: the slot stops advancing while business_events is
        # idle, and Debezium restarts its stream at every heartbeat
        return [Row(what, "alarm", figure, f"the heartbeat table {slot.heartbeat_table} is missing (run replication-setup)")]
    return [Row(what, "ok", figure)]


def dlq_rows(counts: dict[str, int | None]) -> list[Row]:
    """Dead-letter topics and how many records each holds (a record there is a problem to look at)."""
    rows = []
    for topic, n in sorted(counts.items()):
        if n is None:
            rows.append(Row(f"dead letters {topic}", "ok", "no topic yet"))
        elif n > 0:
            rows.append(Row(f"dead letters {topic}", "alarm", f"{n} records",
                            f"{n} records in {topic}: read them with their reason and source offset"))
        else:
            rows.append(Row(f"dead letters {topic}", "ok", "0 records"))
    return rows


def registry_rows(subject: str, latest: dict | None) -> list[Row]:
    """The raw topic's value schema in Schema Registry (where tables are typed by it)."""
    what = f"schema registry {subject}"
    if latest is None:
        return [Row(what, "unhealthy", "missing", f"{what}: no schema registered (run provision)")]
    return [Row(what, "ok", f"version {latest.get('version', '?')}, id {latest.get('id', '?')}")]


def _bytes(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n} B"


# --- healing -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestartRecord:
    """What the health flow remembers between runs about restarting one connector task."""

    attempts: int = 0
    last_at: float | None = None  # epoch seconds of the last restart


def task_restart_decision(record: RestartRecord, now: float, t: Thresholds) -> tuple[str, str]:
    """('restart' | 'wait' | 'give-up', why): backoff doubles after each try; after the limit, give up."""
    if record.attempts >= t.task_restart_limit:
        return "give-up", f"gave up after {record.attempts} restarts"
    if record.last_at is not None:
        wait = t.task_restart_backoff_seconds * 2 ** (record.attempts - 1)
        if now - record.last_at < wait:
            return "wait", f"restart {record.attempts + 1} after {wait:.0f}s backoff ({now - record.last_at:.0f}s so far)"
    return "restart", f"restart {record.attempts + 1} of {t.task_restart_limit}"


def problems(rows: Iterable[Row]) -> list[str]:
    return [r.problem or f"{r.component}: {r.state}" for r in rows if r.is_problem]


def markdown(title: str, rows: Sequence[Row], healed: Sequence[str]) -> str:
    lines = [f"# {title}", "", "| component | state | figure |", "|---|---|---|"]
    lines += [f"| {r.component} | {r.state} | {r.figure.replace('|', '/')} |" for r in rows]
    if healed:
        lines += ["", "## Healing", ""] + [f"- {h}" for h in healed]
    found = problems(rows)
    if found:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in found]
    return "\n".join(lines)
