import os

# Flows run against Prefect's ephemeral API in tests; no telemetry from a machine without internet, and
# no INFO lines at interpreter exit (Prefect logs "Stopping temporary server" after pytest closed stderr).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import time
from pathlib import Path

_SESSION_START = time.time()


def pytest_terminal_summary(terminalreporter):
    """Name the screenshots this session saved (the Prefect UI test), so they show in CI's output."""
    shots = sorted(p for p in (Path(__file__).resolve().parent.parent / "test-output").glob("*.png")
                   if p.stat().st_mtime >= _SESSION_START)
    for shot in shots:
        terminalreporter.write_line(f"screenshot saved: {shot}")


def pytest_collection_modifyitems(items):
    """The chaos suite kills engines: it runs after every other test (pipeline-health heals what it broke)."""
    items.sort(key=lambda item: "/chaos/" in item.nodeid)
