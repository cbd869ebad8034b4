#!/usr/bin/env bash
# Run seeds FIRST..LAST of a scenario, JOBS at a time, one line per seed:
# "<seed> <verdict> <trace hash>" (until `zabsim fuzz` lands; each run stays single-threaded).
# Usage: scripts/sweep.sh SCENARIO FIRST LAST [JOBS] [extra zabsim run args...]
set -euo pipefail
scenario=$1; first=$2; last=$3; jobs=${4:-2}; shift 4 || shift $#
bin=${ZABSIM:-target/release/zabsim}
export bin scenario
seq "$first" "$last" | xargs -P "$jobs" -I{} sh -c '
  out=$("$bin" run --scenario "$scenario" --seed {} '"$*"' 2>&1); code=$?
  verdict=$(printf "%s\n" "$out" | grep "^verdict:" | cut -c1-200)
  hash=$(printf "%s\n" "$out" | grep "^trace hash:" | cut -d" " -f3)
  echo "{} exit=$code $hash $verdict"'
