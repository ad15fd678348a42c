"""PostgreSQL from the Debian package, in its own data folder under the state folder.

Runs as the `postgres` system user when we are root (the server refuses to run as root), listens on
loopback only, and is configured for logical replication at initdb time — in postgresql.conf, not on
the command line, so that `ALTER SYSTEM` (the fix our checks print) still works.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from pipeline.errors import EnvironmentProblem
from pipeline.database_settings import DatabaseSettings
from stack.process import Engine, gone, pid_alive, port_open

SUPERUSER = "postgres"


def pg_bin_dir() -> Path:
    """Newest installed server (15+): /usr/lib/postgresql/<major>/bin."""
    candidates = []
    for path in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        try:
            candidates.append((int(path.parent.parent.name), path.parent))
        except ValueError:
            continue
    candidates = [c for c in candidates if c[0] >= 15]
    if not candidates:
        raise EnvironmentProblem("PostgreSQL 15+ server binaries are not installed (looked in /usr/lib/postgresql/*/bin)",
                                 fix="apt-get install -y postgresql (or run ./run setup)")
    return max(candidates)[1]


def scram_matches(verifier: str | None, password: str) -> bool:
    """Whether PostgreSQL's SCRAM-SHA-256 verifier (`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`)
    was made from `password` (RFC 5802 / 7677; ASCII passwords, as SASLprep leaves them unchanged)."""
    import base64
    import hashlib
    import hmac

    try:
        scheme, iter_salt, keys = (verifier or "").split("$")
        iterations, salt = iter_salt.split(":")
        stored_key, server_key = keys.split(":")
        if scheme != "SCRAM-SHA-256":
            return False
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return (hmac.compare_digest(base64.b64encode(hashlib.sha256(client_key).digest()).decode(), stored_key)
            and hmac.compare_digest(base64.b64encode(server).decode(), server_key))


class Postgres(Engine):
    def __init__(self, home: Path, db: DatabaseSettings, wal_level: str = "logical", start_timeout: float = 60):
        super().__init__(name="postgres", home=home, ports={"CDC_POSTGRES_PORT": db.port}, start_timeout=start_timeout)
        self.db = db
        self.wal_level = wal_level
        self.bin = pg_bin_dir()

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def preexec_user(self) -> str | None:
        return SUPERUSER if os.geteuid() == 0 else None

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, SUPERUSER, SUPERUSER)

    def prepare(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.home)
        self._chown(self.socket_dir)
        if (self.data / "PG_VERSION").exists():
            return
        self.data.mkdir(parents=True, exist_ok=True)
        self._chown(self.data)
        with tempfile.NamedTemporaryFile("w", dir=self.home, delete=False) as pw:
            pw.write(self.db.password.get_secret_value())
        self._chown(Path(pw.name))
        try:
            cmd = [str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=scram-sha-256",
                   f"--pwfile={pw.name}", "--encoding=UTF8", "--locale=C.UTF-8"]
            if self.preexec_user():
                cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
            proc = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            os.unlink(pw.name)
        if proc.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)  # a half-made cluster would block the next try
            raise EnvironmentProblem(f"initdb failed: {' '.join(proc.stderr.split())[-300:]}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# --- cdc-pipeline local settings ---\n"
                f"port = {self.db.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"wal_level = {self.wal_level}\n"
                "max_replication_slots = 10\n"
                "max_wal_senders = 10\n"
                "shared_buffers = 128MB\n"
                "logging_collector = off\n"
            )

    def command(self) -> list[str]:
        # the port on the command line wins over postgresql.conf: CDC_POSTGRES_PORT also moves an existing cluster
        return [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.db.port)]

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def pid(self) -> int | None:
        return self._postmaster_pid() or super().pid()

    def healthy(self) -> bool:
        if self._postmaster_pid() is None or not port_open(self.db.port):
            return False
        proc = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.db.port)])
        return proc.returncode == 0

    def start(self) -> str:
        outcome = super().start()
        self.ensure_role_and_database()
        return outcome

    def superuser_conninfo(self, dbname: str = "postgres") -> dict:
        return self.db.conninfo(user=SUPERUSER, dbname=dbname)

    def ensure_role_and_database(self) -> None:
        """The pipeline's login role (LOGIN REPLICATION) and its database, created once.

        The password is set only when the stored SCRAM verifier does not match it: setting it again would
        draw a new salt, and PgBouncer logs in with a copy of that verifier (stack/pgbouncer.py)."""
        with psycopg.connect(**self.superuser_conninfo(), autocommit=True) as conn:
            row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (self.db.user,)).fetchone()
            if row is None or not scram_matches(row[0], self.db.password.get_secret_value()):
                verb = "ALTER" if row is not None else "CREATE"
                # the password is sent as a literal inside DDL; psycopg quotes it, and it never reaches a log
                conn.execute(sql.SQL("{} ROLE {} WITH LOGIN REPLICATION PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(self.db.user), sql.Literal(self.db.password.get_secret_value())))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db.dbname,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.db.dbname), sql.Identifier(self.db.user)))

    def stop(self, timeout: float = 30.0) -> bool:
        pid = self._postmaster_pid()
        if pid is None:
            return super().stop(timeout)
        os.kill(pid, signal.SIGINT)  # "fast" shutdown: do not wait for clients (SIGTERM waits for them)
        if not gone(pid, timeout):
            os.kill(pid, signal.SIGQUIT)
        super().stop(5)
        return True
