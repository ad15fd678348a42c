"""Benchmark: the generated statement set (one job, raw topic read once) versus the seed's separate
INSERT statements (one job per route, each reading the whole raw topic), on the same data in Kafka.

    ./run bench routing [--events 200000]

Prints events per second and Flink TaskManager CPU seconds per 1,000 events for each variant. Both
variants run the SQL the compiler generates for filters/filters.yaml (open-source dialect, at-least-once
sinks so that both pay the same delivery cost), with the source bounded to the data written for the run.
Needs the local stack (it is started if it is not up).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid

from benchmarks.cpu import tree_cpu_seconds
from filters.compiler import LocalOptions, compile_job
from filters.loader import load_pipeline
from environments.kafka import KafkaClients
from environments.local.bounded_run import bounded, isolate
from environments.local.flink import FlinkRest, SqlGateway
from environments.settings import load_settings
from pipeline.paths import FILTERS_FILE
from stack.local import LocalStack
from stack.settings import state_dir

KINDS = [("LoanCreated", "LoanCreated"), ("LoanPaymentSubmitted", "LoanPaymentSubmitted"), ("CarCreated", "CarCreated"),
         ("CarServiceDone", "CarServiceDone"), ("LoanUpdated", "LoanUpdated"), ("CarUpdated", "CarUpdated")]


def make_events(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name, etype = rng.choice(KINDS)
        data = {"eventHeader": {"uuid": f"b-{i}", "eventName": name, "eventType": etype,
                                "createdDate": 1764000000000 + i, "savedDate": 1764000000500 + i},
                "eventBody": {"entities": [{"entityType": "Loan", "entityId": f"loan-{i % 5000}",
                                            "updatedAttributes": {"loan": {"loanAmount": rng.randint(1000, 90000),
                                                                           "balance": rng.randint(0, 90000),
                                                                           "status": rng.choice(["active", "closed"])}}}]}}
        out.append({"id": f"b-{i}", "event_name": name, "event_type": etype, "created_date": "2026-11-24T10:00:00Z",
                    "saved_date": "2026-11-24T10:00:01Z", "event_data": json.dumps(data),
                    "__op": rng.choice("cccu"), "__table": "business_events", "__ts_ms": 1764000000000 + i,
                    "__deleted": "false"})
    return out


def run_variant(cfg, statements_per_job: list[tuple[str, ...]], name: str) -> dict:
    rest = FlinkRest(cfg.flink_rest_url)
    tm = LocalStack(cfg.database).flink[1]
    tm_pid = tm.pid()  # its launcher script and JVM, counted together
    cpu0 = tree_cpu_seconds(tm_pid)
    job_ids = []
    with SqlGateway(cfg.sql_gateway_url) as gw:
        gw.execute(f"SET 'pipeline.name' = '{name}'")
        for statements in statements_per_job:
            for ddl in statements[:-1]:
                gw.execute(ddl)
            result = gw.execute(statements[-1])
            job_ids.append(result.job_id or result.rows[0][0])
    for job_id in job_ids:
        rest.wait_state(job_id, {"FINISHED"}, timeout=1800)
    cpu = tree_cpu_seconds(tm_pid) - cpu0
    jobs = [rest.job(j) for j in job_ids]
    wall = (max(j["end-time"] for j in jobs) - min(j["start-time"] for j in jobs)) / 1000
    return {"jobs": len(job_ids), "wall_s": wall, "tm_cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.routing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args(argv)
    cfg = load_settings("local")
    LocalStack(cfg.database).up()
    kafka = KafkaClients(cfg.kafka)
    pipeline = load_pipeline(FILTERS_FILE)
    events = make_events(args.events)
    results = {}
    for variant in ("statement-set", "separate-inserts"):
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        isolated, _ = isolate(pipeline, prefix)
        kafka.ensure_topic(isolated.source.topic, 3)
        t0 = time.monotonic()
        kafka.produce_json(isolated.source.topic, events)
        produced = time.monotonic() - t0
        job = compile_job(isolated, "local", local=LocalOptions(bootstrap_servers=cfg.kafka_bootstrap, group_id=prefix))
        statements = bounded(job)
        for topic in job.output_topics:
            kafka.ensure_topic(topic, 3)
        if variant == "statement-set":
            per_job = [statements]
        else:  # the seed's way: each INSERT is its own job with its own read of the raw topic (and no dead
            # letters: the statement set pays for them, the seed's way does not)
            support = statements[1:1 + len(job.dead_letter_ddl)]
            view = tuple(d for d in support if d.startswith("CREATE TEMPORARY VIEW"))
            sinks = statements[1 + len(job.dead_letter_ddl):-1]
            per_job = [(statements[0], *view, sink, route.insert) for sink, route in zip(sinks, job.routes)]
        results[variant] = run_variant(cfg, per_job, f"{prefix}-{variant}")
        results[variant]["produce_s"] = produced
    n = args.events
    print(f"routing benchmark: {n} events, {len(pipeline.enabled_filters)} routes (filters/filters.yaml), "
          f"Flink {cfg.flink_rest_url}")
    print(f"{'variant':18s} {'jobs':>4s} {'wall s':>8s} {'events/s':>10s} {'TM CPU s':>9s} {'CPU s/1k ev':>12s}")
    for variant, r in results.items():
        print(f"{variant:18s} {r['jobs']:4d} {r['wall_s']:8.1f} {n / r['wall_s']:10.0f} {r['tm_cpu_s']:9.1f} "
              f"{r['tm_cpu_s'] / (n / 1000):12.3f}")
    a, b = results["statement-set"], results["separate-inserts"]
    print(f"statement set uses {b['tm_cpu_s'] / a['tm_cpu_s']:.2f}x less TaskManager CPU than separate inserts")
    (state_dir() / "bench").mkdir(exist_ok=True)
    (state_dir() / "bench" / "routing.json").write_text(json.dumps({"events": n, **results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
