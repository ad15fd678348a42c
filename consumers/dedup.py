"""The low-latency mode's duplicate filter: the (event id, __lsn) keys a consumer has processed, on disk.

A key is unique per row change, so a second record with the same key is the same change delivered again
(an at-least-once sink replaying after a routing-job restart, or a transaction a read_uncommitted reader
saw before it was aborted and rewritten). Keys live in one SQLite file per consumer. They are held in memory
as events are processed and written in one transaction *before* the consumer commits its Kafka offsets,
so after a crash or restart every key behind a committed offset is known: a replayed record is dropped
rather than processed twice. (A crash between processing and the next commit re-processes those events,
as the runtime's at-least-once contract already says; their keys were never committed.)

Keys older than `retention_ms` are pruned: duplicates arrive within a job restart of the original, so a day
is far more than needed and keeps the file small.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from pipeline.errors import ConfigError


class SeenKeys:
    PRUNE_EVERY_COMMITS = 600  # about every 10 minutes at the runtime's 1 s commit cadence

    def __init__(self, path: Path, retention_ms: int = 24 * 3600 * 1000):
        self.path = path
        self.retention_ms = retention_ms
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are begun and committed explicitly below
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # WAL + NORMAL: a committed key survives the process being killed (not a power cut, which
            # the Kafka offsets committed after it would not survive either on this machine)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT NOT NULL, lsn INTEGER NOT NULL, "
                            "at_ms INTEGER NOT NULL, PRIMARY KEY (id, lsn)) WITHOUT ROWID")
            self.db.execute("CREATE INDEX IF NOT EXISTS seen_at ON seen (at_ms)")
        except sqlite3.Error as err:
            raise ConfigError(f"DEDUP_STORE={str(path)!r} cannot be opened as a SQLite file: {err}",
                              fix="point DEDUP_STORE at a writable file path") from None
        #: keys added since the last commit, written in one statement at commit (cheaper per event)
        self._pending: dict[tuple[str, int], int] = {}
        self._commits = 0

    def seen(self, event_id: str, lsn: int) -> bool:
        """Whether this change was processed before (committed, or added since the last commit)."""
        if (event_id, lsn) in self._pending:
            return True
        return self.db.execute("SELECT 1 FROM seen WHERE id = ? AND lsn = ?", (event_id, lsn)).fetchone() is not None

    def add(self, event_id: str, lsn: int, at_ms: int | None = None) -> None:
        self._pending[(event_id, lsn)] = int(time.time() * 1000) if at_ms is None else at_ms

    def commit(self) -> None:
        """Make every added key durable; call before committing the Kafka offsets of those events."""
        if self._pending:
            self.db.execute("BEGIN")  # one transaction for the batch (the connection is in autocommit mode)
            self.db.executemany("INSERT OR IGNORE INTO seen (id, lsn, at_ms) VALUES (?, ?, ?)",
                                [(i, lsn, at) for (i, lsn), at in self._pending.items()])
            self.db.execute("COMMIT")
            self._pending.clear()
            self._commits += 1
            if self._commits % self.PRUNE_EVERY_COMMITS == 0:
                self.prune()

    def prune(self, now_ms: int | None = None) -> int:
        cutoff = (int(time.time() * 1000) if now_ms is None else now_ms) - self.retention_ms
        return self.db.execute("DELETE FROM seen WHERE at_ms < ?", (cutoff,)).rowcount

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM seen").fetchone()[0]

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.db.close()
