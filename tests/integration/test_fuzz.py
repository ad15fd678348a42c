"""A small seeded run of the differential fuzz: random filters × edge-value events, real Flink as the judge.

`./run fuzz` runs the same thing at any size (benchmarks/fuzz.py); this seed is fixed so a failure is
reproducible with `./run fuzz --seed 20261124 --filters 40 --events 600`. On a disagreement the test
shrinks the cases through Flink and shows the minimal reproductions.
"""

from __future__ import annotations

import io

from benchmarks.fuzz import fuzz_run, print_report

SEED = 20261124
FILTERS = 40
EVENTS = 600


def test_random_filters_and_events_route_identically_in_flink_and_the_evaluator(cfg, stack):
    log: list[str] = []
    report = fuzz_run(cfg, [SEED], FILTERS, EVENTS, shrink_rounds=2, max_repros=4, log=log.append)
    result = report.seeds[0]
    out = io.StringIO()
    print_report(report, out)
    print("\n" + "\n".join(log) + out.getvalue())
    assert result.decisions == FILTERS * EVENTS
    assert result.routed > result.decisions // 10, "the generated filters route too little to prove anything"
    assert report.disagreements == 0, "evaluator and Flink disagree:\n" + out.getvalue()
