"""pipeline-health's pure decisions: rows, problems, and the bounded restart of a failed connector task."""

from __future__ import annotations

from pipeline.health import (MIB, EngineReading, GroupReading, RestartRecord, RoutingReading, SlotReading,
                             Thresholds, connector_rows, dlq_rows, engine_rows, group_rows, markdown, problems,
                             routing_rows, slot_rows, task_restart_decision)
from pipeline.ports import ConnectorState, TaskState

T = Thresholds()


def test_a_dead_engine_is_a_problem_but_the_database_stopped_by_autostop_is_asleep():
    engines = [EngineReading("postgres", False), EngineReading("kafka", True, "pid 7"), EngineReading("connect", False)]
    rows = engine_rows(engines, database_asleep=True)
    assert [r.state for r in rows] == ["asleep", "ok", "unhealthy"]
    assert problems(rows) == ["engine connect is not running"]
    assert engine_rows([EngineReading("postgres", False)], database_asleep=False)[0].state == "unhealthy"
    (down,) = engine_rows([EngineReading("kafka", False, wanted=False)], database_asleep=False)
    assert down.figure == "stopped (./run stack down)" and "./run stack up" in down.problem


def test_a_failed_task_names_its_error_and_a_paused_connector_is_only_fine_while_asleep():
    failed = ConnectorState("c", "RUNNING", (TaskState(0, "FAILED", "org.postgresql.util.PSQLException: gone"),))
    (row,) = connector_rows("c", failed, asleep=False)
    assert row.state == "unhealthy" and "task 0 FAILED: org.postgresql.util.PSQLException: gone" in row.problem
    paused = ConnectorState("c", "PAUSED", (TaskState(0, "PAUSED"),))
    assert connector_rows("c", paused, asleep=True)[0].state == "asleep"
    stopped = ConnectorState("c", "STOPPED", ())
    assert connector_rows("c", stopped, asleep=True)[0].figure == "STOPPED by database-autostop"
    assert connector_rows("c", paused, asleep=False)[0].problem == "connector 'c' is PAUSED, not RUNNING"
    assert "not deployed" in connector_rows("c", None, asleep=False)[0].problem
    ok = ConnectorState("c", "RUNNING", (TaskState(0, "RUNNING"),))
    assert connector_rows("c", ok, asleep=False)[0].figure == "RUNNING, tasks 0 RUNNING"


def test_routing_job_missing_failed_stuck_or_doubled():
    assert problems(routing_rows([], T)) == ["no routing job is running: events wait in the raw topic"]
    failed = RoutingReading("j1", "routing-abc", "RESTARTING", 3.0, 4, "java.lang.Exception: boom")
    assert problems(routing_rows([failed], T)) == ["routing job routing-abc is RESTARTING: java.lang.Exception: boom"]
    stuck = RoutingReading("j1", "routing-abc", "RUNNING", 600.0, 0)
    assert routing_rows([stuck], T)[0].state == "alarm"
    fine = RoutingReading("j1", "routing-abc", "RUNNING", 0.4, 0)
    assert routing_rows([fine], T)[0].figure == "RUNNING, checkpoint 0s ago, 0 restarts"
    assert "routed 2 times" in problems(routing_rows([fine, fine], T))[0]


def test_consumers_dead_unbalanced_or_behind():
    dead = GroupReading("car", "car-group", "filtered-car", False, "EMPTY", {0: 3})
    behind = GroupReading("loan", "loan-group", "filtered-loan", True, "STABLE", {0: 40_000, 1: 20_000})
    fine = GroupReading("svc", "svc-group", "filtered-svc", True, "STABLE", {0: 0, 1: 2})
    rows = group_rows([dead, behind, fine], T)
    assert [r.state for r in rows] == ["unhealthy", "alarm", "ok"]
    assert rows[1].figure == "STABLE, lag 60000 (p0 40000, p1 20000)"
    assert "not running" in rows[0].problem
    rebalancing = GroupReading("svc", "svc-group", "filtered-svc", True, "PREPARING_REBALANCING", {0: 0})
    empty = GroupReading("svc", "svc-group", "filtered-svc", True, "EMPTY", {0: 0})
    assert [r.state for r in group_rows([rebalancing, empty], T)] == ["ok", "unhealthy"]


def test_slot_lag_above_the_threshold_is_an_alarm():
    slot = SlotReading("s", True, 2048 * MIB, 10)
    (row,) = slot_rows("s", slot, T, asleep=False)
    assert row.state == "alarm" and "retains 2048.0 MiB" in row.problem
    assert slot_rows("s", SlotReading("s", True, 100, 0), T, asleep=False)[0].figure == (
        "active, retains 100 B, confirmed-flush lag 0 B")
    assert slot_rows("s", None, T, asleep=True)[0].state == "asleep"
    assert slot_rows("s", None, T, asleep=False)[0].state == "unhealthy"


def test_the_slot_row_shows_the_heartbeat_and_a_missing_heartbeat_table_is_an_alarm():
    beating = slot_rows("s", SlotReading("s", True, 100, 0, "cdc_heartbeat", False, 4.4), T, asleep=False)[0]
    assert (beating.state, beating.figure) == ("ok", "active, retains 100 B, confirmed-flush lag 0 B, heartbeat 4s ago")
    assert slot_rows("s", SlotReading("s", True, 100, 0, "cdc_heartbeat", False, None), T, asleep=False)[0].figure.endswith(
        ", no heartbeat yet")
    (missing,) = slot_rows("s", SlotReading("s", True, 100, 0, "cdc_heartbeat", True), T, asleep=False)
    assert missing.state == "alarm" and missing.problem == (
        "the heartbeat table cdc_heartbeat is missing (run replication-setup)")


def test_dead_letters_are_counted_and_any_is_an_alarm():
    rows = dlq_rows({"raw-business-events.dlq": 2, "filtered-car.dlq": 0, "x.dlq": None})
    assert [(r.component, r.state) for r in rows] == [
        ("dead letters filtered-car.dlq", "ok"), ("dead letters raw-business-events.dlq", "alarm"),
        ("dead letters x.dlq", "ok")]


def test_task_restarts_back_off_and_give_up_after_the_limit():
    t = Thresholds(task_restart_limit=3, task_restart_backoff_seconds=60)
    assert task_restart_decision(RestartRecord(), 1000, t)[0] == "restart"
    assert task_restart_decision(RestartRecord(1, 1000), 1030, t)[0] == "wait"  # 60 s after the first
    assert task_restart_decision(RestartRecord(1, 1000), 1061, t)[0] == "restart"
    assert task_restart_decision(RestartRecord(2, 1000), 1100, t)[0] == "wait"  # 120 s after the second
    assert task_restart_decision(RestartRecord(2, 1000), 1121, t)[0] == "restart"
    assert task_restart_decision(RestartRecord(3, 1000), 99999, t) == ("give-up", "gave up after 3 restarts")


def test_the_artifact_lists_rows_heals_and_problems():
    rows = engine_rows([EngineReading("kafka", True, "pid | 7"), EngineReading("connect", False)], database_asleep=False)
    text = markdown("pipeline-health (local)", rows, ["engine connect restarted"])
    assert "| engine kafka | ok | pid / 7 |" in text
    assert "## Healing\n\n- engine connect restarted" in text
    assert text.endswith("## Problems\n\n- engine connect is not running")


def test_the_raw_schema_missing_from_the_registry_is_a_problem():
    from pipeline.health import registry_rows
    assert registry_rows("raw-value", {"version": 3, "id": 100017})[0].figure == "version 3, id 100017"
    assert registry_rows("raw-value", None)[0].problem == "schema registry raw-value: no schema registered (run provision)"
