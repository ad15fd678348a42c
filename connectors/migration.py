"""migrate-connector's core: switch the capture connector between variants with no event lost or duplicated.

Pure decisions (`plan_migration`, `consumer_impact`, `next_steps`) plus a runner written against the ports
(`Connect`, `RoutingJobs`, `Kafka`, `RolloutStore`), so the same steps run locally and in Confluent Cloud:

    pause-connector   nothing new is captured; changes wait in the replication slot
    drain-routing     the routing job reads the raw topic to its end: every record of the old shape is
                      routed by the SQL written for that shape
    stop-routing      the routing job stops (savepoint locally; a stopped statement in the cloud): the token
    switch-connector  locally the same connector gets the target variant's config (same slot, same offsets);
                      in the cloud the target-class connector is created from the old one's offsets (paused)
    start-routing     the routing job for the target's shape (cdcMetadata, or the derived -no-op routing)
                      starts from the token: it continues at exactly the old job's read position
    resume-connector  capture resumes in the target's shape
    verify            the smoke test, with the expectations of the target variant
    retire-old        cloud only: the old connector is deleted, only after verification

Every finished step is recorded (`RolloutStore`, key `migration-in-progress`), so a re-run after a failure
continues from the recorded step. A failure is undone step by step (the previous connector config and the
routing job restored from the token); when even that fails, the error says exactly what state is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from connectors.config import redacted
from connectors.variants import Variant
from pipeline.errors import ConnectorError, PipelineError
from pipeline.ports import Connect, Kafka, RolloutStore, RoutingJobs, RunningJob

#: rollout-store key of the variant that runs: written when a connector's config switches, read by every flow
VARIANT_KEY = "connector-variant"

STEPS = ("pause-connector", "drain-routing", "stop-routing", "switch-connector", "start-routing",
         "resume-connector", "verify", "retire-old")


class MigrationError(PipelineError):
    """A migration step failed; the message says what was restored or what state is left."""


@dataclass
class MigrationPlan:
    source: str
    target: str
    connector_before: str
    connector_after: str
    sql_before: str
    sql_after: str
    config_changes: list[tuple[str, str, str]]  # key, before, after (secrets masked)
    consumer_impact: list[str]
    steps: list[str]
    carries_by: str  # how the routing job's read position crosses the switch

    @property
    def action(self) -> str:
        return "none" if self.source == self.target else "migrate"

    def markdown(self, dry_run: bool) -> str:
        head = f"# migrate-connector: **{self.source} → {self.target}**" + (" (dry run)" if dry_run else "")
        if self.action == "none":
            return head + f"\n\nThe connector already runs variant `{self.target}`: nothing to do."
        lines = [head, "", f"- connector: `{self.connector_before}` → `{self.connector_after}`",
                 f"- routing SQL: `{self.sql_before}` → `{self.sql_after}`",
                 f"- read position carried by: {self.carries_by}", "", "## What changes for consumers", ""]
        lines += [f"- {line}" for line in self.consumer_impact] or ["- nothing: the records keep their shape"]
        lines += ["", "## Connector configuration changes", "", "| key | before | after |", "|---|---|---|"]
        lines += [f"| `{k}` | `{b}` | `{a}` |" for k, b, a in self.config_changes] or ["| — | — | — |"]
        lines += ["", "## Steps", ""] + [f"{i}. {s}" for i, s in enumerate(self.steps, 1)]
        return "\n".join(lines)


def consumer_impact(source: Variant, target: Variant) -> list[str]:
    """What a consumer (and a filter) sees change when records switch from `source`'s shape to `target`'s."""
    out = []
    if source.adds_cdc_metadata and not target.adds_cdc_metadata:
        out.append("`__op`, `__table`, `__ts_ms` disappear from raw-business-events; the routing switches to the "
                   "-no-op SQL, which takes every event as an insert: updates are routed like creates again, and "
                   "filters limited to other operations stop routing (the basic variant's known semantic difference)")
    if target.adds_cdc_metadata and not source.adds_cdc_metadata:
        out.append("`__op` becomes real: updates and deletes stop being routed as creates; filters limited to "
                   "`operations: [c]` now route inserts only, and `__op`/`__table`/`__ts_ms` appear in the records")
    gained = [f for f in target.cdc_fields if f not in source.cdc_fields]
    lost = [f for f in source.cdc_fields if f not in target.cdc_fields]
    if "__deleted" in gained or (source.deletes != target.deletes and target.deletes == "rewritten"):
        out.append("deletes start to arrive as the old row with `__op: d` and `__deleted: \"true\"`")
    if "__deleted" in lost or (source.deletes != target.deletes and target.deletes == "dropped"):
        out.append("deletes stop arriving (no row, no tombstone)")
    return out


def plan_migration(source: Variant, target: Variant, *, connector_before: str, connector_after: str,
                   config_before: dict[str, str], config_after: dict[str, str], sql_before: str, sql_after: str,
                   supports_savepoints: bool) -> MigrationPlan:
    """Pure: what switching from `source` to `target` changes and the steps it takes."""
    keys = sorted(set(config_before) | set(config_after))
    before, after = redacted(config_before), redacted(config_after)
    changes = [(k, before.get(k, "—"), after.get(k, "—")) for k in keys if config_before.get(k) != config_after.get(k)]
    steps = [s for s in STEPS if s != "retire-old" or connector_before != connector_after]
    return MigrationPlan(
        source=source.name, target=target.name, connector_before=connector_before, connector_after=connector_after,
        sql_before=sql_before, sql_after=sql_after, config_changes=changes,
        consumer_impact=consumer_impact(source, target), steps=steps if source.name != target.name else [],
        carries_by="a savepoint of the routing job (stop-with-savepoint, then start from it)" if supports_savepoints
        else "the stopped statement's offsets (`sql.tables.initial-offset-from`)")


@dataclass
class MigrationRecord:
    """What is recorded after every step, so a re-run continues and a failure can be undone."""

    source: str
    target: str
    done: list[str] = field(default_factory=list)
    token: str | None = None  # where the routing job stopped reading
    old_job: dict | None = None  # {"id", "name", "fingerprint"} of the routing job before the switch
    new_job: str | None = None
    started_at: float = field(default_factory=time.time)
    step_seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, store: RolloutStore, key: str) -> MigrationRecord | None:
        data = store.load(key)
        return cls(**data) if data else None

    def save(self, store: RolloutStore, key: str) -> None:
        store.save(key, asdict(self))


#: rollout-store key of the migration in progress (one at a time per environment)
MIGRATION_KEY = "migration-in-progress"


def record_key(connector: str | None = None) -> str:
    return MIGRATION_KEY


def pending_migration(store: RolloutStore) -> MigrationRecord | None:
    """The migration a failure interrupted, if any (a re-run continues it from its recorded step)."""
    return MigrationRecord.load(store, MIGRATION_KEY)


@dataclass
class Switch:
    """Everything the runner needs for one migration (built by the task from the environment)."""

    plan: MigrationPlan
    config_before: dict[str, str]
    config_after: dict[str, str]
    statements_after: tuple[str, ...]  # the routing job for the target's shape
    fingerprint_after: str
    job_name_after: str
    record_after: dict  # what the rollout store keeps for the new routing job
    raw_topic: str
    routing_group: str | None  # the routing job's consumer group (drain check), None where not observable
    verify: Callable[[], None]


def migrate(switch: Switch, *, connect: Connect, routing: RoutingJobs, kafka: Kafka, store: RolloutStore,
            log: Callable[[str], None] = print, drain_timeout: float = 120.0) -> MigrationRecord:
    """Run (or continue) the plan's steps; on a failure undo what was done, or say what state is left."""
    plan = switch.plan
    key = MIGRATION_KEY
    record = MigrationRecord.load(store, key)
    if record is None or (record.source, record.target) != (plan.source, plan.target):
        record = MigrationRecord(plan.source, plan.target)
    if (plan.steps and plan.connector_after != plan.connector_before and "switch-connector" not in record.done
            and connect.status(plan.connector_after) is not None):
        # checked before anything changes: undoing a failed create would otherwise delete a connector this
        # migration did not create (e.g. the one an unfinished migration left paused), and the record of
        # that unfinished migration would be overwritten
        raise MigrationError(f"migrate-connector {plan.source} → {plan.target}: connector {plan.connector_after} "
                             f"already exists (left paused by an unfinished migration?); nothing was changed",
                             fix=f"finish that migration first (re-run migrate-connector with its target), or delete "
                                 f"{plan.connector_after} if it is stale, then re-run")
    steps: dict[str, Callable[[], None]] = {
        "pause-connector": lambda: connect.pause(plan.connector_before),
        "drain-routing": lambda: _drain(kafka, switch, drain_timeout),
        "stop-routing": lambda: _stop_routing(routing, record),
        "switch-connector": lambda: _switch_connector(connect, switch),
        "start-routing": lambda: _start_routing(routing, store, switch, record),
        "resume-connector": lambda: connect.resume(plan.connector_after),
        "verify": switch.verify,
        "retire-old": lambda: connect.delete(plan.connector_before),
    }
    for step in plan.steps:
        if step in record.done:
            continue
        t0 = time.monotonic()
        log(f"migrate-connector: {step}")
        try:
            steps[step]()
        except PipelineError as err:
            raise MigrationError(_undo(step, err, switch, record, connect, routing, store, key)) from None
        record.step_seconds[step] = round(time.monotonic() - t0, 2)
        record.done.append(step)
        if step == "switch-connector":  # from here on the connector captures in the target's shape
            store.save(VARIANT_KEY, {"variant": plan.target})
        record.save(store, key)
    return record


def _drain(kafka: Kafka, switch: Switch, timeout: float) -> None:
    if switch.routing_group is None:
        return  # not observable (Confluent statements): the stopped statement's offsets carry the position
    kafka.wait_group_caught_up(switch.routing_group, switch.raw_topic, timeout=timeout)


def _stop_routing(routing: RoutingJobs, record: MigrationRecord) -> None:
    running = routing.running()
    if len(running) != 1:
        raise MigrationError(f"expected one running routing job, found {len(running)}",
                             fix="run flink-rollout first, then migrate-connector")
    record.old_job = {"id": running[0].id, "name": running[0].name, "fingerprint": running[0].fingerprint}
    record.token = routing.stop(running[0])


def _switch_connector(connect: Connect, switch: Switch) -> None:
    plan = switch.plan
    if plan.connector_after == plan.connector_before:
        connect.put_config(plan.connector_after, switch.config_after)  # same name: same slot, same offsets
        return
    offsets = connect.offsets(plan.connector_before)
    if not offsets:
        raise ConnectorError(f"connector {plan.connector_before!r} reports no offsets to start the new one from")
    connect.create_with_offsets(plan.connector_after, switch.config_after, offsets)
    connect.pause(plan.connector_after)


def _start_routing(routing: RoutingJobs, store: RolloutStore, switch: Switch, record: MigrationRecord) -> None:
    old = record.old_job
    if old and record.token and old["name"] == switch.job_name_after:
        # the routing SQL does not change (e.g. cdc-source-fixed -> v2-debezium: both carry __op), so the new
        # job IS the stopped one: it resumes from its token (locally the same start from the savepoint; in the
        # cloud the stopped statement is resumed in place, since a statement cannot carry offsets from itself)
        job_id = routing.restore(RunningJob(**old), record.token, switch.statements_after)
    else:
        job_id = routing.start(switch.statements_after, switch.job_name_after, resume_from=record.token)
    record.new_job = job_id
    routing.wait_running(job_id)
    store.save(switch.fingerprint_after, {**switch.record_after, "job_id": job_id})


def _undo(step: str, err: PipelineError, switch: Switch, record: MigrationRecord, connect: Connect,
          routing: RoutingJobs, store: RolloutStore, key: str) -> str:
    """Undo the steps done, newest first; return the one line the user sees."""
    plan = switch.plan
    done = set(record.done)
    problems: list[str] = []
    undone: list[str] = []  # what undoing did, for the one line

    def attempt(what: str, action: Callable[[], object], did: str, did_nothing: str | None = None) -> None:
        try:
            result = action()
        except PipelineError as again:
            problems.append(f"{what} failed ({again.message})")
        else:  # `did_nothing`: the action found nothing to undo (e.g. the connector was never created)
            undone.append(did_nothing if result is False and did_nothing else did)

    # in the cloud the old connector stays paused until retire-old deletes it: never left paused unsaid
    old_paused = (f"; the old connector {plan.connector_before} stays PAUSED until retire-old deletes it"
                  if plan.connector_before != plan.connector_after else "")
    if step == "resume-connector":
        # the new routing job already runs for the new shape: going forward is the safe way
        record.save(store, key)
        return (f"migrate-connector {plan.source} → {plan.target}: resume-connector failed ({err.message}); the "
                f"connector {plan.connector_after} is left PAUSED with variant {plan.target}'s config and the routing "
                f"job {record.new_job} runs for its shape — changes wait in the replication slot{old_paused}; re-run "
                f"migrate-connector to resume it")
    if step in ("verify", "retire-old"):
        # the new shape is already flowing: going back is a migration of its own, never a blind revert (in the
        # cloud it creates the old variant's connector anew from the new one's offsets: the paused one is stale)
        back = (f"delete {plan.connector_before} (its offsets are stale now) and run migrate-connector with target "
                f"{plan.source} to go back" if old_paused else
                f"re-run migrate-connector with target {plan.source} to go back")
        return (f"migrate-connector {plan.source} → {plan.target}: {step} failed ({err.message}); the connector "
                f"runs variant {plan.target} and the routing job {record.new_job} routes its shape{old_paused} — "
                f"{back}, or fix the cause and re-run to retry {step}")
    if "start-routing" in done or record.new_job:
        attempt(f"cancelling the new routing job {record.new_job}", lambda: routing.cancel(record.new_job),
                did=f"new routing job {record.new_job} cancelled")
    if "switch-connector" in done or step == "switch-connector":
        if plan.connector_after == plan.connector_before:
            attempt("restoring the previous connector config",
                    lambda: connect.put_config(plan.connector_before, switch.config_before),
                    did="previous connector config restored")
        else:
            attempt(f"deleting the new connector {plan.connector_after}", lambda: connect.delete(plan.connector_after),
                    did=f"new connector {plan.connector_after} deleted",
                    did_nothing=f"new connector {plan.connector_after} never created")
        if not problems:
            store.save(VARIANT_KEY, {"variant": plan.source})
    if step == "stop-routing" and not record.token and record.old_job:
        # the stop may have taken effect although waiting for it failed: never leave that unsaid
        old = RunningJob(**record.old_job)
        try:
            still_running = any(j.id == old.id for j in routing.running())
        except PipelineError as again:
            problems.append(f"checking whether the routing job {old.name} still runs failed ({again.message})")
            still_running = True
        if not still_running and not routing.SUPPORTS_SAVEPOINTS:
            record.token = old.id  # a stopped statement resumes in place from its own offsets
        elif not still_running:
            problems.append(f"the routing job {old.name} stopped but its savepoint is not known; start it again "
                            "with flink-rollout (it resumes from the routing group's committed offsets, which may "
                            "re-route up to one checkpoint of events)")
    if record.token and record.old_job:
        old = RunningJob(**record.old_job)
        previous = store.load(old.fingerprint)
        attempt(f"restoring the routing job {old.name}",
                lambda: routing.restore(old, record.token, previous["statements"] if previous else None),
                did=f"routing job {old.name} restored")
    if "pause-connector" in done or step != "pause-connector":
        attempt(f"resuming the connector {plan.connector_before}", lambda: connect.resume(plan.connector_before),
                did=f"connector {plan.connector_before} resumed")
    if problems:
        record.save(store, key)
        return (f"migrate-connector {plan.source} → {plan.target}: {step} failed ({err.message}) and undoing it did "
                f"not finish: {'; '.join(problems)}. Left: connector {plan.connector_before} "
                f"{'paused' if 'pause-connector' in done else 'as it was'}, routing job stopped at {record.token} — "
                f"re-run migrate-connector to continue from {step}, or with target {plan.source} to go back")
    store.save(key, {})  # undone: a re-run starts from the beginning
    return (f"migrate-connector {plan.source} → {plan.target}: {step} failed ({err.message}); undone "
            f"({'; '.join(undone) or 'nothing had changed yet'}) — the connector {plan.connector_before} runs variant "
            f"{plan.source} again and its routing job " + (f"was restored from {record.token}" if record.token
                                                             else "was never stopped"))
