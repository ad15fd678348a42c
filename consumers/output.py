"""What a consumer writes: JSON log lines on stdout, and (optionally) the PROCESSED_OUTPUT record file.

PROCESSED_OUTPUT gets one JSON line per processed event, appended with a single write(2) on an O_APPEND
descriptor, so several consumers may share one file and a line survives a SIGKILL right after it:

    {"id": ..., "consumer": "loan", "topic": ..., "partition": 0, "offset": 12,
     "processed_at_ms": 1732000000123, "ts_ms": 1732000000001}

`read_processed(path)` reads it back for orchestrators and tests.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline.errors import ConfigError


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class JsonLog:
    """One JSON object per line: time, level, consumer, msg, then the fields. Never given secrets."""

    def __init__(self, stream: TextIO, consumer: str):
        self.stream = stream
        self.consumer = consumer
        #: while True, lines are written but not flushed; the runtime flushes once per batch of records
        self.deferred = False

    def emit(self, level: str, msg: str, **fields: Any) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{now_ms() % 1000:03d}Z"
        line = json.dumps({"time": stamp, "level": level, "consumer": self.consumer, "msg": msg, **fields},
                          ensure_ascii=False, default=str)
        self.stream.write(line + "\n")
        if not self.deferred or level != "info":
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()

    def info(self, msg: str, **fields: Any) -> None:
        self.emit("info", msg, **fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self.emit("warning", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.emit("error", msg, **fields)


@dataclass(frozen=True)
class ProcessedRecord:
    id: str
    consumer: str
    topic: str
    partition: int
    offset: int
    processed_at_ms: int
    ts_ms: int | None

    @property
    def latency_ms(self) -> int | None:
        """Source commit (__ts_ms) to processed, when the event carried __ts_ms."""
        return None if self.ts_ms is None else self.processed_at_ms - self.ts_ms


class ProcessedOutput:
    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise ConfigError(f"PROCESSED_OUTPUT={str(path)!r} cannot be opened for appending: {err.strerror}",
                              fix="point PROCESSED_OUTPUT at a writable file path") from None

    def write(self, record: ProcessedRecord) -> None:
        self.write_many([record])

    def write_many(self, records: list[ProcessedRecord]) -> None:
        """One write(2) for a batch of records (each a whole line)."""
        if records:
            data = "".join(json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
            view = memoryview(data)
            while view:  # a regular file takes it whole; a short write is finished, never torn mid-line by us
                view = view[os.write(self._fd, view):]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_processed(path: str | Path) -> list[ProcessedRecord]:
    """Every record in a PROCESSED_OUTPUT file, in file order; a missing file is empty.

    A torn last line (a writer killed mid-write) is ignored.
    """
    path = Path(path)
    if not path.exists():
        return []
    out: list[ProcessedRecord] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            out.append(ProcessedRecord(**item))
        except (ValueError, TypeError):
            continue
    return out
