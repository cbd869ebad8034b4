#!/usr/bin/env bash
# Committed writes per simulated and per wall second of each Paxos variant on the bench's
# fault-free ensemble (throughput.toml, seed 1), then the chart (chart.py -> throughput.svg).
#   reports/primary-order/measure.sh [ZABSIM]
# Prints "variant commits simulated_s wall_s commits_per_sim_s commits_per_wall_s verdict".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
zabsim=${1:-$here/../../target/release/zabsim}
out=$here/throughput.tsv
: >"$out"
for v in "classic-w1000 paxos.order=classic paxos.window=1000" \
    "classic-w1 paxos.order=classic paxos.window=1" \
    "prefix-w1000 paxos.order=prefix paxos.window=1000" \
    "prefix-w1 paxos.order=prefix paxos.window=1"; do
    set -- $v
    name=$1
    t0=$(date +%s.%N)
    text=$("$zabsim" run --scenario "$here/throughput.toml" --set "$2" --set "$3" --seed 1 || true)
    t1=$(date +%s.%N)
    commits=$(grep -o 'commits=[0-9]*' <<<"$text" | cut -d= -f2)
    sim_ms=$(grep -o 'simulated: [0-9.]*ms' <<<"$text" | grep -o '[0-9.]*')
    verdict=$(grep '^verdict:' <<<"$text" | cut -d' ' -f2)
    awk -v n="$name" -v c="$commits" -v s="$sim_ms" -v a="$t0" -v b="$t1" -v r="$verdict" \
        'BEGIN { w = b - a; printf "%s %d %.3f %.2f %.0f %.0f %s\n", n, c, s / 1000, w, c / (s / 1000), c / w, r }' |
        tee -a "$out"
done
python3 "$here/chart.py" "$out" "$here/throughput.svg"
