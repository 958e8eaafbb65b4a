#!/usr/bin/env bash
# Runs a local PostgreSQL server for the AppHost when no container runtime is available.
# Usage: postgres.sh <data-dir> <bin-dir>; the port comes from $PORT (given by the orchestrator).
set -euo pipefail
data="$1"
bin="$2"
run=()
if [ "$(id -u)" = "0" ]; then
  # PostgreSQL refuses to run as root: drop to the postgres system user.
  run=(setpriv --reuid=postgres --regid=postgres --init-groups)
  mkdir -p "$data"
  chown postgres:postgres "$data"
fi
if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  "${run[@]}" "$bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
fi
extra=()
if [ "${PG_EPHEMERAL:-false}" = "true" ]; then
  # A throw-away database trades durability for speed.
  extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
fi
"${run[@]}" "$bin/postgres" -D "$data" -p "$PORT" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
  -c max_connections=300 -c shared_buffers=256MB "${extra[@]}" &
pid=$!
# A fast shutdown on Ctrl+C / stop, so no backend is left behind.
trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT HUP
wait "$pid" || true
wait "$pid" 2>/dev/null || true
