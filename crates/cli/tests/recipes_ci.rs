//! The recipes' CI sweep end to end (`scenarios/recipes-ci.toml`, every recipe at once): a
//! `zabsim fuzz` of its seeds passes with every recipe finished in every seed (the lock's
//! holds, the scheduler's tasks, the barrier's rounds, the group's joins, the config's
//! versions and messages), and its per-seed results do not depend on `--jobs`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// Seeds the test sweeps (plus the scenario's regression seeds, if any).
const SEEDS: u64 = 24;

fn scenario() -> String {
    format!(
        "{}/../../scenarios/recipes-ci.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `fuzz` of `SEEDS` seeds with `jobs` jobs into `file`: its exit code and output.
fn sweep(file: &Path, jobs: &str) -> common::Run {
    let _ = std::fs::remove_file(file);
    let s = scenario();
    let seeds = SEEDS.to_string();
    common::zabsim(&[
        "fuzz",
        "--scenario",
        &s,
        "--seeds",
        &seeds,
        "--jobs",
        jobs,
        "--no-regressions",
        "--results",
        file.to_str().expect("a UTF-8 path"),
    ])
}

/// One results line: seed, verdict, trace hash, figures.
struct Line {
    seed: u64,
    verdict: String,
    hash: String,
    figures: BTreeMap<String, u64>,
}

fn lines(file: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(file).expect("results written");
    let mut all: Vec<Line> = text
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).expect("one JSON object a line");
            let figures = j["figures"]
                .as_array()
                .expect("figures are a list")
                .iter()
                .map(|f| {
                    let name = f[0].as_str().expect("a figure's name").to_string();
                    (name, f[1].as_u64().expect("a figure's value"))
                })
                .collect();
            Line {
                seed: j["seed"].as_u64().expect("a seed"),
                verdict: j["verdict"].as_str().expect("a verdict").to_string(),
                hash: j["trace_hash"].as_str().expect("a hash").to_string(),
                figures,
            }
        })
        .collect();
    all.sort_by_key(|l| l.seed);
    all
}

/// What every passing seed of recipes-ci.toml has done, by its figures: (figure, least).
const FINISHED: [(&str, u64); 6] = [
    ("lock_acquisitions", 12), // 3 clients × 4 holds (a hold lost to an expiry is redone)
    ("tasks_done", 8),
    ("barrier_rounds_completed", 4),
    ("members_joins", 12), // 4 members × 3 cycles, more after expiries
    ("config_updates", 18),
    ("config_messages", 12),
];

#[test]
fn the_recipes_sweep_passes_with_every_recipe_finished_in_every_seed() {
    let dir = std::env::temp_dir().join(format!("zabsim-recipes-ci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.jsonl");
    let run = sweep(&file, "2");
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stdout.contains(&format!(
            "summary: {SEEDS} seeds (0 regression): pass {SEEDS}"
        )),
        "{}",
        run.show()
    );
    let all = lines(&file);
    assert_eq!(all.len() as u64, SEEDS);
    for l in &all {
        assert_eq!(l.verdict, "pass", "seed {}", l.seed);
        for (name, least) in FINISHED {
            let value = l.figures.get(name).copied();
            assert!(
                value.is_some_and(|v| v >= least),
                "seed {}: {name} = {value:?}, at least {least} expected",
                l.seed
            );
        }
    }
}

#[test]
fn the_recipes_sweep_does_not_depend_on_jobs() {
    let dir = std::env::temp_dir().join(format!("zabsim-recipes-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (one, two) = (dir.join("one.jsonl"), dir.join("two.jsonl"));
    for (file, jobs) in [(&one, "1"), (&two, "2")] {
        let run = sweep(file, jobs);
        assert_eq!(run.code, 0, "--jobs {jobs}: {}", run.show());
    }
    let key = |l: &Line| (l.seed, l.verdict.clone(), l.hash.clone(), l.figures.clone());
    let (a, b) = (lines(&one), lines(&two));
    assert_eq!(a.len() as u64, SEEDS);
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
}
