"""PgBouncer from the Debian package: the producer API's connection pooler, the local analog of RDS Proxy.

Transaction pooling in front of the stack's PostgreSQL: any number of client connections (up to
`MAX_CLIENT_CONN`) share at most `MAX_SERVER_CONN` (20) server connections. CDC does not go through it —
Debezium's replication connection talks to PostgreSQL directly, as the seed says.

Authentication: clients log in with SCRAM-SHA-256 against `userlist.txt`, generated from PostgreSQL's own
`pg_authid` verifier of the pipeline's role — a SCRAM secret, not the password — so PgBouncer can also log
in to the server with the client's SCRAM keys (identical secrets on both sides). The userlist and the
ini file live under the state folder with mode 0600; no password is written anywhere. The same role is a
`stats_users` member, so it can read `SHOW POOLS` / `SHOW SERVERS` on the admin console (database
`pgbouncer`, simple query protocol only: psycopg's `ClientCursor`).
"""

from __future__ import annotations

import os
import shutil

import psycopg

from pipeline.database_settings import DatabaseSettings
from pipeline.errors import EnvironmentProblem
from stack.process import Engine, port_open
from stack.settings import write_secret_file

MAX_SERVER_CONN = 20
MAX_CLIENT_CONN = 2000
RUN_AS = "postgres"  # pgbouncer refuses to run as root


def pgbouncer_bin() -> str:
    path = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if not path:
        raise EnvironmentProblem("PgBouncer is not installed (no pgbouncer on PATH or in /usr/sbin)",
                                 fix="apt-get install -y pgbouncer (or run ./run setup)")
    return path


class PgBouncer(Engine):
    def __init__(self, home, port: int, database: DatabaseSettings, superuser_conninfo: dict,
                 start_timeout: float = 30):
        super().__init__(name="pgbouncer", home=home, ports={"CDC_PGBOUNCER_PORT": port}, start_timeout=start_timeout)
        self.port = port
        self.database = database  # the PostgreSQL behind it
        self._superuser = superuser_conninfo

    # -- what clients use ------------------------------------------------------------------------------
    def client_settings(self) -> DatabaseSettings:
        """How a client (the producer API) reaches the database through PgBouncer."""
        return self.database.model_copy(update={"host": "127.0.0.1", "port": self.port})

    def admin_connect(self) -> psycopg.Connection:
        """The admin console (`SHOW POOLS`, `SHOW SERVERS`, ...) as the stats user."""
        return psycopg.connect(**self.client_settings().conninfo(dbname="pgbouncer"), autocommit=True,
                               cursor_factory=psycopg.ClientCursor)

    def serves(self) -> bool:
        """Whether a client gets a server connection through PgBouncer now. After PostgreSQL was down, PgBouncer
        answers "server login has been failing" until one of its own logins succeeds again; asking is what
        makes it try (every server_login_retry seconds)."""
        try:
            with psycopg.connect(**self.client_settings().conninfo(connect_timeout=2,
                                                                   application_name="cdc-pooler-check"),
                                 autocommit=True, prepare_threshold=None) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    # -- engine --------------------------------------------------------------------------------------------
    @property
    def ini_path(self):
        return self.home / "pgbouncer.ini"

    @property
    def userlist_path(self):
        return self.home / "userlist.txt"

    def preexec_user(self) -> str | None:
        return RUN_AS if os.geteuid() == 0 else None

    def _own(self, *paths) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, RUN_AS, RUN_AS)

    def write_userlist(self) -> bool:
        """userlist.txt from PostgreSQL's SCRAM verifier of the role; True when its content changed."""
        try:
            with psycopg.connect(**self._superuser, autocommit=True) as conn:
                row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                                   (self.database.user,)).fetchone()
        except psycopg.Error as err:
            raise EnvironmentProblem(f"pgbouncer: cannot read the role's SCRAM secret from PostgreSQL: "
                                     f"{' '.join(str(err).split())[:200]}", fix="start PostgreSQL first") from None
        if not row or not (row[0] or "").startswith("SCRAM-SHA-256$"):
            raise EnvironmentProblem(f"pgbouncer: role {self.database.user!r} has no SCRAM-SHA-256 password in "
                                     f"PostgreSQL", fix="./run stack up (creates the role with its password)")
        content = f'"{self.database.user}" "{row[0]}"\n'
        before = self.userlist_path.read_text() if self.userlist_path.exists() else None
        write_secret_file(self.userlist_path, content)
        self._own(self.userlist_path)
        return before != content

    def ini(self) -> str:
        db = self.database
        return "\n".join([
            "; generated by stack/pgbouncer.py — rewritten on every start",
            "[databases]",
            f"{db.dbname} = host={db.host} port={db.port} dbname={db.dbname}",
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = scram-sha-256",
            f"auth_file = {self.userlist_path}",
            "pool_mode = transaction",
            f"max_client_conn = {MAX_CLIENT_CONN}",
            f"default_pool_size = {MAX_SERVER_CONN}",
            f"max_db_connections = {MAX_SERVER_CONN}",
            "reserve_pool_size = 0",
            f"stats_users = {db.user}",
            "ignore_startup_parameters = extra_float_digits",
            "server_login_retry = 2",
            # one server connection kept open: after PostgreSQL was down PgBouncer logs in again by itself within
            # server_login_retry, instead of kicking the first client that asks ("server login has been failing")
            "min_pool_size = 1",
            "query_wait_timeout = 5",  # a client waiting this long for a server connection gets an error (the API: 503)
            "log_connections = 0",
            "log_disconnections = 0",
            "",
        ])

    def prepare(self) -> None:
        self._own(self.home)
        self.write_userlist()
        write_secret_file(self.ini_path, self.ini())
        self._own(self.ini_path)
        self._own(self.home)

    def command(self) -> list[str]:
        # one descriptor per client and server connection: lift the soft limit (often 1024) towards the hard one
        return ["/bin/sh", "-c", f'ulimit -n {MAX_CLIENT_CONN + 100} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; '
                                 'exec "$0" "$1"', pgbouncer_bin(), str(self.ini_path)]

    def start(self) -> str:
        outcome = super().start()
        if outcome == "reused":
            stale_ini = not self.ini_path.exists() or self.ini_path.read_text() != self.ini()
            # a changed password: a reload (SIGHUP) keeps the SCRAM keys of the old secret, so restart, as for
            # a changed configuration (e.g. another PostgreSQL port)
            if self.write_userlist() or stale_ini:
                self.stop()
                outcome = super().start()
        return outcome

    def healthy(self) -> bool:
        if self.pid() is None or not port_open(self.port):
            return False
        try:
            with self.admin_connect() as conn:
                conn.execute("SHOW VERSION")
            return True
        except psycopg.Error:
            return False


def pool_counts(admin: psycopg.Connection, dbname: str) -> tuple[int, int]:
    """(client connections, server connections) PgBouncer has for `dbname` now, from `SHOW POOLS`."""
    cur = admin.execute("SHOW POOLS")
    cols = [c.name for c in cur.description]
    clients = servers = 0
    for row in cur.fetchall():
        rec = dict(zip(cols, row))
        if rec["database"] == dbname:
            clients += sum(int(rec.get(k) or 0) for k in ("cl_active", "cl_waiting"))
            servers += sum(int(rec.get(k) or 0) for k in SERVER_STATES)
    return clients, servers


SERVER_STATES = ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login", "sv_active_cancel", "sv_being_canceled")


class PoolSampler:
    """Samples `SHOW POOLS` in a thread while a load runs: the most client and server connections seen.

    `with PoolSampler(bouncer, "cdc") as s: ...` then `s.max_clients`, `s.max_servers`, `s.samples`.
    """

    def __init__(self, bouncer: PgBouncer, dbname: str, every: float = 0.005):
        import threading

        self.bouncer, self.dbname, self.every = bouncer, dbname, every
        self.max_clients = self.max_servers = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pgbouncer-sampler", daemon=True)
        self.error: Exception | None = None

    def _run(self) -> None:
        try:
            with self.bouncer.admin_connect() as admin:
                while True:
                    clients, servers = pool_counts(admin, self.dbname)
                    self.max_clients = max(self.max_clients, clients)
                    self.max_servers = max(self.max_servers, servers)
                    self.samples += 1
                    if self._stop.wait(self.every):  # the sampling interval; returns True once stopped
                        return
        except Exception as err:  # reported by __exit__: a sampler that saw nothing must not pass as "0 used"
            self.error = err

    def __enter__(self) -> PoolSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        if self.error is not None and exc[0] is None:
            raise EnvironmentProblem(f"sampling PgBouncer's pools failed: {' '.join(str(self.error).split())[:200]}")
