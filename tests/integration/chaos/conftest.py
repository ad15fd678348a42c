"""The chaos suite (tests/integration/chaos): the integration tests' stack fixtures apply; this adds one table per
victim at the end of the run, and the figures in test-output/chaos.json."""

from __future__ import annotations

import json
from pathlib import Path

#: filled by test_chaos.py: one dict per round
ROUNDS: list[dict] = []
OUT = Path(__file__).resolve().parents[3] / "test-output" / "chaos.json"


def pytest_terminal_summary(terminalreporter):
    if not ROUNDS:
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(ROUNDS, indent=1))
    terminalreporter.write_line("")
    terminalreporter.write_line(f"chaos: {'victim':<18} {'rounds':>6} {'events':>7} {'routed':>7} {'lost':>5} {'dup':>4} "
                                f"{'consumer lost':>13} {'reprocessed':>11}  time to heal (s)")
    for victim in dict.fromkeys(r["victim"] for r in ROUNDS):
        mine = [r for r in ROUNDS if r["victim"] == victim]
        heal = ", ".join(f"{r['heal_seconds']:.1f}" if r["heal_seconds"] is not None else "never" for r in mine)
        total = {k: sum(r[k] for r in mine) for k in ("events", "routed", "lost", "duplicated", "consumer_lost",
                                                      "reprocessed")}
        terminalreporter.write_line(
            f"chaos: {victim:<18} {len(mine):>6} {total['events']:>7} {total['routed']:>7} {total['lost']:>5} "
            f"{total['duplicated']:>4} {total['consumer_lost']:>13} {total['reprocessed']:>11}  {heal}")
    terminalreporter.write_line(f"chaos: figures in {OUT}")
