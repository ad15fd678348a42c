"""Bad input gets one clear line, and nothing is left half-done."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid

import psycopg
import pytest
from pydantic import SecretStr

from connectors.register import register_connector
from environments.local.connect import LocalConnect
from environments.postgres import PostgresDatabase
from pipeline.errors import ConnectorError, DatabaseError, EnvironmentProblem, TransientError
from pipeline.paths import ROOT
from pipeline.replication import setup_replication
from stack.settings import state_dir
from stack.kafka import KafkaBroker
from stack.postgres import Postgres
from tests.integration.conftest import free_port


def setup(db):
    """replication-setup's core, on a database the test chose."""
    return setup_replication(PostgresDatabase(db), db.slot_name, db.publication)


def register(env, name: str, overrides: dict, timeout: float = 90.0) -> dict:
    _, config = env.connector_config()
    return register_connector(env.connect, name, {**config, **overrides}, timeout=timeout)


def test_unreachable_database(cfg):
    port = free_port()
    db = cfg.database.model_copy(update={"port": port})
    with pytest.raises(TransientError) as info:
        setup(db)
    assert str(info.value).startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port}/cdc: Connection refused")


def test_wrong_credentials_name_the_user_and_hide_the_password(cfg, stack):
    db = cfg.database.model_copy(update={"password": SecretStr("not-the-password-123")})
    with pytest.raises(DatabaseError) as info:
        setup(db)
    assert str(info.value) == (f"PostgreSQL at 127.0.0.1:{db.port}/cdc refused the credentials of user 'cdc'"
                               " — fix: check CDC_DB_USER / CDC_DB_PASSWORD")
    assert "not-the-password-123" not in str(info.value)


def test_wal_level_not_logical_fails_with_the_fix_and_creates_nothing(cfg):
    db = cfg.database.model_copy(update={"port": free_port()})
    # under the state folder: the postgres system user cannot enter pytest's private tmp folders
    home = state_dir() / "scratch" / f"pg-replica-{uuid.uuid4().hex[:6]}"
    server = Postgres(home, db, wal_level="replica")
    try:
        server.start()
        with pytest.raises(DatabaseError) as info:
            setup(db)
        assert str(info.value) == (f"wal_level is 'replica' on 127.0.0.1:{db.port}/cdc, logical replication needs logical"
                                   " — fix: ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL")
        with psycopg.connect(**db.conninfo()) as conn:
            assert conn.execute("SELECT to_regclass('business_events')").fetchone()[0] is None
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_busy_port_is_one_line(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        busy = other.getsockname()[1]
        broker = KafkaBroker(tmp_path / "kafka", busy, free_port())
        with pytest.raises(EnvironmentProblem) as info:
            broker.start()
    assert str(info.value) == (f"kafka: port {busy} is already in use by another process"
                               " — fix: stop that process or choose another port with CDC_KAFKA_PORT=<port>")


def test_connector_config_rejected_by_connect_registers_nothing(pipeline_ready, env):
    name = f"bad-config-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ConnectorError) as info:
        register(env, name, {"snapshot.mode": "sometimes"})
    message = str(info.value)
    assert message.startswith(f"Kafka Connect rejected the config of '{name}': snapshot.mode:")
    assert "\n" not in message
    assert env.connect.status(name) is None


def test_failed_task_ends_with_its_error_summary(pipeline_ready, env):
    """Valid config, but the publication does not exist and may not be auto-created: the task FAILS."""
    name = f"failing-{uuid.uuid4().hex[:6]}"
    client: LocalConnect = env.connect
    try:
        with pytest.raises(ConnectorError) as info:
            register(env, name, timeout=60, overrides={
                "publication.name": "no_such_publication", "slot.name": f"unused_{name.replace('-', '_')}",
                "topic.prefix": name})
        assert f"connector '{name}'" in str(info.value) and "FAILED" in str(info.value)
    finally:
        client.delete(name)
        with psycopg.connect(**pipeline_ready.database.conninfo(), autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE slot_name = %s AND NOT active", (f"unused_{name.replace('-', '_')}",))


def test_flow_cli_prints_one_line_without_traceback_or_secret(stack):
    env = {**os.environ, "CDC_DB_PASSWORD": "wrong-password-xyz", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.run([sys.executable, "-m", "flows.replication_setup"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "wrong-password-xyz" not in out
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert line.startswith("error: PostgreSQL at 127.0.0.1:") and "refused the credentials of user 'cdc'" in line
