"""Where the project's own files are: the repository root, the filters, the sample events."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILTERS_FILE = ROOT / "filters" / "filters.yaml"
SAMPLES_DIR = ROOT / "samples" / "events"


def display(path: Path | str) -> str:
    """A path as the user wrote it relative to the repository (for messages), else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
