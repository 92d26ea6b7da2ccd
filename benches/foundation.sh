#!/usr/bin/env bash
# Measures the foundation's speed and memory targets with the release binary (figures go to
# docs/performance.md). Uses a throwaway local cluster unless DATABASE_URL is set (then the
# start-up figures are skipped).
#
#   bash benches/foundation.sh            # 10 runs per figure
#   RUNS=30 bash benches/foundation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
cargo build --release --quiet
BIN=target/release/txlab
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "txlab foundation benchmark ($(nproc) cores, $RUNS runs each, $(date -u +%F))"

if [ -z "${DATABASE_URL:-}" ]; then
  # Cold start: an empty cache forces initdb.
  TXLAB_CACHE_DIR="$TMP/cold" "$BIN" demo deadlock --format json >"$TMP/cold.json"
  # Warm start: the template is cached; copy + start only.
  for i in $(seq "$RUNS"); do "$BIN" demo deadlock --format json >"$TMP/warm-$i.json"; done
fi
for i in $(seq "$RUNS"); do "$BIN" demo deadlock --format json >"$TMP/deadlock-$i.json"; done
for i in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %M" -o "$TMP/matrix-$i.time" "$BIN" demo isolation --format json >"$TMP/matrix-$i.json"
done

python3 - "$TMP" "$RUNS" <<'PY'
import json, statistics, sys, glob, os
tmp, runs = sys.argv[1], int(sys.argv[2])
load = lambda p: json.load(open(p))
med = statistics.median
def line(name, value, target):
    print(f"  {name:<52} {value:>10}   {("target " + target) if target else ""}")

cold = os.path.join(tmp, "cold.json")
if os.path.exists(cold):
    c = load(cold)["local_cluster"]
    line("cold start (initdb + copy + start)", f"{c['initdb_ms'] + c['start_ms']:.0f} ms", "<= 2000 ms")
    warm = [load(p)["local_cluster"]["start_ms"] for p in glob.glob(f"{tmp}/warm-*.json")]
    line("warm start (copy template + start), median", f"{med(warm):.0f} ms", "<= 300 ms")

dl = [load(p)["results"][0] for p in glob.glob(f"{tmp}/deadlock-*.json")]
line("demo deadlock: schedule, median", f"{med(r['schedule_ms'] for r in dl):.1f} ms", "")
line("demo deadlock: scenario (schema to drop), median", f"{med(r['total_ms'] for r in dl):.1f} ms", "<= 150 ms")

walls, rss, scen, lat = [], [], [], []
for i in range(1, runs + 1):
    wall, maxrss = open(f"{tmp}/matrix-{i}.time").read().split()
    walls.append(float(wall)); rss.append(int(maxrss))
    doc = load(f"{tmp}/matrix-{i}.json")
    scen.append(sum(r["total_ms"] for r in doc["results"]))
    for r in doc["results"]:
        launches = {}
        for e in r["events"]:
            if e["kind"] == "launch":
                launches[(e["session"], e["step"])] = e["t_ms"]
            elif e["kind"] == "blocked" and not e.get("forced"):
                lat.append(e["t_ms"] - launches[(e["session"], e["step"])])
n = len(load(f"{tmp}/matrix-1.json")["results"])
line(f"full matrix ({n} runs): scenarios, median", f"{med(scen):.0f} ms", "<= 2000 ms")
line("full matrix: process wall time incl. start, median", f"{med(walls)*1000:.0f} ms", "")
if lat:
    lat.sort()
    line(f"blocked detection ({len(lat)} waits): median", f"{med(lat):.2f} ms", "<= 3 ms")
    line("blocked detection: 95th percentile", f"{lat[int(len(lat)*0.95)]:.2f} ms", "")
    line("blocked detection: max", f"{max(lat):.2f} ms", "")
line("peak RSS of demo isolation, max", f"{max(rss)/1024:.1f} MB", "<= 30 MB")
PY
