"""Differential fuzz: random filters × edge-value events through real Flink (the judge) and the evaluator.

    ./run fuzz --seed 1 --filters 60 --events 1000 [--seeds 3] [--shrink-rounds 4] [--max-repros 8]

For each seed, `filters.fuzz` generates the filters and the events; the events go through the job the
compiler generates for those filters on the local Flink cluster (bounded source, one run per seed) and
through `filters.evaluator`; every (filter, event) routing decision is compared. Each disagreement (up to
--max-repros, distinct filters first) is then shrunk: smaller filters and slimmer events are run through
Flink again, round by round, keeping the smallest pair that still disagrees. Prints decisions compared,
disagreements and the minimal reproductions; exits 1 when there is a disagreement. Needs the local stack
(it is started when it is not up).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from filters import fuzz
from filters.evaluator import evaluate_events
from filters.model import Pipeline

Runner = Callable[[Any, Pipeline, list[dict]], Any]  # run_through_flink(settings, pipeline, events)


def flink_runner() -> Runner:
    """`run_through_flink` from wherever the project keeps it."""
    try:
        from environments.local.bounded_run import run_through_flink
    except ImportError:  # the layout before environments/
        from pipeline.differential import run_through_flink  # type: ignore[no-redef]
    return run_through_flink


def local_settings() -> Any:
    try:
        from environments.settings import load_settings
    except ImportError:
        from pipeline.settings import load_settings  # type: ignore[no-redef]
    return load_settings("local")


def start_stack(cfg: Any) -> None:
    from stack.local import LocalStack

    try:
        LocalStack(cfg.database).up()
    except (AttributeError, TypeError):
        LocalStack(cfg).up()


@dataclass
class SeedResult:
    seed: int
    filters: int
    events: int
    routed: int
    seconds: float
    rejected: list[tuple[dict[str, Any], str]]
    disagreements: list[fuzz.Disagreement]

    @property
    def decisions(self) -> int:
        return self.filters * self.events


def run_seed(cfg: Any, seed: int, n_filters: int, n_events: int, runner: Runner) -> SeedResult:
    generated = fuzz.generate_pipeline(seed, n_filters)
    pipeline = generated.pipeline
    events = fuzz.generate_events(seed, n_events)
    expected = {r["id"]: set(r["topics"]) for r in evaluate_events(pipeline, events)}
    run = runner(cfg, pipeline, events)
    unknown = set(run.routed) - set(expected)
    if unknown:
        raise RuntimeError(f"Flink emitted ids that were never sent: {sorted(map(str, unknown))[:5]}")
    return SeedResult(seed, len(pipeline.enabled_filters), len(events), sum(len(t) for t in expected.values()),
                      run.seconds, generated.rejected, fuzz.compare(pipeline, events, expected, run.routed))


def _pick(disagreements: list[fuzz.Disagreement], limit: int) -> list[fuzz.Disagreement]:
    """Up to `limit` cases, one per filter first (different filters are more likely different causes)."""
    picked: list[fuzz.Disagreement] = []
    seen: set[str] = set()
    for d in disagreements:
        if d.filter.id not in seen and len(picked) < limit:
            picked.append(d)
            seen.add(d.filter.id)
    for d in disagreements:
        if len(picked) >= limit:
            break
        if d not in picked:
            picked.append(d)
    return picked


def shrink(cfg: Any, cases: list[fuzz.Disagreement], runner: Runner, rounds: int = 4,
           per_case: int = 12, log: Callable[[str], None] = lambda _: None) -> list[fuzz.Disagreement]:
    """Each case replaced by the smallest (filter, event) found that still disagrees in Flink."""
    current = list(cases)
    for round_no in range(1, rounds + 1):
        batch: list[tuple[int, Any, dict]] = []
        for i, case in enumerate(current):
            for f, e in fuzz.shrink_candidates(case.filter, case.event)[:per_case]:
                batch.append((i, f, e))
        if not batch:
            break
        filters, events = [], []
        for n, (_, f, e) in enumerate(batch):
            filters.append(f.model_copy(update={"id": f"s{n:04d}", "output_topic": f"fuzz-s{n:04d}", "enabled": True}))
            events.append({**e, "id": f"s{n:04d}"})
        pipeline = Pipeline.model_validate({"version": 1, "source": {"topic": "fuzz-raw", "cdcMetadata": True},
                                            "filters": filters})
        expected = {r["id"]: set(r["topics"]) for r in evaluate_events(pipeline, events)}
        run = runner(cfg, pipeline, events)
        improved = 0
        for i in range(len(current)):
            for n, (owner, _, _) in enumerate(batch):
                if owner != i:
                    continue
                topic, eid = filters[n].output_topic, events[n]["id"]
                want, got = topic in expected.get(eid, set()), topic in run.routed.get(eid, set())
                if want != got:
                    current[i] = fuzz.Disagreement(filters[n], events[n], want, got)
                    improved += 1
                    break
        log(f"  shrink round {round_no}: {len(batch)} candidates through Flink ({run.seconds:.0f}s), "
            f"{improved} of {len(current)} cases got smaller")
        if not improved:
            break
    return current


def distinct(cases: list[fuzz.Disagreement]) -> list[tuple[fuzz.Disagreement, int]]:
    """Reproductions without duplicates (same filter spec and same event apart from its id), with counts."""
    out: dict[str, list] = {}
    for d in cases:
        event = {k: v for k, v in d.event.items() if k != "id"}
        key = json.dumps([fuzz.filter_spec(d.filter), event], sort_keys=True, ensure_ascii=False)
        out.setdefault(key, [d, 0])[1] += 1
    return [(d, n) for d, n in out.values()]


@dataclass
class Report:
    seeds: list[SeedResult] = field(default_factory=list)
    reproductions: list[tuple[fuzz.Disagreement, int]] = field(default_factory=list)

    @property
    def decisions(self) -> int:
        return sum(s.decisions for s in self.seeds)

    @property
    def disagreements(self) -> int:
        return sum(len(s.disagreements) for s in self.seeds)


def fuzz_run(cfg: Any, seeds: list[int], n_filters: int, n_events: int, *, runner: Runner | None = None,
             shrink_rounds: int = 4, max_repros: int = 8, log: Callable[[str], None] = print) -> Report:
    runner = runner or flink_runner()
    report = Report()
    for seed in seeds:
        result = run_seed(cfg, seed, n_filters, n_events, runner)
        report.seeds.append(result)
        filters_hit = len({d.filter.id for d in result.disagreements})
        log(f"seed {seed}: {result.filters} filters x {result.events} events = {result.decisions:,} decisions "
            f"({result.routed:,} routed by the evaluator); Flink job {result.seconds:.0f}s; "
            f"disagreements: {len(result.disagreements)} ({filters_hit} filters); "
            f"{len(result.rejected)} random conditions rejected by validation")
    everything = [d for s in report.seeds for d in s.disagreements]
    if everything and max_repros > 0:
        cases = _pick(everything, max_repros)
        log(f"shrinking {len(cases)} of {len(everything)} disagreements")
        report.reproductions = distinct(shrink(cfg, cases, runner, rounds=shrink_rounds, log=log))
    return report


def print_report(report: Report, out=sys.stdout) -> None:
    print(f"\ntotal: {len(report.seeds)} seed(s), {report.decisions:,} decisions compared, "
          f"{report.disagreements} disagreements", file=out)
    rejected: dict[str, int] = {}
    for s in report.seeds:
        for _, message in s.rejected:
            reason = rejection_reason(message)
            rejected[reason] = rejected.get(reason, 0) + 1
    for reason, count in sorted(rejected.items(), key=lambda kv: -kv[1]):
        print(f"  random conditions rejected by validation, {count}x: {reason}", file=out)
    if report.reproductions:
        print(f"minimal reproductions ({len(report.reproductions)}):", file=out)
        for i, (d, count) in enumerate(report.reproductions, 1):
            print(f"#{i} ({count} case{'s' if count > 1 else ''}) {d.describe()}", file=out)


def rejection_reason(message: str) -> str:
    """The kind of a validation message, without the values (so equal reasons count together)."""
    message = message.removeprefix("Value error, ")
    m = re.search(r"rejected at character \d+: (.*)", message, re.S)
    if m:
        return "regular expression: " + m.group(1).split(";")[0].split(": Java")[0][:110]
    return re.sub(r"'[^']*'|(?<![\w-])-?\d+(\.\d+)?(e[+-]?\d+)?", "…", message)[:110]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./run fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--seeds", type=int, default=1, help="how many consecutive seeds from --seed (default 1)")
    parser.add_argument("--filters", type=int, default=60, help="random filters per seed (default 60)")
    parser.add_argument("--events", type=int, default=1000, help="random events per seed (default 1000)")
    parser.add_argument("--shrink-rounds", type=int, default=4, help="Flink runs to shrink reproductions (default 4)")
    parser.add_argument("--max-repros", type=int, default=8, help="disagreements to shrink (default 8; 0: none)")
    args = parser.parse_args(argv)
    if args.filters < 1 or args.events < 1 or args.seeds < 1:
        parser.error("--filters, --events and --seeds must be at least 1")
    cfg = local_settings()
    start_stack(cfg)
    t0 = time.monotonic()
    report = fuzz_run(cfg, list(range(args.seed, args.seed + args.seeds)), args.filters, args.events,
                      shrink_rounds=args.shrink_rounds, max_repros=args.max_repros)
    print_report(report)
    print(f"fuzz took {time.monotonic() - t0:.0f}s")
    return 1 if report.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
