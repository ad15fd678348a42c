"""Benchmark: the producer API through PgBouncer — requests/s and latency at 50 and 500 concurrent clients.

    ./run bench api [--requests 6000] [--clients 50,500]

Serves `python -m api` (one uvicorn process, a psycopg pool of up to 100 client connections to PgBouncer)
against the local stack's PgBouncer (transaction pooling, at most 20 server connections) and PostgreSQL,
and posts new seed-shaped events (the loan-created sample, ~1 KB) from N concurrent HTTP clients (keep-alive,
one connection each, `api.loadgen`: a bare asyncio HTTP/1.1 client, as httpx's pool cost more CPU per request
than the API) in this process. Prints, per concurrency: requests, requests/s, p50/p99
latency, every status seen, and the most server (and client) connections PgBouncer had at once (sampled
from its admin console's SHOW POOLS every 5 ms). Load generator, API and database share the machine.
Starts PostgreSQL and PgBouncer if they are not up.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from api.loadgen import post_events
from api.server import ApiServer
from environments.postgres import PostgresDatabase
from environments.settings import load_settings
from pipeline.business_events import SCHEMA_DDL, load_sample
from pipeline.cli import UsageParser, run_cli
from stack.local import LocalStack
from stack.pgbouncer import MAX_SERVER_CONN, PoolSampler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def events(clients: int, total: int, run: str) -> list[list[dict]]:
    template = load_sample("loan-created")
    per_client = max(1, total // clients)
    return [[{**template, "eventHeader": {**template["eventHeader"], "uuid": f"bench-api-{run}-{c}-{i}"}}
             for i in range(per_client)] for c in range(clients)]


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="./run bench api", description=__doc__)
    parser.add_argument("--requests", type=int, default=6000, help="requests per concurrency level")
    parser.add_argument("--clients", default="50,500", help="concurrency levels, comma-separated")
    args = parser.parse_args(argv)

    def body() -> int:
        cfg = load_settings("local")
        stack = LocalStack(cfg.database)
        stack.up(only={"postgres", "pgbouncer"})
        PostgresDatabase(cfg.database).execute_ddl(SCHEMA_DDL)
        levels = [int(c) for c in args.clients.split(",")]
        with tempfile.TemporaryDirectory() as home:
            server = ApiServer(Path(home), free_port(), env={"CDC_API_POOL_MAX": "100"})
            server.start()
            try:
                asyncio.run(post_events("127.0.0.1", server.port, events(50, 1000, f"warm-{uuid.uuid4().hex[:6]}")))
                print(f"producer API through PgBouncer (transaction pooling, max {MAX_SERVER_CONN} server connections); "
                      f"{args.requests} POST /events per level")
                print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
                      f"{'max server conns':>16} {'max client conns':>16}  statuses")
                for clients in levels:
                    run = uuid.uuid4().hex[:8]
                    with PoolSampler(stack.pgbouncer, cfg.database.dbname) as pools:
                        load = asyncio.run(post_events("127.0.0.1", server.port, events(clients, args.requests, run)))
                    lat = load.latencies
                    print(f"{clients:>7} {load.requests:>8} {load.requests / load.wall:>8.0f} "
                          f"{statistics.median(lat) * 1000:>7.1f} {percentile(lat, 99) * 1000:>7.1f} "
                          f"{pools.max_servers:>16} {pools.max_clients:>16}  {dict(sorted(load.statuses.items()))}")
            finally:
                server.stop()
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
