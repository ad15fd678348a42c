"""The import contracts in pyproject.toml hold: imports point down only, the core does no I/O, and the
adapters of one target do not reach into another's (import-linter reads the real import graph)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.paths import ROOT


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and proc.stdout.count("KEPT") == 3
