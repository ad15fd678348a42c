"""The producer API's activity as the local auto-stop flow reads it: a request count and the last request's time.

Stored as one small JSON file under the state folder (`.state/api/activity.json`), written by the API
(`api.activity.FileActivity`) and read here. A file rather than an `api_activity` table: counting in the
database would add a write (and one hot row every request contends on) to each request, would need the
database up to count a request it cannot serve, and would make the flow that decides whether to stop the
database depend on that database. Prometheus' `/metrics` has the same count, but it lives in the API
process and is gone with it. In the cloud the count is CloudWatch's (`environments/aws/activity.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class Activity:
    count: int  # accepted requests since the file was created
    last_request_ms: int | None  # epoch milliseconds of the latest one, None: never

    @property
    def last_request_at(self) -> datetime | None:
        if self.last_request_ms is None:
            return None
        return datetime.fromtimestamp(self.last_request_ms / 1000, tz=timezone.utc)

    def to_json(self) -> str:
        return json.dumps({"count": self.count, "last_request_ms": self.last_request_ms,
                           "last_request_at": self.last_request_at.isoformat() if self.last_request_at else None})

    def plus(self, count: int, last_request_ms: int | None) -> Activity:
        """This activity with `count` more requests, the latest at `last_request_ms`."""
        latest = max(v for v in (self.last_request_ms, last_request_ms, -1) if v is not None)
        return Activity(self.count + count, None if latest < 0 else latest)


NONE = Activity(0, None)


def parse_activity(text: str | None) -> Activity:
    """Pure: the activity file's content (None or empty: no request yet). A damaged file raises ValueError."""
    if not text or not text.strip():
        return NONE
    data = json.loads(text)
    count, last = data.get("count"), data.get("last_request_ms")
    if not isinstance(count, int) or count < 0 or not (last is None or isinstance(last, int)):
        raise ValueError(f"not an activity record: {text[:80]!r}")
    return Activity(count, last)


def last_activity(path: Path) -> Activity:
    """The activity recorded in `path` (no file: no request yet). Reads only; a damaged file raises ValueError."""
    try:
        return parse_activity(path.read_text())
    except FileNotFoundError:
        return NONE


@dataclass(frozen=True)
class ActivityReading:
    """What an activity source says about the producer API's traffic, as the auto-stop verdict uses it.

    `requests`: accepted requests counted inside the asked window (CloudWatch's Sum), or None where the source
    does not count per window (the local file keeps a running total). `last_request_at`: the newest request
    the source knows of, or None. Both None: the source has no record at all — a doubt, not "no traffic".
    """

    source: str  # where it was read, for the artifact: "activity file ...", "CloudWatch AWS/ApiGateway Count ..."
    requests: float | None = None
    last_request_at: datetime | None = None

    @property
    def known(self) -> bool:
        return self.requests is not None or self.last_request_at is not None


def reading_from_file(path: Path) -> ActivityReading:
    """The local API's activity file as a reading (no file: no record yet; a damaged file raises ValueError)."""
    found = last_activity(path)
    return ActivityReading(source=f"activity file {path}", requests=None, last_request_at=found.last_request_at)
