#!/usr/bin/env bash
# The load benchmark in one command (README, "Load benchmark"):
#
#   benches/load.sh                          # SQLite in a temporary directory
#   .ci/with-postgres benches/load.sh        # a throw-away PostgreSQL
#   ENVAGIN_DATABASE_URL=postgres://… benches/load.sh   # your (empty) database
#
# Builds the release binaries, seeds SEED requests (default 1 000 000),
# starts the server, runs envagin-bench with the baseline and prints the
# Markdown table; extra arguments go to envagin-bench (e.g.
# `--duration 10s --scenario submit,status`). Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=${SEED:-1000000}
port=${PORT:-18080}
work=$(mktemp -d /tmp/envagin-load.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin envagin --bin envagin-bench
bin="${CARGO_TARGET_DIR:-target}/release"

# The server and the bench share these: staff tokens are minted by the
# bench, seeded personal numbers are found by a digest under the key.
ENVAGIN_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ENVAGIN_SEARCH_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ENVAGIN_JWT_SECRET ENVAGIN_SEARCH_KEY
export ENVAGIN_DATA_DIR="$work"

if [ -n "${ENVAGIN_DATABASE_URL:-}" ]; then
  label=${LABEL:-PostgreSQL}
elif [ -n "${ENVAGIN_TEST_DATABASE_URL:-}" ]; then
  # .ci/with-postgres: a database of our own on its server.
  psql "$ENVAGIN_TEST_DATABASE_URL" -qc "CREATE DATABASE envagin_load" >/dev/null
  export ENVAGIN_DATABASE_URL="${ENVAGIN_TEST_DATABASE_URL%/*}/envagin_load"
  label=${LABEL:-PostgreSQL}
else
  export ENVAGIN_DATABASE_URL="sqlite://$work/envagin.db?mode=rwc"
  label=${LABEL:-SQLite}
fi

echo "seeding $seed requests …" >&2
"$bin/envagin-bench" --seed "$seed" --pairs-file "$work/pairs.tsv" >&2

# Every bench client is 127.0.0.1: lift the per-address submission budget.
ENVAGIN_SUBMIT_MAX_PER_ADDRESS=0 ENVAGIN_ADDR="127.0.0.1:$port" \
  "$bin/envagin" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

"$bin/envagin-bench" --target "http://127.0.0.1:$port" --pairs-file "$work/pairs.tsv" \
  --clients 64 --handlers 16 --baseline --label "$label" "$@"
