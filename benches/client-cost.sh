#!/usr/bin/env bash
# What txlab's bench client costs per transaction, against pgbench, in counts that do not depend
# on the machine's load: user-space instructions (valgrind --tool=callgrind), system calls
# (strace -f -c) and context switches (perf stat). Each figure is the difference of two runs that
# differ only in their transaction count (6000 - 2000), divided by 4000, so start-up, connection
# and the final report cancel out. Same transaction as benches/pgbench-compare.sh (`atomic`,
# 8 clients, pgbench -M prepared -j 2). Figures: docs/bench.md, "Is the client the bottleneck?
# (issue 14)".
#
# Usage: benches/client-cost.sh
# Settings (environment): WORKLOAD="counter transfer"  TOOLS="cg strace perf" (any of them)
#        CLIENTS=pgbench+txlab (or one)  TXLAB=target/release/txlab
#        OUT=DIR (keep the callgrind files there; callgrind_annotate reads them)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
TXLAB=${TXLAB:-$root/target/release/txlab}
WORKLOADS=${WORKLOAD:-counter transfer}
TOOLS=${TOOLS:-cg strace perf}
CLIENTS=${CLIENTS:-pgbench+txlab}
bindir=""
for d in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then bindir=$d; break; fi
done
[ -z "$bindir" ] && { echo "error: no PostgreSQL server binaries found" >&2; exit 2; }
[ -x "$TXLAB" ] || (cd "$root" && cargo build --release --quiet)
for tool in $TOOLS; do
    case $tool in
        cg) need=valgrind ;; strace) need=strace ;; perf) need=perf ;;
        *) echo "error: unknown tool $tool (cg, strace, perf)" >&2; exit 2 ;;
    esac
    command -v $need >/dev/null || { echo "error: $need not found (apt-get install $need)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/txlab-client-cost-XXXXXX)
chmod 755 "$work"
out=${OUT:-$work/out}
mkdir -p "$out"
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    if [ -f "$work/data/postmaster.pid" ]; then
        as_server "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] && chown postgres "$work"
as_server "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
# The settings txlab gives its throwaway cluster, and the socket in the work directory.
cat "$root/benches/throwaway-server.conf" >> "$work/data/postgresql.conf"
echo "unix_socket_directories = '$work'" >> "$work/data/postgresql.conf"
as_server "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
URL="host=$work port=5432 user=postgres dbname=postgres"
sql() { PGOPTIONS="-c client_min_messages=warning" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }

# pgbench's tables (benches/pgbench-tables.sql) and script (cut from benches/pgbench-compare.sh).
setup() {
    sql -v accounts="$accounts" -f "$root/benches/pgbench-tables.sql"
}
script_of() {
    awk -v w="$1" '
        /^if \[ "\$WORKLOAD" = transfer \]; then/ {mode="transfer"} /^else$/ && mode=="transfer" {mode="counter"}
        /<<.PGB.$/ {inside=1; next} /^PGB$/ {inside=0; next}
        inside && mode==w {print}' "$root/benches/pgbench-compare.sh"
}
# run CLIENT N PREFIX...: N transactions in all (8 clients), under the command PREFIX.
run() {
    local client=$1 n=$2; shift 2
    if [ "$client" = txlab ]; then
        "$@" "$TXLAB" --database-url "$URL" bench "$workload" --strategy atomic --clients 8 \
            --accounts "$accounts" --transactions "$n" --warmup 0ms --format json >"$work/run.out" 2>&1
    else
        setup
        PGOPTIONS="-c search_path=txlab_pgbench" "$@" "$bindir/pgbench" -n -M prepared -c 8 -j 2 \
            -t $((n / 8)) -D accounts="$accounts" -f "$work/script.sql" "$URL" >"$work/run.out" 2>&1
    fi
}
per_tx() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 4000}'; }
ir() { cat "$@" | awk '/^summary:/ {s += $2} END {print s}'; }

for workload in $WORKLOADS; do
    accounts=1000; [ "$workload" = counter ] && accounts=1
    script_of "$workload" >"$work/script.sql"
    for client in ${CLIENTS//+/ }; do
        for tool in $TOOLS; do
            for n in 2000 6000; do
                case $tool in
                    cg) run "$client" $n valgrind -q --tool=callgrind \
                            --callgrind-out-file="$out/cg.$client.$workload.$n.%p"
                        v[$n]=$(ir "$out"/cg.$client.$workload.$n.*) ;;
                    strace) run "$client" $n strace -f -c -o "$work/strace"
                        v[$n]=$(awk '$NF == "total" {print $4}' "$work/strace") ;;
                    perf) run "$client" $n perf stat -x, -e context-switches -o "$work/perf"
                        v[$n]=$(awk -F, '/context-switches/ {print $1}' "$work/perf") ;;
                esac
            done
            case $tool in cg) what="instructions" ;; strace) what="system calls" ;; perf) what="context switches" ;; esac
            printf '%-9s %-8s %-17s per transaction: %s\n' "$workload" "$client" "$what" "$(per_tx "${v[2000]}" "${v[6000]}")"
        done
    done
done
