"""`python -m filters validate | generate | test` — the thin edge around the pure filter core.

Exit codes: 0 success, 1 expected failure (bad YAML, stale files, mismatching events: one clear line
per problem, no traceback), 2 crash (a bug: the traceback is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Protocol, TextIO

from filters.compiler import compile_job, generate_files
from filters.evaluator import evaluate_events
from filters.loader import load_pipeline
from filters.model import Pipeline
from pipeline.cli import UsageParser, run_tool
from pipeline.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO_ROOT / "filters" / "filters.yaml"
DEFAULT_OUT_DIR = REPO_ROOT / "flink-jobs"


_Parser = UsageParser  # a usage mistake is an expected failure (exit 1), not a crash


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m filters", description="Validate filters, generate Flink SQL, test events.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="check a filter file (and the SQL, when a Flink SQL Gateway is up)")
    validate.add_argument("--file", type=Path, default=DEFAULT_FILE, help="filter YAML (default: filters/filters.yaml)")

    generate = sub.add_parser("generate", help="write the Flink SQL files under flink-jobs/")
    generate.add_argument("--file", type=Path, default=DEFAULT_FILE)
    generate.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="default: flink-jobs/")
    generate.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is missing or stale")

    test = sub.add_parser("test", help="route JSON-lines events with the local evaluator")
    test.add_argument("--file", type=Path, default=DEFAULT_FILE)
    test.add_argument("--events", type=Path, required=True, help='JSON lines, one raw-topic event per line')
    test.add_argument("--expect", type=Path, help='JSON lines {"id": ..., "topics": [...]}, one per event')
    return parser


def display_name(path: Path) -> str:
    """How generated files name their source: repo-relative when inside the repo."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


class FlinkChecker(Protocol):
    """Has a running Flink parse and plan the generated statements (injected by the caller: this package
    knows no server). `python -m environments.local.filters_cli` passes the local SQL Gateway."""

    def reachable(self) -> bool: ...
    def explain(self, statements: list[str]) -> None: ...  # raises a PipelineError with Flink's message


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
         checker: FlinkChecker | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr

    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return cmd_validate(args.file, out, checker)
        if args.command == "generate":
            return cmd_generate(args.file, args.out_dir, args.check, out, err)
        return cmd_test(args.file, args.events, args.expect, out, err)

    return run_tool(body, err)


def cmd_validate(file: Path, out: TextIO, checker: FlinkChecker | None = None) -> int:
    pipeline = load_pipeline(file)
    enabled = pipeline.enabled_filters
    print(f"{display_name(file)}: OK — {len(pipeline.filters)} filters, {len(enabled)} enabled", file=out)
    for f in enabled:
        print(f"  {f.id} -> {f.output_topic}", file=out)
    if checker is not None and checker.reachable():
        job = compile_job(pipeline, "local", source_name=display_name(file))
        checker.explain(list(job.statements))
        print("Flink SQL Gateway accepted the generated statements", file=out)
    return 0


def cmd_generate(file: Path, out_dir: Path, check: bool, out: TextIO, err: TextIO) -> int:
    files = generate_files(load_pipeline(file), source_name=display_name(file))
    stale = []
    for name, text in files.items():
        target = out_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check:
            stale.append(name)
            reason = "missing" if current is None else "stale"
            print(f"{display_name(target)}: {reason}; run `python -m filters generate` and commit the result", file=err)
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {display_name(target)}", file=out)
    if check:
        if stale:
            return 1
        print(f"{len(files)} generated files are up to date", file=out)
    return 0


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: text mode would also turn a lone \r into a line end
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    items = []
    # Lines end at \n only (JSON lines): str.splitlines() would also cut at U+2028, U+2029, U+0085 and
    # other separators, which JSON allows raw inside strings. A line holding only JSON whitespace is skipped.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}:{exc.colno}: not valid JSON: {exc.msg}") from None
        if not isinstance(item, dict):
            raise ConfigError(f"{path}:{number}:1: expected a JSON object per line")
        items.append(item)
    return items


def cmd_test(file: Path, events_file: Path, expect_file: Path | None, out: TextIO, err: TextIO) -> int:
    pipeline: Pipeline = load_pipeline(file)
    results = evaluate_events(pipeline, read_json_lines(events_file))
    for r in results:
        print(json.dumps(r, ensure_ascii=False), file=out)
    if expect_file is None:
        return 0
    expected = read_json_lines(expect_file)
    problems = []
    for i in range(max(len(results), len(expected))):
        got = results[i] if i < len(results) else None
        want = expected[i] if i < len(expected) else None
        if got is None or want is None:
            problems.append(f"event #{i + 1}: {'no expectation' if want is None else 'no such event'}")
            continue
        want_topics = sorted(want.get("topics") or [])
        if want.get("id") != got["id"]:
            problems.append(f"event #{i + 1}: expected id {want.get('id')!r}, got {got['id']!r}")
        elif want_topics != got["topics"]:
            missing = [t for t in want_topics if t not in got["topics"]]
            extra = [t for t in got["topics"] if t not in want_topics]
            detail = "; ".join(p for p in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            ) if p)
            problems.append(f"event #{i + 1} (id {got['id']!r}): {detail}")
    for p in problems:
        print(f"FAIL {p}", file=err)
    print(f"events: {len(results) - len(problems) if len(problems) <= len(results) else 0} as expected, "
          f"{len(problems)} differ", file=err)
    return 1 if problems else 0
