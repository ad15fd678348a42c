import pytest

from pipeline.errors import FlinkError
from environments.local.flink import stable_plan
from pipeline.rollout import make_plan

ROUTES = {"a": {"output_topic": "ta", "where": "x = 1"}, "b": {"output_topic": "tb", "where": None}}


def job(fp, jid="j1"):
    return {"id": jid, "name": f"business-events-routing@{fp}", "fingerprint": fp}


def test_nothing_running_starts_every_route():
    plan = make_plan("f1", ROUTES, [], None)
    assert plan.action == "start" and plan.added == ["a", "b"]


def test_same_fingerprint_running_does_nothing():
    plan = make_plan("f1", ROUTES, [job("f1")], ROUTES)
    assert plan.action == "none" and plan.unchanged == ["a", "b"]


def test_replace_names_added_changed_removed_unchanged():
    before = {"a": {"output_topic": "ta", "where": "x = 2"}, "c": {"output_topic": "tc", "where": None},
              "b": ROUTES["b"]}
    plan = make_plan("f2", ROUTES, [job("f1")], before)
    assert (plan.action, plan.added, plan.changed, plan.removed, plan.unchanged) == ("replace", [], ["a"], ["c"], ["b"])
    assert "| a | changed | ta | `x = 1` |" in plan.markdown(ROUTES)


def test_unknown_running_job_treats_every_route_as_changed():
    plan = make_plan("f2", ROUTES, [job("zz")], None)
    assert plan.action == "replace" and plan.changed == ["a", "b"] and not plan.previous_known


def _plan(offset):
    src, calc1, sink1, calc2, sink2 = (offset + i for i in range(5))
    return {"nodes": [{"id": src, "type": "stream-exec-table-source-scan_1"},
                      {"id": calc1, "type": "stream-exec-calc_1"},
                      {"id": sink1, "type": "stream-exec-sink_2", "dynamicTableSink": {"table": {"identifier": "t1"}}},
                      {"id": calc2, "type": "stream-exec-calc_1"},
                      {"id": sink2, "type": "stream-exec-sink_2", "dynamicTableSink": {"table": {"identifier": "t2"}}}],
            "edges": [{"source": src, "target": calc1}, {"source": calc1, "target": sink1},
                      {"source": src, "target": calc2}, {"source": calc2, "target": sink2}]}


def test_stable_plan_ids_do_not_depend_on_the_gateways_counter():
    a, b = stable_plan(_plan(146)), stable_plan(_plan(9000))
    assert a == b
    assert a["nodes"][0]["id"] == 1
    # a route's nodes keep their ids when another route is removed
    only_t2 = _plan(7)
    only_t2["nodes"] = [n for n in only_t2["nodes"] if n["id"] not in (8, 9)]
    only_t2["edges"] = [e for e in only_t2["edges"] if e["target"] not in (8, 9)]
    ids = {n.get("dynamicTableSink", {}).get("table", {}).get("identifier"): n["id"] for n in stable_plan(only_t2)["nodes"]}
    assert ids["t2"] == {n.get("dynamicTableSink", {}).get("table", {}).get("identifier"): n["id"] for n in a["nodes"]}["t2"]


def test_plan_with_two_json_scans_of_the_raw_topic_is_refused():
    plan = _plan(1)
    plan["nodes"].append({"id": 99, "type": "stream-exec-table-source-scan_1"})
    with pytest.raises(FlinkError, match="expected one scan of the raw topic as JSON"):
        stable_plan(plan)


def _with_dead_letters(start: int) -> dict:
    """_plan plus the dead letters: a scan of the raw topic as bytes and one of the JSON scan, each into the
    same dead-letter sink table."""
    plan = _plan(start)
    src = plan["nodes"][0]["id"]
    raw, c1, s1, c2, s2 = (start + 10 + i for i in range(5))
    unparsed = {"table": {"identifier": "`default_catalog`.`default_database`.`raw-unparsed`"}}
    dlq = {"table": {"identifier": "dlq"}}
    plan["nodes"] += [{"id": raw, "type": "stream-exec-table-source-scan_1", "scanTableSource": unparsed},
                      {"id": c1, "type": "stream-exec-calc_1"},
                      {"id": s1, "type": "stream-exec-sink_2", "dynamicTableSink": dlq},
                      {"id": c2, "type": "stream-exec-calc_1"},
                      {"id": s2, "type": "stream-exec-sink_2", "dynamicTableSink": dlq}]
    plan["edges"] += [{"source": raw, "target": c1}, {"source": c1, "target": s1},
                      {"source": src, "target": c2}, {"source": c2, "target": s2}]
    return plan


def test_the_dead_letter_scan_and_two_inserts_into_one_table_get_stable_distinct_ids():
    a, b = stable_plan(_with_dead_letters(146)), stable_plan(_with_dead_letters(9000))
    assert a == b
    ids = [n["id"] for n in a["nodes"]]
    assert len(set(ids)) == len(ids) and a["nodes"][0]["id"] == 1
    # the routes' ids are those of the plan without dead letters: an old savepoint still maps onto them
    plain = {n.get("dynamicTableSink", {}).get("table", {}).get("identifier"): n["id"] for n in stable_plan(_plan(3))["nodes"]}
    mine = {n.get("dynamicTableSink", {}).get("table", {}).get("identifier"): n["id"] for n in a["nodes"]}
    assert mine["t1"] == plain["t1"] and mine["t2"] == plain["t2"]
