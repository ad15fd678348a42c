#!/usr/bin/env bash
# The project's own Prefect server and worker (called by `./run prefect ...`; see docs/prefect.md).
#
#   scripts/prefect.sh up        server + work pool + `prefect deploy --all` + worker (each step idempotent)
#   scripts/prefect.sh server    start the Prefect server (API + UI) on 127.0.0.1:$CDC_PREFECT_PORT (4200)
#   scripts/prefect.sh pool      create the process work pool if it is missing
#   scripts/prefect.sh deploy    server + pool, then `prefect deploy --all` from prefect.yaml
#   scripts/prefect.sh worker    server + pool, then a process worker for the pool, in the background
#   scripts/prefect.sh status    server and worker: pid, health, log
#   scripts/prefect.sh stop [worker|server]   stop the worker, then the server (only what this script started)
#   scripts/prefect.sh ui-url    print the UI's address
#   scripts/prefect.sh env       print `export` lines that point a shell's `prefect` CLI at this server
#   scripts/prefect.sh <prefect CLI arguments>   anything else runs the Prefect CLI against this server,
#                                e.g. scripts/prefect.sh deployment run 'deploy-pipeline/local' --watch
#
# Everything Prefect keeps (database, results, logs, pid files) lives in $PREFECT_HOME =
# .state/prefect, never in ~/.prefect. A healthy server or worker started earlier is reused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PORT=${CDC_PREFECT_PORT:-4200}
POOL=cdc-local-pool  # the work pool prefect.yaml names for local runs (this script starts its worker)
CLOUD_POOL=cdc-cloud-pool  # dev/staging/prod runs: served by a worker that can reach the cloud, never this one
WORKER_NAME=${CDC_PREFECT_WORKER_NAME:-cdc-local-worker}
START_TIMEOUT=${CDC_PREFECT_START_TIMEOUT:-180}
STATE=${CDC_STATE_DIR:-$ROOT/.state}
mkdir -p "$STATE" && STATE=$(cd "$STATE" && pwd)
PHOME=$STATE/prefect
PY=$ROOT/.venv/bin/python
PREFECT_BIN=$ROOT/.venv/bin/prefect
UI_URL=http://127.0.0.1:$PORT
SERVER_LOG=$PHOME/server.log
SERVER_PID=$PHOME/server.pid
SERVER_PORT_FILE=$PHOME/server.port
WORKER_LOG=$PHOME/worker.log
WORKER_PID=$PHOME/worker.pid
DEPLOY_LOG=$PHOME/deploy.log

case "$PORT" in ''|*[!0-9]*) echo "CDC_PREFECT_PORT=$PORT is not a port number (set it to an integer)" >&2; exit 1 ;; esac
mkdir -p "$PHOME"

# Every Prefect call made here (and by the server, the worker and its flow runs) uses this server.
export PREFECT_HOME=$PHOME
export PREFECT_API_URL=$UI_URL/api
export PREFECT_UI_URL=$UI_URL
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_CLI_PROMPT=false
export PREFECT_WORKER_QUERY_SECONDS=${PREFECT_WORKER_QUERY_SECONDS:-5}
# a profile or a Prefect Cloud key from the caller's shell must not redirect these calls elsewhere
unset PREFECT_PROFILE PREFECT_API_KEY PREFECT_API_AUTH_STRING

say() { printf '[prefect] %s\n' "$*"; }
die() { printf '[prefect] %s\n' "$*" >&2; exit 1; }
[ -x "$PREFECT_BIN" ] || die "no Prefect CLI at $PREFECT_BIN; run scripts/setup.sh (or any ./run command) first"

# Small HTTP helper (the project's Python, standard library only): prints the answer's JSON, exit 1 if none.
api() {  # api METHOD PATH [JSON-BODY]
  "$PY" - "$1" "$PREFECT_API_URL$2" "${3:-}" <<'EOF'
import json, sys, urllib.request
method, url, body = sys.argv[1:4]
req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=5) as resp:
        print(json.dumps(json.load(resp)))
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
EOF
}

pid_alive() {  # pid_alive PIDFILE -> true if the pid in it is a live (non-zombie) Prefect process
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  # a pid recycled after a reboot is not ours
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q prefect
}

api_healthy() { [ "$(api GET /health 2>/dev/null)" = "true" ]; }

# The server on $PORT is ours when its settings name our PREFECT_HOME.
server_is_ours() {
  local home
  home=$(api GET /admin/settings 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("home",""))' 2>/dev/null) || return 1
  [ "$home" = "$PHOME" ]
}

rotate() { [ -s "$1" ] && mv -f "$1" "$1.1" || true; }

stop_pidfile() {  # stop_pidfile PIDFILE NAME: TERM the process group we started, KILL after 20 s
  local pid i
  pid_alive "$1" || { rm -f "$1"; return 1; }
  pid=$(cat "$1")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do pid_alive "$1" || break; sleep 0.5; done
  if pid_alive "$1"; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$1"
  say "stopped $2 (pid $pid)"
}

ensure_server() {
  if pid_alive "$SERVER_PID"; then
    local running_port
    running_port=$(cat "$SERVER_PORT_FILE" 2>/dev/null || echo "?")
    [ "$running_port" = "$PORT" ] || die "this checkout's Prefect server already runs on port $running_port (pid $(cat "$SERVER_PID")); stop it first (./run prefect stop with CDC_PREFECT_PORT=$running_port)"
    if api_healthy; then say "server: reusing pid $(cat "$SERVER_PID") at $UI_URL"; return 0; fi
    say "server: pid $(cat "$SERVER_PID") is not answering; waiting for it"
  else
    rm -f "$SERVER_PID"
    if api_healthy; then
      server_is_ours && { say "server: reusing the one at $UI_URL (not started by this script; stop leaves it)"; return 0; }
      die "port $PORT already serves a Prefect API that does not use $PHOME; stop it or set CDC_PREFECT_PORT to a free port"
    fi
    if "$PY" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $PORT)) != 0)"; then
      die "port $PORT on 127.0.0.1 is taken by something that is not a Prefect server; set CDC_PREFECT_PORT to a free port"
    fi
    rotate "$SERVER_LOG"
    say "server: starting on $UI_URL (log $SERVER_LOG)"
    # own session (setsid): it outlives this script, and `stop` ends its whole process group
    setsid "$PREFECT_BIN" server start --host 127.0.0.1 --port "$PORT" --analytics-off \
      </dev/null >"$SERVER_LOG" 2>&1 &
    echo $! >"$SERVER_PID"
    echo "$PORT" >"$SERVER_PORT_FILE"
  fi
  local t0=$SECONDS
  until api_healthy; do
    pid_alive "$SERVER_PID" || die "server: exited while starting; last lines of $SERVER_LOG: $(tail -n 5 "$SERVER_LOG" | tr '\n' ' ')"
    [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ] || die "server: not healthy after ${START_TIMEOUT}s; see $SERVER_LOG"
    sleep 1
  done
  say "server: healthy after $((SECONDS - t0))s, pid $(cat "$SERVER_PID"), UI $UI_URL"
}

ensure_pool() {
  local pool
  for pool in "$POOL" "$CLOUD_POOL"; do
    if api GET "/work_pools/$pool" >/dev/null 2>&1; then
      say "work pool: $pool exists"
    else
      "$PREFECT_BIN" work-pool create "$pool" --type process >/dev/null
      say "work pool: created $pool (type process)"
    fi
  done
}

deploy_all() {
  local t0=$SECONDS
  say "deploy: prefect deploy --all from prefect.yaml (log $DEPLOY_LOG)"
  if ! "$PREFECT_BIN" deploy --all --no-prompt "$@" </dev/null >"$DEPLOY_LOG" 2>&1; then
    die "deploy: prefect deploy failed; last lines of $DEPLOY_LOG: $(tail -n 15 "$DEPLOY_LOG" | tr '\n' ' ')"
  fi
  local names
  names=$("$PY" - "$PREFECT_API_URL" 2>/dev/null <<'EOF' || echo "(could not list them)"
import json, sys, urllib.request
def post(path):
    req = urllib.request.Request(sys.argv[1] + path, data=b'{"limit": 200}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)
flows = {f["id"]: f["name"] for f in post("/flows/filter")}
names = sorted(f'{flows.get(d["flow_id"], "?")}/{d["name"]}' for d in post("/deployments/filter"))
print(len(names), "deployments:", ", ".join(names))
EOF
)
  say "deploy: done in $((SECONDS - t0))s; $names"
}

# A worker counts as started once the API has a heartbeat from it newer than its start.
worker_online_since() {  # worker_online_since EPOCH-SECONDS
  api POST "/work_pools/$POOL/workers/filter" '{"limit": 100}' 2>/dev/null | "$PY" -c '
import datetime, json, sys
since = float(sys.argv[1]); name = sys.argv[2]
for w in json.load(sys.stdin):
    hb = w.get("last_heartbeat_time")
    if w.get("name") == name and hb and datetime.datetime.fromisoformat(hb.replace("Z", "+00:00")).timestamp() >= since:
        sys.exit(0)
sys.exit(1)' "$1" "$WORKER_NAME"
}

ensure_worker() {
  if pid_alive "$WORKER_PID"; then
    say "worker: reusing pid $(cat "$WORKER_PID") ($WORKER_NAME on $POOL, log $WORKER_LOG)"
    return 0
  fi
  rm -f "$WORKER_PID"
  rotate "$WORKER_LOG"
  local since t0=$SECONDS
  since=$(( $(date +%s) - 2 ))
  setsid "$PREFECT_BIN" worker start --pool "$POOL" --type process --name "$WORKER_NAME" \
    </dev/null >"$WORKER_LOG" 2>&1 &
  echo $! >"$WORKER_PID"
  until worker_online_since "$since"; do
    pid_alive "$WORKER_PID" || die "worker: exited while starting; last lines of $WORKER_LOG: $(tail -n 5 "$WORKER_LOG" | tr '\n' ' ')"
    [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ] || die "worker: no heartbeat after ${START_TIMEOUT}s; see $WORKER_LOG"
    sleep 1
  done
  say "worker: $WORKER_NAME polling $POOL after $((SECONDS - t0))s, pid $(cat "$WORKER_PID"), log $WORKER_LOG"
}

status() {
  local rc=0
  if pid_alive "$SERVER_PID" && api_healthy; then
    say "server: healthy, pid $(cat "$SERVER_PID"), UI $UI_URL, log $SERVER_LOG"
  elif api_healthy; then
    say "server: a Prefect API answers at $UI_URL but was not started by this script"
  else
    say "server: not running (log $SERVER_LOG)"; rc=1
  fi
  if pid_alive "$WORKER_PID"; then
    say "worker: running, pid $(cat "$WORKER_PID"), $WORKER_NAME on $POOL, log $WORKER_LOG"
  else
    say "worker: not running (log $WORKER_LOG)"; rc=1
  fi
  return $rc
}

require_server() {
  api_healthy || die "no Prefect server answers at $UI_URL; start it with ./run prefect up (or: ./run prefect server)"
}

cmd=${1:-help}; [ $# -gt 0 ] && shift

case "$cmd" in
  up) ensure_server; ensure_pool; deploy_all "$@"; ensure_worker
      say "ready: UI $UI_URL/runs; run: ./run prefect deployment run 'deploy-pipeline/local' --watch" ;;
  server) ensure_server ;;
  pool) ensure_server; ensure_pool ;;
  deploy) ensure_server; ensure_pool; deploy_all "$@" ;;
  worker) ensure_server; ensure_pool; ensure_worker ;;
  status) status ;;
  stop)
    what=${1:-all}
    case "$what" in all|worker|server) ;; *) die "stop what? worker, server or nothing (both)" ;; esac
    if [ "$what" != server ]; then stop_pidfile "$WORKER_PID" worker || say "worker: was not running"; fi
    if [ "$what" != worker ]; then
      stop_pidfile "$SERVER_PID" server || say "server: was not running (by this script)"
      rm -f "$SERVER_PORT_FILE"
    fi ;;
  ui-url) echo "$UI_URL" ;;
  env)
    printf 'export PREFECT_HOME=%q\nexport PREFECT_API_URL=%q\nexport PREFECT_UI_URL=%q\nexport PATH=%q:"$PATH"\n' \
      "$PHOME" "$PREFECT_API_URL" "$UI_URL" "$ROOT/.venv/bin" ;;
  help|-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) require_server; exec "$PREFECT_BIN" "$cmd" "$@" ;;
esac
