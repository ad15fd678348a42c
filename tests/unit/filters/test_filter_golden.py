"""Generated SQL is compared with reviewed golden files (tests/unit/filters/golden/<case>.<variant>.sql).

After an intended change to the compiler or templates: UPDATE_GOLDEN=1 pytest tests/unit/filters, review
the diff, commit.
"""

import os
from pathlib import Path

import pytest

from filters.compiler import LocalOptions, compile_job
from filters.loader import load_pipeline

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[3]

VARIANTS = {
    "confluent": ("confluent", LocalOptions()),
    "local": ("local", LocalOptions()),
    "local-exactly-once": (
        "local",
        LocalOptions(
            bootstrap_servers="127.0.0.1:19092",
            group_id="routing-test",
            delivery_guarantee="exactly-once",
            transactional_id_prefix="routing-test",
        ),
    ),
}

CASES = [
    ("escaping", "confluent"),
    ("escaping", "local"),
    ("operators", "confluent"),
    ("operators", "local"),
    ("groups", "local"),
    ("no-cdc", "confluent"),
    ("no-cdc", "local"),
    ("seed", "local-exactly-once"),
]


@pytest.mark.parametrize("case,variant", CASES, ids=[f"{c}.{v}" for c, v in CASES])
def test_generated_sql_matches_golden(case, variant):
    source = GOLDEN / f"{case}.yaml"
    dialect, options = VARIANTS[variant]
    job = compile_job(load_pipeline(source), dialect, local=options, source_name=source.relative_to(REPO).as_posix())
    golden = GOLDEN / f"{case}.{variant}.sql"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(job.script, encoding="utf-8")
    assert golden.exists(), f"missing golden file {golden.name}; run with UPDATE_GOLDEN=1 and review it"
    assert job.script == golden.read_text(encoding="utf-8")


def test_every_golden_sql_file_has_a_case():
    expected = {f"{c}.{v}.sql" for c, v in CASES}
    assert {p.name for p in GOLDEN.glob("*.sql")} == expected


def test_generated_sql_is_printable_ascii():
    # Non-ASCII and control characters only ever appear as U&'...' escapes.
    for case, variant in CASES:
        text = (GOLDEN / f"{case}.{variant}.sql").read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        assert all(ch == "\n" or 0x20 <= ord(ch) < 0x7F for ch in body), case
