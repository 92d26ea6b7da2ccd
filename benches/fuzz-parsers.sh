#!/bin/sh
# Fuzzes the lesson (TOML) and spec parsers for SECONDS seconds with txlab's seeded mutator
# (src/fuzz.rs) and prints the number of executions; fails if a parser panics.
# Usage: benches/fuzz-parsers.sh SECONDS
set -eu
seconds=${1:?usage: benches/fuzz-parsers.sh SECONDS}
cd "$(dirname "$0")/.."
TXLAB_FUZZ_SECONDS=$seconds cargo test --lib fuzz:: -- --nocapture 2>&1 | grep -E "^fuzz:|test result|panicked"
