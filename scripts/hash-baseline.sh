#!/usr/bin/env bash
# Records verdict and trace hash of seeds 0..N-1 of every shipped scenario, one
# "scenario seed verdict hash" line each, sorted: the proof a refactor changes nothing.
#   scripts/hash-baseline.sh ZABSIM OUT.tsv [SEEDS]
# Compare two baselines with `diff before.tsv after.tsv` (empty: byte-identical runs).
set -euo pipefail
zabsim=${1:?usage: hash-baseline.sh ZABSIM OUT.tsv [SEEDS]}
out=${2:?usage: hash-baseline.sh ZABSIM OUT.tsv [SEEDS]}
seeds=${3:-200}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for s in "$here"/scenarios/*.toml; do
    name=$(basename "$s" .toml)
    # Planted-bug scenarios fail by design (exit 1); only a bad input (2) or crash stops us.
    "$zabsim" fuzz --scenario "$s" --seeds "$seeds" --jobs "${JOBS:-2}" --no-regressions \
        --results "$work/$name.jsonl" >/dev/null 2>&1 || [ $? -eq 1 ]
    sed -E 's/.*"seed":([0-9]+),"verdict":"([a-z]+)","trace_hash":"([0-9a-f]+)".*/\1 \2 \3/' \
        "$work/$name.jsonl" | sort -n | sed "s/^/$name /"
done >"$out"
wc -l <"$out" >&2
