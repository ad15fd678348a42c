"""The seed as written, set up beside the deployed pipeline for `./run bench e2e` to measure on the same data.

What "as written" means here (../shared/seed/cdc-streaming-architecture.md):
- the connector with Debezium's default settings: the local default variant's shape (ExtractNewRecordState,
  RegexRouter, JSON) but none of our tuning (poll.interval.ms 500, the Connect producer's defaults). It runs
  on the same Connect worker, which has exactly-once source support enabled: a worker so configured writes
  every source task's records and offsets in transactions (KIP-618; `exactly.once.support` only says whether
  a connector insists), so the baseline pays for transactional capture as the pipeline does;
- the routing as four separate INSERT statements, each its own Flink job reading the raw topic on its own,
  with sinks that carry no delivery or producer options (open-source Flink's default, at-least-once, which is
  cheaper than exactly-once: a conservative baseline).

Its four consumer apps run too (ours, in exactly-once mode, reading the baseline's topics), so that both sides
of the comparison pay for their consumers, as a deployed pipeline does.

Everything is isolated by name so that the deployed pipeline neither sees nor pays for it: its own table
`bench_seed_events` (the business_events DDL), publication, replication slot, connector, raw topic
`bench-seed-raw` and filtered topics `bench-seed-<filter id>`. `SeedBaseline` is a context manager: on exit it
cancels the jobs, deletes the connector, drops the slot, publication and table, and deletes the topics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from connectors.config import LOCAL_EXACTLY_ONCE, LOCAL_TUNING, ConnectorTarget, build_config, password_reference
from connectors.variants import LOCAL_DEFAULT
from consumers.registry import CONSUMERS
from environments.kafka import KafkaClients
from environments.local.bounded_run import isolate
from environments.local.connect import LocalConnect, write_connect_secrets
from environments.local.flink import FlinkRest, SqlGateway
from environments.postgres import connect
from filters.compiler import LocalOptions, compile_job
from pipeline.business_events import SCHEMA_DDL, TABLE
from pipeline.paths import ROOT
from pipeline.polling import poll_until
from stack.settings import state_dir

NAME = "bench-seed"
TABLE_NAME = "bench_seed_events"
PUBLICATION = "bench_seed_publication"
SLOT = "bench_seed_slot"
#: + the run's token: Connect keeps a deleted connector's offsets, which a new slot cannot serve
CONNECTOR = "bench-seed-baseline"


def seed_connector_config(cfg, secrets_file: str, token: str = "") -> dict[str, str]:
    """The local default connector, pointed at the baseline's table and topic, without LOCAL_TUNING."""
    db = cfg.database
    target = ConnectorTarget(name=CONNECTOR + token, db_host=db.host, db_port=str(db.port), db_name=db.dbname,
                             db_user=db.user, db_password=password_reference(secrets_file), slot_name=SLOT,
                             publication=PUBLICATION, table=f"public.{TABLE_NAME}", raw_topic=f"{NAME}-raw",
                             topic_prefix="benchseed" + token.replace("-", ""),
                             # the seed has no heartbeat table; the benchmark's writes keep its slot moving
                             heartbeat_action_query=None)
    config = build_config(LOCAL_DEFAULT, target)
    return {k: v for k, v in config.items() if k not in LOCAL_TUNING and k not in LOCAL_EXACTLY_ONCE and k != "name"}


def seed_jobs(pipeline, bootstrap: str) -> list[tuple[str, tuple[str, ...]]]:
    """(job name, statements) per route: source DDL, one sink DDL, one INSERT — the seed's separate statements."""
    isolated, _ = isolate(pipeline, NAME)
    jobs = []
    for f in isolated.enabled_filters:
        options = LocalOptions(bootstrap_servers=bootstrap, group_id=f"{NAME}-{f.id}", producer_properties=())
        job = compile_job(isolated, "local", local=options)
        route = next(r for r in job.routes if r.filter_id == f.id)
        sink = route.sink_ddl.replace("    'sink.delivery-guarantee' = 'at-least-once'\n", "")
        sink = sink.replace("'value.fields-include' = 'ALL',", "'value.fields-include' = 'ALL'")
        jobs.append((f"{NAME}-{f.id}", (job.source_ddl, sink, route.insert)))
    return jobs


class _Proc:
    """What benchmarks.e2e.engine_cpu reads of a consumer: its pid."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen

    def pid(self) -> int | None:
        return self.popen.pid if self.popen.poll() is None else None


class SeedBaseline:
    def __init__(self, cfg, pipeline, token: str):
        self.cfg, self.pipeline = cfg, pipeline
        self.connector = f"{CONNECTOR}-{token}"
        self.token = f"-{token}"
        self.table = TABLE_NAME
        self.topics = sorted(f"{NAME}-{f.id}" for f in pipeline.enabled_filters)
        self.job_ids: list[str] = []
        self.connect = LocalConnect(cfg.connect_url)
        self.rest = FlinkRest(cfg.flink_rest_url)
        self.kafka = KafkaClients(cfg.kafka)
        self.consumers: list[_Proc] = []
        self.groups: list[str] = []

    def __enter__(self) -> SeedBaseline:
        try:
            self._up()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _up(self) -> None:
        ddl = [s.replace(TABLE, TABLE_NAME) for s in SCHEMA_DDL]
        with connect(self.cfg.database) as conn:
            for statement in ddl:
                conn.execute(statement)
            if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (PUBLICATION,)).fetchone():
                conn.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {TABLE_NAME}")
            conn.commit()
        for topic in [f"{NAME}-raw", *self.topics]:
            self.kafka.ensure_topic(topic, self.cfg.raw_topic_partitions)
        secrets = write_connect_secrets(state_dir() / "secrets", self.cfg.database.password.get_secret_value())
        self.connect.put_config(self.connector, seed_connector_config(self.cfg, secrets, self.token))
        self.connect.wait_running(self.connector)
        with SqlGateway(self.cfg.sql_gateway_url) as gw:
            for name, statements in seed_jobs(self.pipeline, self.cfg.kafka_bootstrap):
                gw.execute(f"SET 'pipeline.name' = '{name}'")
                for ddl in statements[:-1]:
                    gw.execute(ddl)
                result = gw.execute(statements[-1])
                self.job_ids.append(result.job_id or result.rows[0][0])
        for job_id in self.job_ids:
            self.rest.wait_state(job_id, {"RUNNING"}, timeout=120)
        folder = state_dir() / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        by_topic = {f.output_topic: f"{NAME}-{f.id}" for f in self.pipeline.enabled_filters}
        for spec in CONSUMERS.values():
            if spec.topic not in by_topic:
                continue
            group = f"{NAME}-{spec.name}{self.token}"
            self.groups.append(group)
            env = {**os.environ, "PYTHONPATH": str(ROOT), **spec.environment(
                bootstrap_servers=self.cfg.kafka_bootstrap, topic=by_topic[spec.topic], group_id=group,
                processed_output=folder / "seed-processed.jsonl", delivery_mode="exactly-once")}
            with open(folder / f"seed-consumer-{spec.name}.log", "ab") as log:
                self.consumers.append(_Proc(subprocess.Popen(spec.command(sys.executable), env=env, cwd=folder,
                                                             stdout=log, stderr=subprocess.STDOUT)))

    def processes(self) -> list[_Proc]:
        """The baseline's consumer apps (for the benchmark's CPU accounting)."""
        return self.consumers

    def __exit__(self, *exc) -> None:
        for proc in self.consumers:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
                try:
                    proc.popen.wait(30)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
        for job_id in self.job_ids:
            try:
                self.rest.cancel(job_id)
            except Exception as err:  # keep cleaning up; say what is left
                print(f"seed baseline: could not cancel Flink job {job_id}: {err}")
        self.connect.delete(self.connector)
        with connect(self.cfg.database) as conn:
            def slot_released() -> bool:
                row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone()
                return row is None or not row[0]

            poll_until(slot_released, timeout=60, what=f"replication slot {SLOT} released")
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                         (SLOT,))
            conn.execute(f"DROP PUBLICATION IF EXISTS {PUBLICATION}")
            conn.execute(f"DROP TABLE IF EXISTS {TABLE_NAME}")
            conn.commit()
        admin = self.kafka.admin()
        futures = list(admin.delete_topics([f"{NAME}-raw", *self.topics, *(t + ".dlq" for t in self.topics)],
                                           operation_timeout=30).values())
        if self.groups:
            futures += list(admin.delete_consumer_groups(self.groups).values())
        for future in futures:
            try:
                future.result(30)
            except Exception:  # a DLQ topic that was never created, a group already gone
                pass
        self.connect.close()
        self.rest.close()
