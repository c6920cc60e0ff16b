#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on 127.0.0.1 and a port of its own, in a temporary
# data directory. `start` prints the export line for LUNA_TEST_POSTGRES_URL; `stop` stops
# the server and removes its files.
#   eval "$(bash scripts/postgres.sh start)"; ...; bash scripts/postgres.sh stop
set -euo pipefail
# One server per checkout: two clones testing at once must not share (and reset) one.
checkout_hash="$(pwd -P | cksum | cut -d' ' -f1)"
dir="${LUNA_PG_DIR:-/tmp/luna-test-pg-$checkout_hash}"
port="${LUNA_PG_PORT:-$((54000 + checkout_hash % 1000))}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"

as_owner() {
    # initdb refuses to run as root: run the server as the postgres user then.
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

case "${1:-}" in
start)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "PostgreSQL server binaries not found (Debian: apt-get install postgresql)" >&2
        exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb -D $dir/data -U luna --auth=trust --no-sync" >"$dir.initdb.log" 2>&1
    as_owner "$bin/pg_ctl -D $dir/data -l $dir/server.log -w -o \"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
    as_owner "$bin/createdb -h 127.0.0.1 -p $port -U luna luna_test"
    echo "export LUNA_TEST_POSTGRES_URL=postgresql+asyncpg://luna@127.0.0.1:$port/luna_test"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl -D $dir/data -m fast -w stop" >/dev/null; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
