"""Counting accepted requests where the auto-stop flow can read them (`pipeline.activity.last_activity`).

`FileActivity` counts in memory and merges the new requests into the activity file at most once per
`flush_every` seconds (default 1 s) and at shutdown — under an exclusive lock and by atomic replace, so
several API processes can share one file and a reader never sees half a record. Durable within one flush
interval: a killed process loses at most its last second of counts, which an inactivity window of hours
cannot notice, while a write per request would put file I/O on every request's path.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from pipeline.activity import Activity, last_activity


class FileActivity:
    def __init__(self, path: Path, flush_every: float = 1.0):
        self.path = path
        self.flush_every = flush_every
        self._lock = threading.Lock()
        self._pending = 0
        self._last_ms: int | None = None

    def record(self, now_ms: int | None = None) -> None:
        with self._lock:
            self._pending += 1
            self._last_ms = now_ms if now_ms is not None else int(time.time() * 1000)

    def flush(self) -> Activity | None:
        """Merge the requests counted since the last flush into the file; returns what the file now holds."""
        with self._lock:
            pending, last = self._pending, self._last_ms
            self._pending, self._last_ms = 0, None
        if not pending:
            return None
        try:
            return self._merge(pending, last)
        except BaseException:
            with self._lock:  # not written: count them again next time
                self._pending += pending
                self._last_ms = max(v for v in (self._last_ms, last) if v is not None)
            raise

    def _merge(self, pending: int, last: int | None) -> Activity:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                merged = last_activity(self.path).plus(pending, last)
            except ValueError:  # a damaged file: start again from what we know rather than stop counting
                merged = Activity(pending, last)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(merged.to_json() + "\n")
            os.replace(tmp, self.path)
        return merged
