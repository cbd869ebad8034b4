#!/usr/bin/env bash
# The long harsh sweep: fresh seeds of each harsh variant (high fault rates, heavy loss)
# with the release binary; prints, per variant, how many seeds passed and every seed that
# did not (with its verdict). The short form is crates/sim/tests/harsh.rs.
# Usage: scripts/harsh-sweep.sh [SEEDS] [SEED_START] [JOBS]   (defaults 1000 5000000 2)
# Results: one JSONL per variant in ${HARSH_OUT:-reports/harsh-sweep}/.
set -euo pipefail
seeds=${1:-1000}; start=${2:-5000000}; jobs=${3:-2}
bin=${ZABSIM:-target/release/zabsim}
out=${HARSH_OUT:-reports/harsh-sweep}
mkdir -p "$out"
variants=(
  "default.toml nemesis.interval_ms=50"
  "default.toml nemesis.interval_ms=100"
  "ci.toml network.loss=0.1"
  "kv.toml nemesis.interval_ms=80"
  "zab-3.toml network.loss=0.2"
  "queue-take.toml network.loss=0.03"
)
for v in "${variants[@]}"; do
  read -r file set <<<"$v"
  results="$out/$(basename "$file" .toml)-${set//[^a-z0-9.]/_}.jsonl"
  rm -f "$results"
  # Findings exit 1 and budgets 3: the counts below say what happened.
  "$bin" fuzz --scenario "scenarios/$file" --set "$set" --seeds "$seeds" \
    --seed-start "$start" --jobs "$jobs" --no-regressions --results "$results" \
    >/dev/null 2>&1 || true
  total=$(wc -l <"$results")
  passed=$(grep -c '"verdict":"pass"' "$results" || true)
  echo "$file --set $set: $passed/$total passed (seeds $start..$((start + seeds - 1)))"
  grep -v '"verdict":"pass"' "$results" \
    | sed -E 's/.*"seed":([0-9]+),"verdict":"([a-z]+)".*"detail":("([^"]{0,160})|null).*/  seed \1 \2: \4/' \
    || true
done
