#!/usr/bin/env bash
# Start, stop and inspect a private PostgreSQL cluster for the CRM (Debian's postgresql
# package), ready for Debezium: wal_level=logical, on a free loopback port, with the reference
# CRM's schema (deploy/local-cdc/schema.sql) in database `crm`. No Docker needed.
#
#   postgres.sh up       start (or find the running cluster) and print its connection URL
#   postgres.sh down     stop the cluster and remove its data directory
#   postgres.sh status   print the connection URL, exit 1 when no cluster runs
#
# Environment:
#   PG_STATE_DIR        where pid, port, data and log live   (default: .cache/local-cdc/postgres)
#   PG_START_TIMEOUT    seconds to wait for the server       (default: 60)
# As root the server runs as the `postgres` system user (PostgreSQL refuses to run as root),
# with its files in a directory of its own under /tmp (it may not reach into root's home).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state_dir=${PG_STATE_DIR:-$repo/.cache/local-cdc/postgres}
timeout=${PG_START_TIMEOUT:-60}

log() { echo "postgres.sh: $*" >&2; }

bindir() {
  local found
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $found ]] || { log "PostgreSQL is needed: apt-get install postgresql (or make deps)"; exit 2; }
  echo "$found"
}

# as_owner CMD...: run as the postgres system user when root, else as ourselves
as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$state_dir/port")/crm"; }

# where the server's own files live (data, log, socket): the state dir, or as root a directory
# that the postgres user owns
server_dir() {
  if [[ $(id -u) == 0 ]]; then
    echo "${TMPDIR:-/tmp}/crm-masker-postgres-$(echo "$state_dir" | sha256sum | cut -c1-12)"
  else
    echo "$state_dir"
  fi
}

running() {
  [[ -f $state_dir/port && -d $(server_dir)/data ]] \
    && as_owner "$(bindir)/pg_ctl" -D "$(server_dir)/data" status >/dev/null 2>&1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

up() {
  if running; then
    log "cluster already running"
    url
    return
  fi
  local bin port server
  bin=$(bindir)
  down_quiet
  server=$(server_dir)
  mkdir -p "$state_dir" "$server"
  port=$(free_port)
  echo "$port" > "$state_dir/port"
  [[ $(id -u) == 0 ]] && chown postgres "$server"
  as_owner "$bin/initdb" -D "$server/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 > "$state_dir/initdb.log" 2>&1 \
    || { log "initdb failed:"; cat "$state_dir/initdb.log" >&2; exit 1; }
  cat >> "$server/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$server'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  as_owner "$bin/pg_ctl" -D "$server/data" -l "$server/server.log" -w -t "$timeout" start \
      > /dev/null || { log "the server did not start:"; tail -n 30 "$server/server.log" >&2; exit 1; }
  "$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "CREATE DATABASE crm" >/dev/null
  "$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d crm \
      -f "$here/schema.sql" >/dev/null
  log "PostgreSQL started on port $port (wal_level=logical), logs in $server"
  url
}

down_quiet() {
  local server
  server=$(server_dir)
  if [[ -d $server/data ]]; then
    as_owner "$(bindir)/pg_ctl" -D "$server/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$state_dir" "$server"
}

case "${1:-}" in
  up) up ;;
  down) down_quiet; log "cluster stopped, $state_dir removed" ;;
  status)
    if running; then url; else log "no cluster running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
