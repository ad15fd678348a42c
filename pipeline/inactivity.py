"""The database inactivity shutdown and start on demand, as pure decisions over plain data.

`autostop_verdict` is the seed's auto-stop Lambda turned into a table (first matching row wins):

| database state  | capture        | activity in the window                    | verdict                          |
|-----------------|----------------|-------------------------------------------|----------------------------------|
| stopped         | any            | any                                       | nothing: already stopped         |
| not available   | any            | any                                       | nothing: stops only from available |
| available       | migration open | any                                       | keep running (never mid-migration) |
| available       | —              | unreadable (error)                        | keep running, say why (fail-safe)  |
| available       | —              | no record at all                          | keep running (doubt)             |
| available       | —              | newest request in the future (clock skew) | keep running (doubt)             |
| available       | —              | requests counted > 0, or newest request inside the window | keep running      |
| available       | —              | 0 requests counted, or newest request older than the window | stop           |

Protected environments (prod) never get here: `refuse_protected` stops the flow first.

`autostart_verdict`: stopped -> start; starting -> wait for it; available -> ready; anything else (stopping,
modifying, failed, ...) -> nothing, reported. `capture_after_start` decides whether the connector that the
auto-stop paused is resumed: only one that auto-stop paused (its record names it), never one a person or a
migration paused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.activity import ActivityReading
from pipeline.errors import ConfigError

#: environments whose database is never stopped for inactivity (the flow refuses them)
PROTECTED_ENVIRONMENTS = frozenset({"prod"})
DEFAULT_INACTIVITY_HOURS = 3.0
#: a newest request this far ahead of our clock is a clock problem, not traffic to trust
CLOCK_SKEW = timedelta(minutes=5)
#: the rollout-store key under which auto-stop records the connector it paused
AUTOSTOP_KEY = "database-autostop"


def refuse_protected(environment: str) -> None:
    if environment in PROTECTED_ENVIRONMENTS:
        raise ConfigError(f"database-autostop never runs on {environment!r}: its database is not stopped for "
                          f"inactivity", fix="run it on local, dev or staging")


def inactivity_window(hours: float) -> timedelta:
    if not isinstance(hours, (int, float)) or isinstance(hours, bool) or not hours > 0 or hours > 24 * 7:
        raise ConfigError(f"inactivity_hours={hours!r} is not a number of hours in (0, 168]",
                          fix="pass inactivity_hours, e.g. 3 (Aurora restarts a stopped cluster after 7 days anyway)")
    return timedelta(hours=hours)


@dataclass(frozen=True)
class Verdict:
    action: str  # stop | keep-running | nothing  (autostop);  start | wait | ready | nothing  (autostart)
    reason: str
    figures: dict[str, str] = field(default_factory=dict)  # what the decision used, for the artifact


def autostop_verdict(*, state: str, window: timedelta, now: datetime, reading: ActivityReading | None = None,
                     unreadable: str | None = None, capture_busy: str | None = None) -> Verdict:
    """Whether to stop the database now; see the table in the module docstring. `now` is timezone-aware."""
    since = now - window
    figures = {"database state": state, "window": f"{_hours(window)} ({since:%Y-%m-%d %H:%M:%S} – {now:%H:%M:%S} UTC)"}
    if reading is not None:
        figures["activity source"] = reading.source
        figures["requests in window"] = "not counted per window" if reading.requests is None else f"{reading.requests:g}"
        figures["newest request"] = (reading.last_request_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                                     if reading.last_request_at else "none recorded")
    if unreadable:
        figures["activity"] = f"unreadable: {unreadable}"
    if state == "stopped":
        return Verdict("nothing", "the database is already stopped", figures)
    if state != "available":
        return Verdict("nothing", f"the database is {state}: it is only stopped from available", figures)
    if capture_busy:
        return Verdict("keep-running", f"a connector migration is open ({capture_busy}): never stop mid-migration",
                       figures)
    if unreadable is not None or reading is None:
        return Verdict("keep-running", f"activity could not be read ({unreadable or 'no reading'}): "
                                       f"fail-safe, the database keeps running", figures)
    if not reading.known:
        return Verdict("keep-running", f"{reading.source} has no record of any request: cannot tell inactivity "
                                       f"from a missing metric, so the database keeps running", figures)
    last = reading.last_request_at
    if last is not None and last > now + CLOCK_SKEW:
        return Verdict("keep-running", f"the newest request ({last:%Y-%m-%d %H:%M:%S} UTC) is ahead of this clock: "
                                       f"clock skew, the database keeps running", figures)
    if reading.requests is not None and reading.requests > 0:
        return Verdict("keep-running", f"{reading.requests:g} request(s) in the last {_hours(window)}", figures)
    if last is not None and last >= since:
        return Verdict("keep-running", f"last request {_ago(now - last)} ago, inside the {_hours(window)} window",
                       figures)
    if reading.requests == 0:
        return Verdict("stop", f"no request in the last {_hours(window)}", figures)
    return Verdict("stop", f"last request {_ago(now - last)} ago, longer than {_hours(window)}", figures)


STARTABLE = "stopped"
SETTLING_TO_AVAILABLE = frozenset({"starting"})


def autostart_verdict(state: str) -> Verdict:
    figures = {"database state": state}
    if state == STARTABLE:
        return Verdict("start", "the database is stopped: starting it", figures)
    if state in SETTLING_TO_AVAILABLE:
        return Verdict("wait", "the database is already starting: waiting for it", figures)
    if state == "available":
        return Verdict("ready", "the database is already available", figures)
    return Verdict("nothing", f"the database is {state}: it is only started from stopped; nothing done "
                              f"(ask again once it has settled)", figures)


def capture_after_start(connector: str, connector_state: str | None, record: dict | None) -> Verdict:
    """Resume the connector only if auto-stop paused it (its record names it) and it is still paused/stopped."""
    paused_by_us = bool(record) and record.get("connector") == connector
    figures = {"connector": connector, "connector state": connector_state or "absent",
               "paused by auto-stop": "yes" if paused_by_us else "no"}
    if connector_state is None:
        return Verdict("nothing", f"connector {connector} does not exist: nothing to resume", figures)
    if connector_state in ("PAUSED", "STOPPED"):
        if paused_by_us:
            return Verdict("resume", f"connector {connector} was paused by auto-stop: resuming it", figures)
        return Verdict("nothing", f"connector {connector} is {connector_state} but auto-stop did not pause it: "
                                  f"left as it is", figures)
    return Verdict("nothing", f"connector {connector} is {connector_state}: nothing to resume", figures)


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{window.total_seconds():g} s"


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 3600} h {seconds % 3600 // 60} min" if seconds >= 3600 else f"{seconds // 60} min {seconds % 60} s"
