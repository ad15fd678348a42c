"""Benchmark: end to end, from a PostgreSQL commit to the record on its filtered topic, on the local pipeline.

    ./run bench e2e [--rates 100,1000,5000] [--seconds 10] [--burst 60000] [--warmup 30000] [--no-deploy]

One run, on the pipeline as deployed (deploy-pipeline on `local` runs first unless --no-deploy), after a
warm-up that is not measured:

1. latency at fixed rates: events written at R events/s for S seconds, one transaction per 10 ms tick. A
   record's latency is the time the benchmark's own consumer received it minus the time its transaction
   committed (one clock: the same machine). p50/p95/p99/max per rate.
2. sustained throughput: B events written as fast as PostgreSQL takes them (COPY, 2,000 per transaction).
   events/s = B / (the last expected record received - the first commit).
3. lost and duplicated records in both, against what the filter evaluator says each topic must receive
   (waiting up to --drain seconds for stragglers).
4. CPU seconds per 1,000 events for each engine's process tree (/proc), and the four consumer apps
   together, per phase.

The consumer reads with the isolation level the deployed delivery mode needs (read_committed for the
exactly-once sinks). Events are ~1.2 KB: six kinds, four of them routed (filters/filters.yaml), two not.
Figures go to test-output/bench-e2e.json and test-output/bench-e2e.png (latency percentiles against rate),
and are printed. Figures, not assertions: record them in docs/figures.md with the command.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path

from benchmarks.cpu import tree_cpu_seconds

KINDS = [("LoanCreated", "LoanCreated"), ("LoanPaymentSubmitted", "LoanPaymentSubmitted"),
         ("CarServiceDone", "CarServiceDone"), ("CarCreated", "CarCreated"),
         ("LoanUpdated", "LoanUpdated"), ("CarUpdated", "CarUpdated")]
EVENT_BYTES = 1200
TICK_S = 0.01
COPY_BATCH = 2000


# --- pure parts -----------------------------------------------------------------------------------------

def make_rows(run: str, phase: str, n: int) -> list[dict]:
    """n business_events rows of ~EVENT_BYTES each, kinds in rotation, ids unique to the run and phase."""
    from pipeline.business_events import load_sample, row_from_event

    base = load_sample("loan-created")
    rows = []
    for i in range(n):
        name, etype = KINDS[i % len(KINDS)]
        event = json.loads(json.dumps(base))
        event["eventHeader"].update(eventName=name, eventType=etype)
        row = row_from_event(event, f"e2e-{run}-{phase}-{i}")
        pad = EVENT_BYTES - len(row["event_data"])
        if pad > 0:
            event["eventBody"]["notes"] = "x" * pad
            row = row_from_event(event, row["id"])
        rows.append(row)
    return rows


def expected_outputs(pipeline, rows: list[dict]) -> Counter:
    """(topic, id) -> how many records the routing must deliver for these inserts."""
    from filters.evaluator import evaluate_event
    from pipeline.business_events import Change, raw_shape

    by_kind: dict[tuple, list[str]] = {}
    want: Counter = Counter()
    for row in rows:
        kind = (row["event_name"], row["event_type"])
        if kind not in by_kind:
            by_kind[kind] = evaluate_event(pipeline, raw_shape(Change(row["id"], "c", row)))
        for topic in by_kind[kind]:
            want[(topic, row["id"])] += 1
    return want


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"n": 0}
    ordered = sorted(values_ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": round(ordered[-1], 1),
            "mean": round(statistics.fmean(ordered), 1)}


def account(want: Counter, received: list[tuple[str, str, float]], commits: dict[str, float]) -> dict:
    """Lost / duplicated / unexpected against `want`, and the latency of each record's first arrival."""
    got = Counter((topic, rid) for topic, rid, _ in received if (topic, rid) in want or rid in commits)
    first: dict[tuple[str, str], float] = {}
    for topic, rid, at in received:
        key = (topic, rid)
        if key in want and key not in first:
            first[key] = at
    lost = sum((want - got).values())
    duplicated = sum(max(0, got[k] - want[k]) for k in want)
    unexpected = sum(n for k, n in got.items() if k not in want)
    latencies = [(at - commits[rid]) * 1000 for (_, rid), at in first.items()]
    return {"expected": sum(want.values()), "received": sum(got.values()), "lost": lost, "duplicated": duplicated,
            "unexpected": unexpected, "latency_ms": percentiles(latencies),
            "last_arrival": max(first.values()) if first else None}


# --- the engines' CPU ------------------------------------------------------------------------------------

def engine_cpu(stack, fleet=None) -> dict[str, float]:
    """CPU seconds so far of each engine's process tree, and of the consumer apps together."""
    cpu = {e.name: tree_cpu_seconds(e.pid()) for e in stack.engines if e.pid()}
    if fleet is not None:
        cpu["consumers"] = sum(tree_cpu_seconds(p.pid()) for p in fleet.processes() if p.pid())
    return cpu


# --- the reader (its own process, so the writer's work does not delay what it sees) -------------------------

def _reader(conf: dict, topics: list[str], ready, stop, count, out) -> None:
    from confluent_kafka import Consumer, TopicPartition

    from pipeline.business_events import unframe

    consumer = Consumer({**conf, "group.id": f"bench-e2e-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10})
    parts = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        for p in meta.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            parts.append(TopicPartition(topic, p, high))
    consumer.assign(parts)
    ready.set()
    received: list[tuple[str, str, float]] = []
    while not stop.is_set():
        msgs = consumer.consume(2000, 0.05)
        now = time.time()
        for m in msgs:
            if m.error() is None and m.value():
                received.append((m.topic(), json.loads(unframe(m.value())).get("id"), now))
        if msgs:
            count.value = len(received)
    consumer.close()
    out.put(received)


# --- the writer ----------------------------------------------------------------------------------------

def write_at_rate(conn, rows: list[dict], rate: float) -> dict[str, float]:
    """Insert rows at `rate` per second, one transaction per tick; id -> commit time."""
    from pipeline.business_events import INSERT

    commits: dict[str, float] = {}
    start, written = time.monotonic(), 0
    with conn.cursor() as cur:
        while written < len(rows):
            due = min(len(rows), int(rate * (time.monotonic() - start)) + 1)
            if due > written:
                batch = rows[written:due]
                cur.executemany(INSERT, batch)
                conn.commit()
                at = time.time()
                commits.update((r["id"], at) for r in batch)
                written = due
            sleep = start + written / rate - time.monotonic()
            time.sleep(max(0.0, min(TICK_S, sleep)))
    return commits


def write_burst(conn, rows: list[dict]) -> dict[str, float]:
    """COPY the rows, COPY_BATCH per transaction, as fast as PostgreSQL takes them; id -> commit time."""
    from pipeline.business_events import COLUMNS

    commits: dict[str, float] = {}
    with conn.cursor() as cur:
        for i in range(0, len(rows), COPY_BATCH):
            batch = rows[i:i + COPY_BATCH]
            with cur.copy(f"COPY business_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for r in batch:
                    copy.write_row([r[c] for c in COLUMNS])
            conn.commit()
            at = time.time()
            commits.update((r["id"], at) for r in batch)
    return commits


# --- the run ---------------------------------------------------------------------------------------------

def deployed_facts(cfg) -> dict:
    """What was measured: the routing job's checkpoint interval, the local connector's tuning."""
    from connectors.config import LOCAL_CONNECTOR_NAME
    from environments.local.connect import LocalConnect
    from environments.local.flink import FlinkRest
    from pipeline.errors import PipelineError
    from pipeline.rollout import JOB_NAME

    facts: dict = {"environment": "local"}
    rest, connect = FlinkRest(cfg.flink_rest_url), LocalConnect(cfg.connect_url)
    try:
        running = rest.running(JOB_NAME)
        if running:
            facts["routing_job"] = running[0]["name"]
            facts["checkpoint_interval_ms"] = rest.checkpoint_config(running[0]["jid"]).get("interval")
        config = connect.config(LOCAL_CONNECTOR_NAME) or {}
        facts["connector"] = {k: config.get(k) for k in (
            "poll.interval.ms", "max.batch.size", "max.queue.size", "producer.override.linger.ms",
            "producer.override.batch.size", "producer.override.compression.type")}
    except PipelineError as err:
        facts["facts_error"] = err.one_line()
    finally:
        rest.close()
        connect.close()
    return facts


def wait_for(count, target: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count.value >= target:
            return True
        time.sleep(0.05)
    return False


def chart(results: dict, path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rates = [r["rate"] for r in results["rates"]]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for p in ("p50", "p95", "p99", "max"):
        ax.plot(rates, [r["latency_ms"].get(p) for r in results["rates"]], marker="o", label=p)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events/s written")
    ax.set_ylabel("commit -> filtered topic (ms)")
    ax.set_title(f"e2e latency, mode {results['mode']} ({results['facts'].get('checkpoint_interval_ms')} ms checkpoints)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def main(argv: list[str] | None = None) -> int:
    from environments.settings import load_settings
    from environments.postgres import connect
    from filters.loader import load_pipeline
    from pipeline.paths import FILTERS_FILE, ROOT
    from environments.consumer_fleet import LocalConsumerFleet
    from stack.local import LocalStack
    from stack.settings import state_dir

    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="100,1000,5000", help="events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is held")
    parser.add_argument("--burst", type=int, default=60_000, help="events of the throughput phase")
    parser.add_argument("--warmup", type=int, default=30_000, help="events written and waited for first, not measured")
    parser.add_argument("--drain", type=float, default=60.0, help="how long stragglers are waited for")
    parser.add_argument("--no-deploy", action="store_true", help="measure what runs now (no deploy-pipeline)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "bench-e2e.json")
    args = parser.parse_args(argv)

    if not args.no_deploy:
        from flows.deploy_pipeline import deploy_pipeline

        deploy_pipeline("local")
    cfg = load_settings("local")
    pipeline = load_pipeline(FILTERS_FILE)
    topics = sorted({f.output_topic for f in pipeline.enabled_filters})
    stack = LocalStack(cfg.database)
    fleet = LocalConsumerFleet(state_dir() / "consumers", cfg.kafka)
    # the local routing job's sinks are exactly-once (environments/local/flink.py): read what is committed.
    # The consumer apps keep running: they are part of the deployed pipeline.
    isolation = "read_committed"
    run = uuid.uuid4().hex[:6]
    results: dict = {"run": run, "mode": "exactly-once", "isolation": isolation, "facts": deployed_facts(cfg),
                     "event_bytes": EVENT_BYTES, "rates": [], "burst": None}

    ctx = mp.get_context("spawn")
    ready, stop, count, out = ctx.Event(), ctx.Event(), ctx.Value("q", 0), ctx.Queue()
    conf = cfg.kafka.librdkafka(**{"isolation.level": isolation})
    reader = ctx.Process(target=_reader, args=(conf, topics, ready, stop, count, out), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.2):
        if not reader.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the benchmark's consumer did not get its partitions (see its error above)")

    phases: list[tuple[str, Counter, dict[str, float], dict, dict, float]] = []
    expected_total = 0
    with connect(cfg.database) as conn:
        if args.warmup:  # JIT-compiled engines: a first run after a restart is measurably slower
            rows = make_rows(run, "warmup", args.warmup)
            write_burst(conn, rows)
            expected_total += sum(expected_outputs(pipeline, rows).values())
            print(f"warm-up: {args.warmup} events {'arrived' if wait_for(count, expected_total, args.drain) else 'did not all arrive'}"
                  " (not measured)", flush=True)
        for rate in [float(r) for r in args.rates.split(",") if r.strip()]:
            rows = make_rows(run, f"r{int(rate)}", int(rate * args.seconds))
            want = expected_outputs(pipeline, rows)
            cpu0, t0 = engine_cpu(stack, fleet), time.time()
            commits = write_at_rate(conn, rows, rate)
            written_s = time.time() - t0
            expected_total += sum(want.values())
            drained = wait_for(count, expected_total, args.drain)
            phases.append((f"rate {int(rate)}/s", want, commits, cpu0, engine_cpu(stack, fleet), written_s))
            print(f"rate {int(rate)}/s: {len(rows)} events written in {written_s:.1f}s"
                  f"{'' if drained else ' (not all arrived within --drain)'}", flush=True)
        rows = make_rows(run, "burst", args.burst)
        want = expected_outputs(pipeline, rows)
        cpu0, t0 = engine_cpu(stack, fleet), time.time()
        commits = write_burst(conn, rows)
        written_s = time.time() - t0
        expected_total += sum(want.values())
        drained = wait_for(count, expected_total, args.drain + args.burst / 2000)
        phases.append(("burst", want, commits, cpu0, engine_cpu(stack, fleet), written_s))
        print(f"burst: {len(rows)} events written in {written_s:.1f}s ({len(rows) / written_s:.0f}/s into PostgreSQL)"
              f"{'' if drained else ' (not all arrived within --drain)'}", flush=True)
    time.sleep(2.0)  # a late duplicate would land now
    stop.set()
    received = out.get(timeout=120)
    reader.join(30)
    with connect(cfg.database) as conn:  # keep the table small; the deletes are not routed (operations [c])
        conn.execute("DELETE FROM business_events WHERE id LIKE %s", (f"e2e-{run}-%",))
        conn.commit()

    for name, want, commits, cpu0, cpu1, written_s in phases:
        mine = [r for r in received if r[1] in commits]
        figures = account(want, mine, commits)
        n = len(commits)
        figures["events"] = n
        figures["write_s"] = round(written_s, 2)
        figures["cpu_s_per_1k_events"] = {e: round((cpu1.get(e, 0) - cpu0.get(e, 0)) / (n / 1000), 3) for e in cpu1}
        if name == "burst":
            first = min(commits.values())
            span = (figures.pop("last_arrival") or first) - first
            figures["events_per_s"] = round(n / span) if span > 0 else None
            results["burst"] = figures
        else:
            figures.pop("last_arrival")
            figures["rate"] = int(name.split()[1].rstrip("/s"))
            results["rates"].append(figures)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    png = chart(results, args.out.with_suffix(".png"))
    facts = results["facts"]
    print(f"\ne2e benchmark (run {run}): mode {results['mode']}, consumer {isolation}, "
          f"checkpoints {facts.get('checkpoint_interval_ms')} ms, ~{EVENT_BYTES} B events")
    print(f"{'phase':>12s} {'events':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} "
          f"{'lost':>5s} {'dup':>5s}")
    for r in results["rates"]:
        lat = r["latency_ms"]
        print(f"{str(r['rate']) + '/s':>12s} {r['events']:7d} {lat.get('p50', '-'):>8} {lat.get('p95', '-'):>8} "
              f"{lat.get('p99', '-'):>8} {lat.get('max', '-'):>8} {r['lost']:5d} {r['duplicated']:5d}")
    b = results["burst"]
    print(f"{'burst':>12s} {b['events']:7d} {b['latency_ms'].get('p50', '-'):>8} {b['latency_ms'].get('p95', '-'):>8} "
          f"{b['latency_ms'].get('p99', '-'):>8} {b['latency_ms'].get('max', '-'):>8} {b['lost']:5d} {b['duplicated']:5d}")
    print(f"sustained: {b['events_per_s']} events/s commit -> filtered topic ({b['events']} events, "
          f"{b['lost']} lost, {b['duplicated']} duplicated)")
    print("CPU s per 1,000 events (burst): " + ", ".join(f"{e} {v}" for e, v in b["cpu_s_per_1k_events"].items()))
    print(f"figures: {args.out}" + (f", chart: {png}" if png else " (no chart: matplotlib is not installed)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
