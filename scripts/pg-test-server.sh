#!/usr/bin/env bash
# A throwaway PostgreSQL for machines where none runs (research/toolchain.md §5).
# scripts/pg-test-server.sh start|stop|status   (PGPORT_TEST=29432, PGTEST_DIR=/tmp/pgtest-$PORT)
set -euo pipefail
PORT="${PGPORT_TEST:-29432}"; DIR="${PGTEST_DIR:-/tmp/pgtest-$PORT}"; PGBIN="${PGBIN:-}"
find_pgbin() {
  if [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ]; then return; fi
  local d; for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do [ -x "$d/initdb" ] && { PGBIN="$d"; return; }; done
  if command -v initdb >/dev/null 2>&1; then PGBIN="$(dirname "$(command -v initdb)")"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; find_pgbin; return; fi
  echo "no PostgreSQL server binaries" >&2; exit 1
}
as_pg() {   # postgres refuses to run as root
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"; else "$@"; fi
}
start() {
  find_pgbin
  if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then echo "already running"; return 0; fi
  rm -rf "$DIR"; mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || as_pg true; chown postgres:postgres "$DIR"; fi
  as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT" -t 30 >/dev/null
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE test" >/dev/null
  echo "up: postgres://postgres@127.0.0.1:$PORT/test"
}
stop() { find_pgbin; [ -f "$DIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null || true; rm -rf "$DIR"; }
case "${1:-}" in start) start;; stop) stop;; status) find_pgbin; as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status;; *) echo "usage: $0 start|stop|status" >&2; exit 2;; esac
