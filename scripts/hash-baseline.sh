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
# Every shipped scenario as written, then the planted bugs switched on where they are caught,
# then scenarios on another replication engine.
variants=()
for s in "$here"/scenarios/*.toml; do variants+=("$(basename "$s" .toml)"); done
variants+=(bug-zk-1366+zk-1366 bug-zk-1419+zk-1419 bug-zk-3911+zk-3911 default+zk-1154
    default+zk-335 default+zk-2355 queue+queue-delete-first lock+lock-no-guid
    election+curator-498 election+curator-696 barrier+barrier-no-recheck
    config+config-read-then-watch bug-paxos-no-accept-persist+paxos-no-accept-persist
    mq+kafka-hw-truncation mq+kafka-epoch-divergence mq+kafka-zombie-controller)
# The same ZooKeeper server on Raft (`NAME@PROTOCOL`: `--set cluster.protocol=PROTOCOL`).
variants+=(default@raft ci@raft recipes-ci@raft election@raft lock@raft)
for v in "${variants[@]}"; do
    base=${v%%+*}
    name=${base%%@*}
    bug=()
    [ "$v" != "$base" ] && bug=(--bug "${v#*+}")
    [ "$base" != "$name" ] && bug+=(--set "cluster.protocol=${base#*@}")
    # Planted bugs fail by design (exit 1, or 3 for a budget); bad input (2) or a crash stops us.
    "$zabsim" fuzz --scenario "$here/scenarios/$name.toml" "${bug[@]}" --seeds "$seeds" \
        --jobs "${JOBS:-2}" --no-regressions --results "$work/$v.jsonl" >/dev/null 2>&1 ||
        { rc=$?; [ $rc -eq 1 ] || [ $rc -eq 3 ]; }
    sed -E 's/.*"seed":([0-9]+),"verdict":"([a-z]+)","trace_hash":"([0-9a-f]+)".*/\1 \2 \3/' \
        "$work/$v.jsonl" | sort -n | sed "s/^/$v /"
done >"$out"
echo "$(wc -l <"$out") lines in $out" >&2
