#!/usr/bin/env bash
# Run one seed twice and compare trace hashes (the replay contract, by hand).
# Usage: scripts/determinism.sh [SEED] [zabsim run options...]
set -euo pipefail
seed=${1:-1}; shift || true
bin=${ZABSIM:-target/release/zabsim}
a=$("$bin" run --seed "$seed" "$@" | grep '^trace hash:')
b=$("$bin" run --seed "$seed" "$@" | grep '^trace hash:')
echo "$a"; echo "$b"
[ "$a" = "$b" ] && echo "deterministic" || { echo "NONDETERMINISTIC"; exit 1; }
