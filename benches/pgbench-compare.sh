#!/usr/bin/env bash
# Is txlab's bench client the bottleneck? Runs the same transaction with pgbench and with
# `txlab bench` on the same server and client count, alternating, and prints txlab's throughput
# as a ratio to pgbench's (target, issue 14: >= 0.95).
#
# The transaction is the `atomic` strategy: BEGIN; guarded debit and credit in id order (two
# UPDATEs); INSERT into the ledger; COMMIT — for `transfer` between ACCOUNTS accounts, or the
# increment of one hot row for `counter`. pgbench runs it in prepared mode (-M prepared), as txlab
# does. Balances start at 1,000,000.00 and transfers move at most 100.00, so the guard never
# refuses and both clients send exactly the same statements.
#
# Usage: benches/pgbench-compare.sh            (starts a throwaway cluster, like txlab does)
#        DATABASE_URL=postgres://… benches/pgbench-compare.sh
# Settings (environment): WORKLOAD=transfer|counter  CLIENTS=8  ACCOUNTS=1000  DURATION=10
#        ROUNDS=3 (each round runs both, alternating which goes first; medians are compared)
#        JOBS=2 (pgbench -j)
#        TXLAB=target/release/txlab  TXLAB_ARGS="--threads 2" (extra flags for txlab bench)
set -euo pipefail

WORKLOAD=${WORKLOAD:-transfer}
CLIENTS=${CLIENTS:-8}
ACCOUNTS=${ACCOUNTS:-1000}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
TXLAB=${TXLAB:-$root/target/release/txlab}
[ "$WORKLOAD" = counter ] && ACCOUNTS=1

if [ ! -x "$TXLAB" ]; then
    (cd "$root" && cargo build --release --quiet)
fi
PGBENCH=$(command -v pgbench || true)
bindir=""
for d in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then bindir=$d; break; fi
done
[ -z "$PGBENCH" ] && [ -n "$bindir" ] && [ -x "$bindir/pgbench" ] && PGBENCH=$bindir/pgbench
[ -z "$PGBENCH" ] && { echo "error: pgbench not found (apt-get install postgresql-contrib or postgresql)" >&2; exit 2; }

work=$(mktemp -d /tmp/txlab-pgbench-XXXXXX)
chmod 755 "$work"
cleanup() {
    if [ -f "$work/data/postmaster.pid" ]; then
        as_server "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

as_server() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${DATABASE_URL:-}" ]; then
    [ -z "$bindir" ] && { echo "error: no DATABASE_URL and no initdb found" >&2; exit 2; }
    [ "$(id -u)" = 0 ] && chown postgres "$work"
    as_server "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
    # The settings txlab gives its throwaway cluster, and the socket in the work directory.
    cat "$root/benches/throwaway-server.conf" >> "$work/data/postgresql.conf"
    echo "unix_socket_directories = '$work'" >> "$work/data/postgresql.conf"
    as_server "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
    DATABASE_URL="host=$work port=5432 user=postgres dbname=postgres"
fi

psql_bin=$(command -v psql || echo "$bindir/psql")
sql() { PGOPTIONS="-c client_min_messages=warning" "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
server_version=$(sql -At -c "SHOW server_version")

# The same tables txlab creates (benches/pgbench-tables.sql), in a schema of our own.
setup() {
    sql -v accounts="$ACCOUNTS" -f "$root/benches/pgbench-tables.sql"
}

script=$work/atomic-$WORKLOAD.sql
if [ "$WORKLOAD" = transfer ]; then
    cat > "$script" <<'PGB'
\set from random(1, :accounts)
\set to random(1, :accounts - 1)
\if :to >= :from
\set to :to + 1
\endif
\set cents random(100, 10000)
\set lo least(:from, :to)
\set hi greatest(:from, :to)
BEGIN;
\if :lo = :from
UPDATE accounts SET balance = balance - :cents / 100.0 WHERE id = :lo AND balance >= :cents / 100.0;
UPDATE accounts SET balance = balance + :cents / 100.0 WHERE id = :hi;
\else
UPDATE accounts SET balance = balance + :cents / 100.0 WHERE id = :lo;
UPDATE accounts SET balance = balance - :cents / 100.0 WHERE id = :hi AND balance >= :cents / 100.0;
\endif
INSERT INTO ledger (from_id, to_id, amount) VALUES (:from, :to, :cents / 100.0);
COMMIT;
PGB
else
    cat > "$script" <<'PGB'
BEGIN;
UPDATE counter SET value = value + 1 WHERE id = 1;
INSERT INTO ledger (from_id, to_id, amount) VALUES (NULL, 1, 1);
COMMIT;
PGB
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "PostgreSQL $server_version · $WORKLOAD · atomic · $CLIENTS clients · $ACCOUNTS accounts · ${DURATION}s x $ROUNDS rounds · pgbench -j $JOBS · txlab ${TXLAB_ARGS:-(defaults)}"
pg_runs=(); tx_runs=()
TIMEFORMAT='%U %S'
cpu() { awk '{printf "%.1f", $1 + $2}' "$1"; }
run_pgbench() {
    setup
    { time PGOPTIONS="-c search_path=txlab_pgbench" "$PGBENCH" -n -M prepared -c "$CLIENTS" \
        -j "$JOBS" -T "$DURATION" -D accounts="$ACCOUNTS" -f "$script" "$DATABASE_URL" \
        >"$work/pgbench.out" 2>&1 ; } 2>"$work/pgbench.time"
    pg=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out" | tail -1)
}
run_txlab() {
    { time "$TXLAB" --database-url "$DATABASE_URL" bench "$WORKLOAD" --strategy atomic \
        --clients "$CLIENTS" --accounts "$ACCOUNTS" --duration "${DURATION}s" --warmup 1s \
        --format json ${TXLAB_ARGS:-} >"$work/txlab.out" 2>/dev/null ; } 2>"$work/txlab.time"
    tx=$(sed -n 's/^ *"tps": \([0-9.]*\).*/\1/p' "$work/txlab.out" | head -1)
}
for round in $(seq 1 "$ROUNDS"); do
    # Alternate who goes first, so a change in the machine's load does not favour one side.
    if [ $((round % 2)) = 1 ]; then run_pgbench; run_txlab; else run_txlab; run_pgbench; fi
    printf 'round %d: pgbench %6.0f tx/s (client CPU %4ss)   txlab %6.0f tx/s (client CPU %4ss, incl. 1 s warm-up)   ratio %.2f\n' \
        "$round" "$pg" "$(cpu "$work/pgbench.time")" "$tx" "$(cpu "$work/txlab.time")" \
        "$(awk -v a="$tx" -v b="$pg" 'BEGIN {print a / b}')"
    pg_runs+=("$pg"); tx_runs+=("$tx")
done
sql -c "DROP SCHEMA IF EXISTS txlab_pgbench CASCADE" >/dev/null
pg_med=$(printf '%s\n' "${pg_runs[@]}" | median)
tx_med=$(printf '%s\n' "${tx_runs[@]}" | median)
ratio=$(awk -v a="$tx_med" -v b="$pg_med" 'BEGIN {printf "%.2f", a / b}')
printf 'median:  pgbench %8.0f tx/s   txlab %8.0f tx/s   ratio %s (target >= 0.95)\n' "$pg_med" "$tx_med" "$ratio"
