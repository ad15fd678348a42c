"""`python -m filters` as a user runs it: exit 0 ok, 1 expected failure (no traceback), 2 crash."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from filters import cli

REPO = Path(__file__).resolve().parents[3]


def run(*args, cwd=REPO):
    proc = subprocess.run([sys.executable, "-m", "filters", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_validate_seed_file():
    code, out, err = run("validate")
    assert code == 0, err
    assert out.splitlines()[0] == "filters/filters.yaml: OK — 4 filters, 4 enabled"
    assert "  car-service-done -> filtered-service-events" in out


def test_validate_reports_every_error_one_line_each(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsource: {topic: raw}\nfilters:\n  - id: a\n    outputTopic: t\n    conditions:\n"
                   "      - {field: event_typ, operator: equal, value: x}\n", encoding="utf-8")
    code, out, err = run("validate", "--file", bad)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert lines[0].startswith(f"{bad}:7:17: unknown field 'event_typ'")
    assert lines[1].startswith(f"{bad}:7:38: unknown operator 'equal'; valid: equals,")


def test_validate_missing_file_and_bad_arguments(tmp_path):
    code, _, err = run("validate", "--file", tmp_path / "nope.yaml")
    assert code == 1 and "cannot read filter file" in err and "Traceback" not in err
    code, _, err = run("frobnicate")
    assert code == 1 and "invalid choice" in err


def test_generate_check_detects_stale_files(tmp_path):
    code, out, err = run("generate", "--check")
    assert code == 0, err
    assert "3 generated files are up to date" in out
    code, out, _ = run("generate", "--out-dir", tmp_path)
    assert code == 0 and out.count("wrote") == 3
    assert {p.name for p in tmp_path.iterdir()} == {
        "business-events-routing-confluent-cloud.sql",
        "business-events-routing-confluent-cloud-no-op.sql",
        "business-events-routing-local.sql",
    }
    assert run("generate", "--out-dir", tmp_path, "--check")[0] == 0
    (tmp_path / "business-events-routing-local.sql").write_text("-- edited\n", encoding="utf-8")
    (tmp_path / "business-events-routing-confluent-cloud.sql").unlink()
    code, _, err = run("generate", "--out-dir", tmp_path, "--check")
    assert code == 1
    assert "business-events-routing-local.sql: stale" in err and "business-events-routing-confluent-cloud.sql: missing" in err


def events_file(tmp_path):
    events = [
        {"id": "1", "event_name": "LoanCreated", "event_type": "LoanCreated", "event_data": "{}", "__op": "c"},
        {"id": "2", "event_name": "CarServiceDone", "event_type": "CarServiceDone", "event_data": "{}", "__op": "c"},
        {"id": "3", "event_name": "LoanCreated", "event_type": "LoanCreated", "event_data": "{}", "__op": "u"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    return path


def test_test_command_prints_topics_per_event(tmp_path):
    code, out, err = run("test", "--events", events_file(tmp_path))
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"id": "1", "topics": ["filtered-loan-created-events"]},
        {"id": "2", "topics": ["filtered-service-events"]},
        {"id": "3", "topics": []},
    ]


def test_test_command_with_expectations(tmp_path):
    events = events_file(tmp_path)
    expect = tmp_path / "expect.jsonl"
    expect.write_text('{"id": "1", "topics": ["filtered-loan-created-events"]}\n{"id": "2", "topics": ["filtered-service-events"]}\n'
                      '{"id": "3", "topics": []}\n', encoding="utf-8")
    code, _, err = run("test", "--events", events, "--expect", expect)
    assert code == 0 and "3 as expected, 0 differ" in err
    expect.write_text('{"id": "1", "topics": []}\n{"id": "2", "topics": ["filtered-service-events"]}\n'
                      '{"id": "3", "topics": ["filtered-loan-created-events"]}\n', encoding="utf-8")
    code, _, err = run("test", "--events", events, "--expect", expect)
    assert code == 1
    assert "FAIL event #1 (id '1'): unexpected filtered-loan-created-events" in err
    assert "FAIL event #3 (id '3'): missing filtered-loan-created-events" in err
    assert "1 as expected, 2 differ" in err


def test_test_command_rejects_bad_event_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "1"}\nnot json\n', encoding="utf-8")
    code, _, err = run("test", "--events", path)
    assert code == 1 and f"{path}:2:1: not valid JSON" in err
    path.write_text('[1]\n', encoding="utf-8")
    assert run("test", "--events", path)[0] == 1


def test_a_crash_exits_2_with_traceback(monkeypatch, capsys):
    def boom(*_):
        raise RuntimeError("bug")

    monkeypatch.setattr(cli, "cmd_validate", boom)
    assert cli.main(["validate"]) == 2
    assert "RuntimeError: bug" in capsys.readouterr().err


class FakeChecker:
    def __init__(self, reachable: bool, reject: str | None = None):
        self._reachable, self.reject, self.seen = reachable, reject, []

    def reachable(self) -> bool:
        return self._reachable

    def explain(self, statements):
        from pipeline.errors import FlinkError

        if self.reject:
            raise FlinkError(self.reject)
        self.seen.append(list(statements))


def test_validate_calls_the_flink_check_only_when_the_gateway_is_reachable(capsys):
    down = FakeChecker(False)
    assert cli.main(["validate"], checker=down) == 0 and down.seen == []
    up = FakeChecker(True)
    assert cli.main(["validate"], checker=up) == 0
    assert len(up.seen) == 1 and up.seen[0][-1].startswith("EXECUTE STATEMENT SET")
    assert "Flink SQL Gateway accepted" in capsys.readouterr().out


def test_flink_check_errors_are_expected_failures(capsys):
    checker = FakeChecker(True, reject="Flink rejected the statement set: Object 'x' not found")
    assert cli.main(["validate"], checker=checker) == 1
    assert "Object 'x' not found" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["filters.edge_events"])
def test_edge_events_command(module):
    proc = subprocess.run([sys.executable, "-m", module, "--count", "300"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) >= 300
