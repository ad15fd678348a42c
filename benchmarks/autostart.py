"""Benchmark: start on demand on the local stack — how long a client waits after its first 503.

    ./run bench autostart [--rounds 3]

Each round: database-autostop stops PostgreSQL (capture paused first; the inactivity window is a few seconds
instead of hours), then one request to the producer API gets the 503 and makes the API run
database-autostart as a detached process. Prints per round and as median/max, from that first request:
PostgreSQL accepting connections, the API writing again (PgBouncer reconnected), and capture RUNNING again
(the flow's last step); plus the stop itself (pause capture + fast shutdown). The flow runs on Prefect's
temporary API unless PREFECT_API_URL names a running server (`eval "$(scripts/prefect.sh env)"` after
`./run prefect up`): the temporary server's start is most of the local figure.

Needs the pipeline deployed (`./run pipeline`): the capture connector must exist to be paused and resumed.
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from api.server import ApiServer
from connectors.config import LOCAL_CONNECTOR_NAME
from environments.factory import build
from environments.postgres import accepts_connections
from environments.settings import load_settings
from pipeline.activity import last_activity
from pipeline.business_events import load_sample
from pipeline.cli import UsageParser, run_cli
from pipeline.polling import poll_until
from stack.local import LocalStack
from stack.settings import api_activity_file

WINDOW_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def one_round(cfg, env, client: httpx.Client, run: str, last_post_ms: float) -> dict[str, float]:
    from flows.database_autostop import database_autostop

    event = load_sample("loan-created")
    event["eventHeader"]["uuid"] = f"bench-autostart-{run}"
    def quiet() -> bool:  # re-read each time: the API flushes its counts up to a second late
        last = max(last_activity(api_activity_file()).last_request_ms or 0, last_post_ms)
        return time.time() * 1000 - last > (WINDOW_SECONDS + 1.5) * 1000

    poll_until(quiet, timeout=30, every=0.2, what="the inactivity window passing")
    t0 = time.monotonic()
    stopped = database_autostop(environment="local", inactivity_hours=WINDOW_SECONDS / 3600)
    if stopped["action"] != "stop":
        raise SystemExit(f"database-autostop did not stop: {stopped['reason']}")
    stop_seconds = time.monotonic() - t0

    asked = time.monotonic()
    first = client.post("/events", json=event)
    if first.status_code != 503:
        raise SystemExit(f"expected 503 from the stopped database, got {first.status_code}")
    poll_until(lambda: accepts_connections(cfg.database), timeout=300, every=0.1, what="PostgreSQL accepting")
    database = time.monotonic() - asked
    poll_until(lambda: client.post("/events", json=event).status_code in (200, 201), timeout=120, every=0.1,
               what="the API writing again")
    api = time.monotonic() - asked
    poll_until(lambda: (env.connect.status(LOCAL_CONNECTOR_NAME) or None) and
               env.connect.status(LOCAL_CONNECTOR_NAME).running, timeout=300, every=0.2, what="capture RUNNING")
    capture = time.monotonic() - asked
    return {"stop": stop_seconds, "database accepting": database, "API writing": api, "capture running": capture,
            "last post ms": time.time() * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="./run bench autostart", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    def body() -> int:
        cfg = load_settings("local")
        LocalStack(cfg.database).up()
        env = build(cfg)
        server = ApiServer(Path(tempfile.mkdtemp(prefix="bench-autostart-")), free_port(),
                           env={"CDC_API_POOL_TIMEOUT": "3", "CDC_API_START_COOLDOWN": "0"})
        server.start()
        rounds, last_post_ms = [], 0.0
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for i in range(args.rounds):
                    result = one_round(cfg, env, client, f"{uuid.uuid4().hex[:8]}-{i}", last_post_ms)
                    last_post_ms = result.pop("last post ms")
                    rounds.append(result)
                    print(f"round {i + 1}: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.items()), flush=True)
        finally:
            server.stop()
            env.close()
        print(f"\nstart on demand, {args.rounds} rounds (Prefect: "
              f"{os.environ.get('PREFECT_API_URL') or 'temporary API'}), from the first request's 503:")
        for key in ("database accepting", "API writing", "capture running", "stop"):
            values = [r[key] for r in rounds]
            print(f"  {key:<20} median {statistics.median(values):5.1f}s  max {max(values):5.1f}s")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
