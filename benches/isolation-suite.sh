#!/usr/bin/env bash
# PostgreSQL's whole isolation suite, both ways, on ONE throwaway cluster (issue 11):
#   txlab, one invocation:  txlab run --schedule isolation_schedule --specs specs/ --expected expected/
#   PostgreSQL:             pg_isolation_regress --schedule=isolation_schedule against the running cluster
#                           (isolationtester, one process per spec, in one shared database)
# alternating which goes first, ROUNDS times; prints both wall times and the ratio per round.
#
# MODE=single (or MODE=both) adds the single-spec protocol: one process per spec, every spec of
# the schedule in turn, alternating which tool goes first for each spec:
#   PostgreSQL: a fresh isolation_regression (DROP + CREATE + pg_regress's ALTER DATABASE SETs,
#               NOT timed), then `isolationtester "dbname=isolation_regression …" < x.spec` with
#               pg_regress's environment (PGTZ, PGDATESTYLE, PGOPTIONS, PGAPPNAME) — timed;
#   txlab:      `txlab run x.spec --format isolationtester --database-url …` — timed, its own
#               database included (the role's scratch database, docs/specs.md).
# Prints the summed times, the ratio, how many outputs matched the expected files, and (with
# SLOWEST=N) the N specs where txlab lost most. MODE defaults to suite.
#
# Needs a PostgreSQL 15 source tree where src/test/isolation is built (isolationtester and
# pg_isolation_regress): PGSRC=/path/to/postgresql-15.x. Runs as root (the cluster runs as the
# `postgres` OS user). TXLAB defaults to target/release/txlab (build it first); ROUNDS to 3;
# JOBS to 1 (`txlab run --jobs N`; a list, e.g. JOBS="1 2", runs each in every round); FSYNC to
# on (pg_regress's temp instance keeps it on; FSYNC=off is how txlab's own throwaway cluster runs).
set -euo pipefail

PGSRC=${PGSRC:?set PGSRC to a PostgreSQL 15 source tree with src/test/isolation built}
ISO=$PGSRC/src/test/isolation
TXLAB=$(realpath "${TXLAB:-target/release/txlab}")
BIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROUNDS=${ROUNDS:-3}
MODE=${MODE:-suite}
SLOWEST=${SLOWEST:-0}
JOBS=${JOBS:-1}
PORT=${PORT:-55499}

dir=$(mktemp -d /tmp/txlab-isolation-bench.XXXXXX)
chown postgres "$dir"
as_pg() { su postgres -s /bin/bash -c "$*"; }
as_pg "$BIN/initdb -D $dir/data -A trust --no-sync -E UTF8 --locale=C >/dev/null"
# As pg_regress configures its temp instance: max_prepared_transactions = 2.
cat >>"$dir/data/postgresql.conf" <<CONF
max_prepared_transactions = 2
fsync = ${FSYNC:-on}
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
    drop_regression
}
# pg_regress leaves isolation_regression behind; txlab never takes over a database it did not
# create (it would run in txlab_spec_<pid>_<n> instead, and intra-grant-inplace-db, which grants
# on isolation_regression by name, would differ), so the bench drops it between runs.
drop_regression() {
    "$BIN/psql" -X -q -h "$dir" -p "$PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS isolation_regression" >/dev/null
}
run_txlab() {
    DATABASE_URL="host=$dir port=$PORT user=postgres dbname=postgres" CI=1 \
        "$TXLAB" --color never run --schedule "$ISO/isolation_schedule" --specs "$ISO/specs" \
        --expected "$ISO/expected" --jobs "${1:-1}" >"$dir/txlab.txt" 2>&1 || true
}
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

now() { date +%s.%N; }
# The single-spec protocol (MODE=single|both): see the header.
single_round() {
    local round=$1 psql="$BIN/psql -X -q -h $dir -p $PORT -U postgres -d postgres"
    local url="host=$dir port=$PORT user=postgres dbname=postgres"
    local t_tx=0 t_pg=0 same_tx=0 same_pg=0 n=0 i=0
    : >"$dir/single.tsv"
    for spec in $(sed -n 's/^test: *//p' "$ISO/isolation_schedule" | tr ' ' '\n'); do
        [ -n "$spec" ] || continue
        n=$((n + 1))
        local a b c d tx pg
        fresh() {
            $psql -c "DROP DATABASE IF EXISTS isolation_regression" \
                -c "CREATE DATABASE isolation_regression TEMPLATE template0" >/dev/null
            for set in "lc_messages TO 'C'" "lc_monetary TO 'C'" "lc_numeric TO 'C'" \
                "lc_time TO 'C'" "bytea_output TO 'hex'" "timezone_abbreviations TO 'Default'"; do
                $psql -c "ALTER DATABASE isolation_regression SET $set" >/dev/null
            done
        }
        one_pg() {
            fresh
            a=$(now)
            PGTZ=America/Los_Angeles PGDATESTYLE="Postgres, MDY" \
                PGOPTIONS="-c intervalstyle=postgres_verbose" PGAPPNAME="isolation/$spec" \
                "$ISO/isolationtester" "host=$dir port=$PORT user=postgres dbname=isolation_regression" \
                <"$ISO/specs/$spec.spec" >"$dir/pg1.out" 2>&1 || true
            b=$(now)
        }
        one_tx() {
            c=$(now)
            CI=1 "$TXLAB" --color never run "$ISO/specs/$spec.spec" --format isolationtester \
                --database-url "$url" >"$dir/tx1.out" 2>&1 || true
            d=$(now)
        }
        i=$((i + 1))
        if (((i + round) % 2)); then one_tx; one_pg; else one_pg; one_tx; fi
        tx=$(echo "$d - $c" | bc); pg=$(echo "$b - $a" | bc)
        t_tx=$(echo "$t_tx + $tx" | bc); t_pg=$(echo "$t_pg + $pg" | bc)
        matches() { for f in "$ISO/expected/$spec.out" "$ISO"/expected/"$spec"_[0-9].out; do
            [ -f "$f" ] && cmp -s "$1" "$f" && return 0; done; return 1; }
        matches "$dir/tx1.out" && same_tx=$((same_tx + 1))
        matches "$dir/pg1.out" && same_pg=$((same_pg + 1))
        printf '%s\t%s\t%s\n' "$spec" "$tx" "$pg" >>"$dir/single.tsv"
    done
    drop_regression
    printf 'single round %d: txlab %6.1f s  isolationtester %6.1f s  ratio %.2f  (%d specs; identical: txlab %d, isolationtester %d; load %s)\n' \
        "$round" "$t_tx" "$t_pg" "$(echo "$t_tx / $t_pg" | bc -l)" "$n" "$same_tx" "$same_pg" \
        "$(cut -d' ' -f1 /proc/loadavg)"
    if ((SLOWEST > 0)); then
        echo "  where txlab lost most (spec, txlab s, isolationtester s):"
        awk -F'\t' '{printf "%s\t%.3f\t%.3f\t%.3f\n", $1, $2, $3, $2 - $3}' "$dir/single.tsv" |
            sort -t$'\t' -k4 -rn | head -n "$SLOWEST" | awk -F'\t' '{printf "    %-40s %6.3f %6.3f\n", $1, $2, $3}'
    fi
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$MODE" = single ] || [ "$MODE" = both ]; then
    for round in $(seq 1 "$ROUNDS"); do single_round "$round"; done
fi
[ "$MODE" = single ] && exit 0
# JOBS="1 2" runs txlab once per value in every round (`--jobs N`), all against the same
# pg_isolation_regress run of that round.
txlab_runs() {
    for jobs in $JOBS; do
        local t; t=$(seconds run_txlab "$jobs")
        echo "$jobs $t $(tail -1 "$dir/txlab.txt")" >>"$dir/rounds.txt"
        # A run with a difference keeps its report (the cluster directory is removed at exit).
        grep -q '^not ok' "$dir/txlab.txt" &&
            cp "$dir/txlab.txt" "/tmp/txlab-suite-round$round-jobs$jobs.txt"
        true
    done
}
for round in $(seq 1 "$ROUNDS"); do
    : >"$dir/rounds.txt"
    if ((round % 2)); then
        txlab_runs; t_pg=$(seconds run_pg)
    else
        t_pg=$(seconds run_pg); txlab_runs
    fi
    while read -r jobs t_tx summary; do
        printf 'round %d: txlab --jobs %s %6.1f s  pg_isolation_regress %6.1f s  ratio %.2f  (load %s)\n' \
            "$round" "$jobs" "$t_tx" "$t_pg" "$(echo "$t_tx / $t_pg" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
        echo "  txlab:  $summary"
    done <"$dir/rounds.txt"
    echo "  pg:     $(grep -E 'tests (passed|failed)|All [0-9]+ tests' "$dir/pg.txt" | tail -1)"
done
