"""`python -m stack up|down|status|reset|fetch` — operate the local engines by hand."""

from __future__ import annotations

import argparse
import json
import sys
import time

from pipeline.cli import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "reset", "fetch"])
    args = parser.parse_args(argv)

    def body() -> int:
        from stack import dist
        from stack.local import LocalStack
        from stack.process import stop_supervised
        from stack.settings import state_dir

        if args.command == "fetch":
            for name, path in dist.fetch_all().items():
                print(f"{name:14s} {path}")
            return 0
        stack = LocalStack()
        if args.command == "up":
            t0 = time.monotonic()
            for r in stack.up():
                print(f"{r.engine:18s} {r.outcome:8s} {r.seconds:6.1f}s")
            print(f"stack ready in {time.monotonic() - t0:.1f}s")
        elif args.command == "down":
            # the consumers read from this stack's Kafka: stop them first
            stopped = stop_supervised(state_dir() / "consumers") + stack.down()
            print("stopped:", ", ".join(stopped) or "nothing was running")
        elif args.command == "status":
            for row in stack.status():
                print(json.dumps(row))
        elif args.command == "reset":
            stop_supervised(state_dir() / "consumers")
            stack.reset()
            print("local stack stopped and its data removed")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
