"""`python -m consumers list` shows the consumers; `python -m consumers run NAME` runs one by name."""

from __future__ import annotations

import sys

from consumers.registry import CONSUMERS, get_consumer
from consumers.runtime import main as run_consumer
from pipeline.cli import run_cli


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"] and len(argv) == 1:
        for spec in CONSUMERS.values():
            print(f"{spec.name:<13} python -m {spec.module:<23} topic={spec.topic} group={spec.group_id}")
        return 0
    if len(argv) == 2 and argv[0] == "run":
        spec = None

        def resolve() -> int:
            nonlocal spec
            spec = get_consumer(argv[1])  # an unknown name: one line, exit 1
            return 0

        return run_cli(resolve) or run_consumer(spec)
    print("usage: python -m consumers list | run {" + ",".join(CONSUMERS) + "}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
