"""The `ActivityMeter` locally: the producer API's activity file (`api.activity.FileActivity` writes it)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipeline.activity import ActivityReading, reading_from_file
from pipeline.errors import EnvironmentProblem


class FileActivityMeter:
    def __init__(self, path: Path):
        self.path = path

    def reading(self, since: datetime, until: datetime) -> ActivityReading:
        """The newest request the file records (it keeps a running total, not counts per window)."""
        try:
            return reading_from_file(self.path)
        except ValueError as err:
            raise EnvironmentProblem(f"activity file {self.path} is damaged: {err}",
                                     fix="delete it; the producer API writes it again on its next request") from None
        except OSError as err:
            raise EnvironmentProblem(f"activity file {self.path} is unreadable: {err.strerror}") from None
