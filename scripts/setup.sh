#!/usr/bin/env bash
# Install whatever this machine lacks for the local environment, then fetch the engines' distributions.
# Idempotent and quiet when everything is already there. Debian/Ubuntu (apt) machines.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

apt_missing=()
have_pg_server() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }
java_major() { java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}'; }

have_pg_server || apt_missing+=(postgresql)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || apt_missing+=(pgbouncer)  # the API's pooler
command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null || apt_missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || apt_missing+=(maven)
command -v runuser >/dev/null 2>&1 || apt_missing+=(util-linux)
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)  # headless browser for the Prefect UI test
PY=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY=$(command -v "$cand"); break; fi
done
if [ -z "$PY" ]; then apt_missing+=(python3.11 python3.11-venv); fi
if [ -n "$PY" ] && ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_missing+=(python3.11-venv); fi
for extra in ${CDC_SETUP_EXTRA_APT:-}; do apt_missing+=("$extra"); done

if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
  [ -n "$PY" ] || PY=$(command -v python3.11)
fi

# Python environment, reinstalled only when the pins change
stamp=".venv/.installed"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating the Python environment (.venv) from requirements.lock"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements.lock
  echo "$want" > "$stamp"
fi

# OpenTofu (the terraform CLI for terraform/): built once from the Go module proxy at a pinned version and kept
# outside the checkout, so every clone on this machine reuses it. `go install` refuses the module (its go.mod has a
# replace directive), so it is built from the downloaded module directory, where the replace applies.
TOFU_VERSION=v1.10.6
TOFU_DIR="${CDC_TOOLS_DIR:-$HOME/.cache/cdc-pipeline}/opentofu/$TOFU_VERSION"
if [ ! -x "$TOFU_DIR/tofu" ]; then
  # the machine's Go (/usr/local/go) even where it is not on PATH; an older Go (>= 1.21) fetches the toolchain the
  # module asks for from the Go module proxy (GOTOOLCHAIN=auto)
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  command -v go >/dev/null 2>&1 || { apt_go=1; say "installing Debian package: golang-go"; SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"; \
    $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go >/dev/null; }
  say "building OpenTofu $TOFU_VERSION from the Go module proxy (once per machine, about 2-3 min)"
  t0=$SECONDS
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$TOFU_DIR"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$TOFU_DIR/tofu.tmp" ./cmd/tofu)
  mv "$TOFU_DIR/tofu.tmp" "$TOFU_DIR/tofu"
  say "OpenTofu $TOFU_VERSION built in $((SECONDS - t0))s: $TOFU_DIR/tofu"
fi
mkdir -p .state/bin
ln -sfn "$TOFU_DIR/tofu" .state/bin/tofu

# checkov (offline scan of terraform/ in the tests) in an environment of its own, kept per machine: it pins
# boto3, packaging and others at versions that clash with ours (scripts/checkov.lock)
CHECKOV_DIR="${CDC_TOOLS_DIR:-$HOME/.cache/cdc-pipeline}/checkov-$(sha256sum scripts/checkov.lock | cut -c1-12)"
if [ ! -f "$CHECKOV_DIR/.installed" ]; then  # (a venv cannot be moved once made: built in place, marked at the end)
  say "installing checkov into $CHECKOV_DIR (once per machine)"
  rm -rf "$CHECKOV_DIR"
  "$PY" -m venv "$CHECKOV_DIR"
  "$CHECKOV_DIR/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$CHECKOV_DIR/bin/python" -m pip install -q -r scripts/checkov.lock
  touch "$CHECKOV_DIR/.installed"
fi
ln -sfn "$CHECKOV_DIR/bin/checkov" .state/bin/checkov

# Engine distributions: jars from Maven Central, Flink from its PyPI wheels (cached, idempotent)
.venv/bin/python -m stack fetch >/dev/null
say "ready"
