"""The auto-stop and auto-start decisions (pure): every row of the table in pipeline/inactivity.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipeline.activity import ActivityReading
from pipeline.errors import ConfigError
from pipeline.inactivity import (autostart_verdict, autostop_verdict, capture_after_start, inactivity_window,
                                 refuse_protected)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
WINDOW = timedelta(hours=3)
CW = "CloudWatch AWS/ApiGateway Count {ApiName=cdc-dev}"
FILE = "activity file .state/api/activity.json"


def counted(n: float) -> ActivityReading:
    return ActivityReading(CW, requests=n)


def last_at(delta: timedelta | None) -> ActivityReading:
    return ActivityReading(FILE, last_request_at=None if delta is None else NOW - delta)


@pytest.mark.parametrize("state, reading, unreadable, busy, action, says", [
    ("stopped", counted(0), None, None, "nothing", "already stopped"),
    ("stopping", counted(0), None, None, "nothing", "stopping: it is only stopped from available"),
    ("starting", counted(0), None, None, "nothing", "only stopped from available"),
    ("modifying", None, None, None, "nothing", "modifying"),
    ("available", counted(0), None, "v2-debezium -> cdc-source-basic, 3 step(s) done", "keep-running",
     "never stop mid-migration"),
    ("available", None, "AccessDenied: cloudwatch:GetMetricStatistics", None, "keep-running", "fail-safe"),
    ("available", None, None, None, "keep-running", "no reading"),
    ("available", ActivityReading(CW), None, None, "keep-running", "has no record of any request"),
    ("available", last_at(None), None, None, "keep-running", "has no record of any request"),
    ("available", last_at(-timedelta(hours=1)), None, None, "keep-running", "clock skew"),
    ("available", counted(1), None, None, "keep-running", "1 request(s) in the last 3 h"),
    ("available", counted(0.5), None, None, "keep-running", "request(s)"),
    ("available", last_at(timedelta(hours=2, minutes=59)), None, None, "keep-running", "inside the 3 h window"),
    ("available", last_at(timedelta(hours=3)), None, None, "keep-running", "inside"),  # the window's edge counts
    ("available", counted(0), None, None, "stop", "no request in the last 3 h"),
    ("available", last_at(timedelta(hours=3, seconds=1)), None, None, "stop", "3 h 0 min ago, longer than 3 h"),
    ("available", last_at(timedelta(days=6)), None, None, "stop", "144 h 0 min ago"),
])
def test_autostop_decision_table(state, reading, unreadable, busy, action, says):
    verdict = autostop_verdict(state=state, window=WINDOW, now=NOW, reading=reading, unreadable=unreadable,
                               capture_busy=busy)
    assert verdict.action == action and says in verdict.reason, verdict
    assert verdict.figures["database state"] == state
    if reading is not None:
        assert verdict.figures["activity source"] == reading.source


def test_the_verdict_publishes_the_figures_it_used():
    v = autostop_verdict(state="available", window=WINDOW, now=NOW, reading=counted(0))
    assert v.figures == {"database state": "available", "window": "3 h (2026-12-04 09:00:00 – 12:00:00 UTC)",
                         "activity source": CW, "requests in window": "0", "newest request": "none recorded"}
    v = autostop_verdict(state="available", window=timedelta(seconds=2), now=NOW, reading=last_at(timedelta(seconds=5)))
    assert v.action == "stop" and v.figures["newest request"] == "2026-12-04 11:59:55 UTC"
    assert v.figures["requests in window"] == "not counted per window" and "2 s" in v.reason
    v = autostop_verdict(state="available", window=WINDOW, now=NOW, unreadable="CloudWatch unreachable")
    assert v.figures["activity"] == "unreadable: CloudWatch unreachable"


def test_prod_is_refused_and_the_window_is_checked():
    with pytest.raises(ConfigError, match="never runs on 'prod'"):
        refuse_protected("prod")
    for env in ("local", "dev", "staging"):
        refuse_protected(env)
    assert inactivity_window(3) == timedelta(hours=3) and inactivity_window(0.5) == timedelta(minutes=30)
    for bad in (0, -1, 169, float("nan"), "3", True):
        with pytest.raises(ConfigError, match="inactivity_hours"):
            inactivity_window(bad)


@pytest.mark.parametrize("state, action", [
    ("stopped", "start"), ("starting", "wait"), ("available", "ready"), ("stopping", "nothing"),
    ("modifying", "nothing"), ("failed", "nothing"), ("inaccessible-encryption-credentials", "nothing"),
])
def test_autostart_decision_table(state, action):
    verdict = autostart_verdict(state)
    assert verdict.action == action and state in verdict.reason + verdict.figures["database state"]


@pytest.mark.parametrize("connector_state, record, action, says", [
    ("STOPPED", {"connector": "c1"}, "resume", "paused by auto-stop"),
    ("PAUSED", {"connector": "c1"}, "resume", "resuming"),
    ("PAUSED", None, "nothing", "auto-stop did not pause it"),
    ("PAUSED", {}, "nothing", "left as it is"),
    ("PAUSED", {"connector": "another"}, "nothing", "did not pause it"),
    ("RUNNING", {"connector": "c1"}, "nothing", "RUNNING: nothing to resume"),
    ("FAILED", {"connector": "c1"}, "nothing", "FAILED"),
    (None, {"connector": "c1"}, "nothing", "does not exist"),
])
def test_capture_is_resumed_only_when_autostop_paused_it(connector_state, record, action, says):
    verdict = capture_after_start("c1", connector_state, record)
    assert verdict.action == action and says in verdict.reason
