"""Benchmark: end to end, from a PostgreSQL commit to the record on its filtered topic, on the local pipeline.

    ./run bench e2e [--modes exactly-once,low-latency] [--no-baseline] [--rates 100,1000,5000] [--seconds 10]
                    [--burst 60000] [--warmup 30000] [--no-deploy]

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

All of it for each delivery mode (--modes; deploy-pipeline with CDC_DELIVERY_MODE set, the stack is left in
the mode it was configured with), and for the seed as written (benchmarks/seed_baseline.py: default
connector settings, four separate INSERT jobs, on its own table and topics; --no-baseline skips it). The
benchmark's consumer reads as the mode's consumers do (read_committed / read_uncommitted). In low-latency a
topic may legitimately hold a record twice; the consumers' duplicate filter is not in this path (the apps
are measured by the smoke test and their CPU here).

Events are ~1.2 KB: six kinds, four of them routed (filters/filters.yaml), two not. Figures go to
test-output/bench-e2e.json and test-output/bench-e2e.png (latency percentiles against rate per mode), and
are printed. Figures, not assertions: record them in docs/figures.md with the command.
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
                # the filtered topics are keyed by the raw id: reading the key spares parsing 1.2 KB of JSON
                # per record, CPU the pipeline under test would otherwise lose on this 2-core machine
                rid = m.key().decode() if m.key() else json.loads(unframe(m.value())).get("id")
                received.append((m.topic(), rid, now))
        if msgs:
            count.value = len(received)
    consumer.close()
    out.put(received)


# --- the writer ----------------------------------------------------------------------------------------

def write_at_rate(conn, rows: list[dict], rate: float, table: str = "business_events") -> dict[str, float]:
    """Insert rows at `rate` per second, one transaction per tick; id -> commit time."""
    from pipeline.business_events import INSERT, TABLE

    insert = INSERT.replace(TABLE, table, 1)

    commits: dict[str, float] = {}
    start, written = time.monotonic(), 0
    with conn.cursor() as cur:
        while written < len(rows):
            due = min(len(rows), int(rate * (time.monotonic() - start)) + 1)
            if due > written:
                batch = rows[written:due]
                cur.executemany(insert, batch)
                conn.commit()
                at = time.time()
                commits.update((r["id"], at) for r in batch)
                written = due
            sleep = start + written / rate - time.monotonic()
            time.sleep(max(0.0, min(TICK_S, sleep)))
    return commits


def write_burst(conn, rows: list[dict], table: str = "business_events") -> dict[str, float]:
    """COPY the rows, COPY_BATCH per transaction, as fast as PostgreSQL takes them; id -> commit time."""
    from pipeline.business_events import COLUMNS

    commits: dict[str, float] = {}
    with conn.cursor() as cur:
        for i in range(0, len(rows), COPY_BATCH):
            batch = rows[i:i + COPY_BATCH]
            with cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
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
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    styles = {"p50": "-", "p99": "--"}
    for n, (label, target) in enumerate(results["targets"].items()):
        rates = [r["rate"] for r in target["rates"]]
        for p, style in styles.items():
            ax.plot(rates, [r["latency_ms"].get(p) for r in target["rates"]], marker="o", linestyle=style,
                    color=f"C{n}", label=f"{label} {p}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events/s written")
    ax.set_ylabel("commit -> filtered topic (ms)")
    ax.set_title(f"e2e latency per delivery mode ({results['checkpoint_interval_ms']} ms checkpoints)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def start_reader(cfg, topics: list[str], isolation: str):
    ctx = mp.get_context("spawn")
    ready, stop, count, out = ctx.Event(), ctx.Event(), ctx.Value("q", 0), ctx.Queue()
    conf = cfg.kafka.librdkafka(**{"isolation.level": isolation})
    reader = ctx.Process(target=_reader, args=(conf, topics, ready, stop, count, out), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.2):
        if not reader.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the benchmark's consumer did not get its partitions (see its error above)")
    return reader, stop, count, out


def measure(cfg, pipeline, stack, fleet, args, *, label: str, run: str, table: str, topics: list[str],
            isolation: str, rename: dict[str, str] | None = None) -> dict:
    """Warm-up, the fixed rates and the burst into `table`, read from `topics`; the figures of one target.

    `rename` maps the pipeline's topic names to the ones this target writes (the isolated baseline)."""
    from environments.postgres import connect

    tag = f"{run}-{label.replace(' ', '-')}"
    reader, stop, count, out = start_reader(cfg, topics, isolation)

    def expected(rows):
        want = expected_outputs(pipeline, rows)
        return Counter({((rename or {}).get(t, t), rid): n for (t, rid), n in want.items()})

    phases: list[tuple[str, Counter, dict[str, float], dict, dict, float]] = []
    expected_total = 0
    with connect(cfg.database) as conn:
        if args.warmup:  # JIT-compiled engines: a first run after a restart is measurably slower
            rows = make_rows(tag, "warmup", args.warmup)
            write_burst(conn, rows, table)
            expected_total += sum(expected(rows).values())
            print(f"[{label}] warm-up: {args.warmup} events "
                  f"{'arrived' if wait_for(count, expected_total, args.drain) else 'did not all arrive'} (not measured)",
                  flush=True)
        for rate in [float(r) for r in args.rates.split(",") if r.strip()]:
            rows = make_rows(tag, f"r{int(rate)}", int(rate * args.seconds))
            want = expected(rows)
            cpu0, t0 = engine_cpu(stack, fleet), time.time()
            commits = write_at_rate(conn, rows, rate, table)
            written_s = time.time() - t0
            expected_total += sum(want.values())
            drained = wait_for(count, expected_total, args.drain)
            phases.append((f"rate {int(rate)}/s", want, commits, cpu0, engine_cpu(stack, fleet), written_s))
            print(f"[{label}] rate {int(rate)}/s: {len(rows)} events written in {written_s:.1f}s"
                  f"{'' if drained else ' (not all arrived within --drain)'}", flush=True)
        rows = make_rows(tag, "burst", args.burst)
        want = expected(rows)
        cpu0, t0 = engine_cpu(stack, fleet), time.time()
        commits = write_burst(conn, rows, table)
        written_s = time.time() - t0
        expected_total += sum(want.values())
        drained = wait_for(count, expected_total, args.drain + args.burst / 2000)
        phases.append(("burst", want, commits, cpu0, engine_cpu(stack, fleet), written_s))
        print(f"[{label}] burst: {len(rows)} events written in {written_s:.1f}s "
              f"({len(rows) / written_s:.0f}/s into PostgreSQL){'' if drained else ' (not all arrived within --drain)'}",
              flush=True)
    time.sleep(2.0)  # a late duplicate would land now
    stop.set()
    received = out.get(timeout=120)
    reader.join(30)
    with connect(cfg.database) as conn:  # keep the table small; the deletes are not routed (operations [c])
        conn.execute(f"DELETE FROM {table} WHERE id LIKE %s", (f"e2e-{tag}-%",))
        conn.commit()

    figures_of: dict = {"label": label, "isolation": isolation, "rates": [], "burst": None}
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
            figures_of["burst"] = figures
        else:
            figures.pop("last_arrival")
            figures["rate"] = int(name.split()[1].rstrip("/s"))
            figures_of["rates"].append(figures)
    return figures_of


def print_target(target: dict) -> None:
    print(f"\n{target['label']} (reader {target['isolation']})")
    print(f"{'phase':>12s} {'events':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} "
          f"{'lost':>5s} {'dup':>5s}")
    rows = [(f"{r['rate']}/s", r) for r in target["rates"]] + [("burst", target["burst"])]
    for name, r in rows:
        lat = r["latency_ms"]
        print(f"{name:>12s} {r['events']:7d} {lat.get('p50', '-'):>8} {lat.get('p95', '-'):>8} "
              f"{lat.get('p99', '-'):>8} {lat.get('max', '-'):>8} {r['lost']:5d} {r['duplicated']:5d}")
    b = target["burst"]
    print(f"sustained: {b['events_per_s']} events/s commit -> filtered topic ({b['events']} events, "
          f"{b['lost']} lost, {b['duplicated']} duplicated)")
    print("CPU s per 1,000 events (burst): " + ", ".join(f"{e} {v}" for e, v in b["cpu_s_per_1k_events"].items()))


def main(argv: list[str] | None = None) -> int:
    import os

    from environments.consumer_fleet import LocalConsumerFleet
    from environments.settings import load_settings
    from filters.loader import load_pipeline
    from pipeline.delivery import MODES, VARIABLE, delivery_mode
    from pipeline.paths import FILTERS_FILE, ROOT
    from stack.local import LocalStack
    from stack.settings import state_dir

    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(MODES), help="delivery modes to measure, comma-separated")
    parser.add_argument("--no-baseline", action="store_true", help="do not measure the seed as written")
    parser.add_argument("--rates", default="100,1000,5000", help="events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is held")
    parser.add_argument("--burst", type=int, default=60_000, help="events of the throughput phase")
    parser.add_argument("--warmup", type=int, default=30_000, help="events written and waited for first, not measured")
    parser.add_argument("--drain", type=float, default=60.0, help="how long stragglers are waited for")
    parser.add_argument("--no-deploy", action="store_true",
                        help="measure what runs now in the configured mode (no deploy-pipeline, no mode switch)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "bench-e2e.json")
    args = parser.parse_args(argv)

    configured = os.environ.get(VARIABLE)
    modes = [delivery_mode(m.strip(), where="--modes").name for m in args.modes.split(",") if m.strip()]
    if args.no_deploy:
        modes = [load_settings("local").delivery_mode]
    pipeline = load_pipeline(FILTERS_FILE)
    topics = sorted({f.output_topic for f in pipeline.enabled_filters})
    run = uuid.uuid4().hex[:6]
    results: dict = {"run": run, "event_bytes": EVENT_BYTES, "targets": {}}
    try:
        for mode in modes:
            os.environ[VARIABLE] = mode
            if not args.no_deploy:
                from flows.deploy_pipeline import deploy_pipeline

                deploy_pipeline("local")
            cfg = load_settings("local")
            stack = LocalStack(cfg.database)
            fleet = LocalConsumerFleet(state_dir() / "consumers", cfg.kafka)
            facts = deployed_facts(cfg)
            results.setdefault("facts", facts)
            results["checkpoint_interval_ms"] = facts.get("checkpoint_interval_ms")
            target = measure(cfg, pipeline, stack, fleet, args, label=mode, run=run, table="business_events",
                             topics=topics, isolation=cfg.delivery.isolation_level)
            target["facts"] = facts
            results["targets"][mode] = target
        if not args.no_baseline:
            from benchmarks.seed_baseline import NAME, SeedBaseline

            from pipeline.errors import PipelineError

            cfg = load_settings("local")
            try:
                with SeedBaseline(cfg, pipeline, run) as seed:
                    results["targets"]["seed as written"] = measure(
                        cfg, pipeline, LocalStack(cfg.database), seed, args, label="seed as written",
                        run=run, table=seed.table, topics=seed.topics, isolation="read_committed",
                        rename={f.output_topic: f"{NAME}-{f.id}" for f in pipeline.enabled_filters})
            except PipelineError as err:  # the modes' figures are kept; the baseline says why it is missing
                results["baseline_error"] = err.one_line()
                print(f"seed baseline not measured: {err.one_line()}", flush=True)
    finally:
        if configured is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = configured
        if not args.no_deploy and modes and modes[-1] != delivery_mode(configured).name:
            from flows.deploy_pipeline import deploy_pipeline

            print(f"back to the configured delivery mode ({delivery_mode(configured).name})", flush=True)
            deploy_pipeline("local")

    targets = results["targets"]
    if "seed as written" in targets:
        base = targets["seed as written"]["burst"]["events_per_s"]
        results["speedup_vs_seed"] = {k: round(t["burst"]["events_per_s"] / base, 2)
                                      for k, t in targets.items() if k != "seed as written" and base
                                      and t["burst"]["events_per_s"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    png = chart(results, args.out.with_suffix(".png"))
    facts = results.get("facts", {})
    print(f"\ne2e benchmark (run {run}): checkpoints {facts.get('checkpoint_interval_ms')} ms, ~{EVENT_BYTES} B events")
    for target in targets.values():
        print_target(target)
    if "speedup_vs_seed" in results:
        print("\nsustained throughput against the seed as written: "
              + ", ".join(f"{k} {v}x" for k, v in results["speedup_vs_seed"].items()))
    print(f"figures: {args.out}" + (f", chart: {png}" if png else " (no chart: matplotlib is not installed)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
