#!/usr/bin/env bash
# PostgreSQL's whole isolation suite, both ways, on ONE throwaway cluster (issue 11):
#   txlab, one invocation:  txlab run --schedule isolation_schedule --specs specs/ --expected expected/
#   PostgreSQL:             pg_isolation_regress --schedule=isolation_schedule against the running cluster
#                           (isolationtester, one process per spec, in one shared database)
# alternating which goes first, ROUNDS times; prints both wall times and the ratio per round.
#
# Needs a PostgreSQL 15 source tree where src/test/isolation is built (isolationtester and
# pg_isolation_regress): PGSRC=/path/to/postgresql-15.x. Runs as root (the cluster runs as the
# `postgres` OS user). TXLAB defaults to target/release/txlab (build it first); ROUNDS to 3.
set -euo pipefail

PGSRC=${PGSRC:?set PGSRC to a PostgreSQL 15 source tree with src/test/isolation built}
ISO=$PGSRC/src/test/isolation
TXLAB=$(realpath "${TXLAB:-target/release/txlab}")
BIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-55499}

dir=$(mktemp -d /tmp/txlab-isolation-bench.XXXXXX)
chown postgres "$dir"
as_pg() { su postgres -s /bin/bash -c "$*"; }
as_pg "$BIN/initdb -D $dir/data -A trust --no-sync -E UTF8 --locale=C >/dev/null"
# As pg_regress configures its temp instance: max_prepared_transactions = 2.
cat >>"$dir/data/postgresql.conf" <<CONF
max_prepared_transactions = 2
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PORT
CONF
as_pg "$BIN/pg_ctl -D $dir/data -l $dir/log -w start >/dev/null"
trap 'as_pg "$BIN/pg_ctl -D $dir/data -m immediate -w stop >/dev/null"; rm -rf "$dir"' EXIT

# Without --use-existing pg_regress (re)creates isolation_regression itself, as txlab does.
run_pg() {
    mkdir -p "$dir/out" && chown postgres "$dir/out"
    (cd "$ISO" && su postgres -s /bin/bash -c "./pg_isolation_regress \
        --host=$dir --port=$PORT --user=postgres --bindir=$BIN --inputdir=$ISO \
        --outputdir=$dir/out --schedule=$ISO/isolation_schedule" >"$dir/pg.txt" 2>&1) || true
}
run_txlab() {
    DATABASE_URL="host=$dir port=$PORT user=postgres dbname=postgres" CI=1 \
        "$TXLAB" --color never run --schedule "$ISO/isolation_schedule" --specs "$ISO/specs" \
        --expected "$ISO/expected" >"$dir/txlab.txt" 2>&1 || true
}
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then
        t_tx=$(seconds run_txlab); t_pg=$(seconds run_pg)
    else
        t_pg=$(seconds run_pg); t_tx=$(seconds run_txlab)
    fi
    printf 'round %d: txlab %6.1f s  pg_isolation_regress %6.1f s  ratio %.2f  (load %s)\n' \
        "$round" "$t_tx" "$t_pg" "$(echo "$t_tx / $t_pg" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
    echo "  txlab:  $(tail -1 "$dir/txlab.txt")"
    echo "  pg:     $(grep -E 'tests (passed|failed)|All [0-9]+ tests' "$dir/pg.txt" | tail -1)"
done
