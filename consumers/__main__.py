"""`python -m consumers list` shows the consumers; `python -m consumers run NAME` runs one by name."""

from __future__ import annotations

import sys

from consumers.registry import CONSUMERS
from consumers.runtime import main as run_consumer


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"] and len(argv) == 1:
        for spec in CONSUMERS.values():
            print(f"{spec.name:<13} python -m {spec.module:<23} topic={spec.topic} group={spec.group_id}")
        return 0
    if len(argv) == 2 and argv[0] == "run":
        return run_consumer(argv[1])
    print("usage: python -m consumers list | run {" + ",".join(CONSUMERS) + "}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
