#!/usr/bin/env bash
# A zabsim sweep as a Slurm job array. Task I of N runs shard I/N of the seeds (`--shard
# auto/N` reads SLURM_ARRAY_TASK_ID) into results/shard-I.jsonl; a second job, started when
# the whole array has ended, combines the shards in seed order (`zabsim merge`, which also
# catches a seed whose copies disagree) and charts the whole sweep (`zabsim report`). From
# the repository root on a shared file system, with zabsim on PATH
# (cargo build --release -p cli && export PATH=$PWD/target/release:$PATH):
#
#   jobid=$(sbatch --parsable scripts/slurm-fuzz.sh)
#   sbatch --dependency=afterany:$jobid --array=0 scripts/slurm-fuzz.sh merge
#
# N is 4 here: `--array=0-3` and `--shard auto/4` go together; `--seeds` counts one shard's
# seeds (4 × 2,500 = 10,000 here). A task with a finding exits 1 (Slurm shows it FAILED);
# the merge job runs after any ending and exits with the whole sweep's code. A task that is
# requeued or run again resumes its shard (`--resume`) instead of running its seeds twice.
#SBATCH --job-name=zabsim-fuzz
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
#SBATCH --output=zabsim-fuzz-%A_%a.out
set -u
mkdir -p results
if [ "${1:-}" != merge ]; then
    # zabsim-shard-command-begin
    zabsim fuzz --scenario scenarios/ci.toml --seeds 2500 --jobs "${SLURM_CPUS_PER_TASK:-2}" --shard auto/4 --resume --results "results/shard-${SLURM_ARRAY_TASK_ID}.jsonl"
    # zabsim-shard-command-end
    exit $?
fi
zabsim merge results/shard-*.jsonl --out results/all.jsonl
code=$?
zabsim report results/all.jsonl --out results/report
exit $code
