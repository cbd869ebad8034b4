//! One seed of a sweep, run and classified into its result line: the verdict, the trace
//! hash, the finding (or budget, or scenario error) as its detail, the run's figures. A
//! panic inside the run is caught and becomes a `panic` result (the caller keeps the panic
//! hook quiet meanwhile). A regression seed whose pinned run no longer replays — it passes
//! (or hits a budget) with another trace hash — is a `regression-moved` finding; a regression
//! seed that fails keeps its failure's verdict, the stronger finding. Single-threaded and
//! deterministic: the same seed gives the same line.

use crate::plan::{Job, Pinned};
use kernel::observe::Verdict;
use proto::results::SeedResult;
use sim::scenario::Loaded;

/// The verdict of a regression seed that no longer replays its pinned run.
pub const REGRESSION_MOVED: &str = "regression-moved";
/// The verdict of a seed whose run panicked.
pub const PANIC: &str = "panic";
/// The verdict of a seed whose scenario could not be resolved.
pub const INPUT: &str = "input";

/// Run `job` of `loaded`: its result line (without the scenario label and REPRO line, which
/// the caller adds).
pub fn run(loaded: &Loaded, job: &Job) -> SeedResult {
    let mut r = run_seed(loaded, job.seed);
    r.regression = job.regression;
    if let Some(pinned) = &job.pinned {
        check_pinned(&mut r, pinned);
    }
    r
}

/// Run one seed, a panic caught.
fn run_seed(loaded: &Loaded, seed: u64) -> SeedResult {
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim::run::run(loaded, seed)));
    let unrun = |verdict: &str, detail: String| SeedResult {
        seed,
        verdict: verdict.into(),
        trace_hash: String::new(),
        detail: Some(detail),
        events: 0,
        figures: Vec::new(),
        regression: false,
        repro: None,
        scenario: None,
    };
    match outcome {
        Ok(Ok(r)) => SeedResult {
            seed,
            verdict: r.outcome.verdict.name().to_string(),
            trace_hash: format!("{:016x}", r.outcome.trace_hash),
            detail: match &r.outcome.verdict {
                Verdict::Pass => None,
                Verdict::Budget { budget, detail } => Some(format!("{budget} budget: {detail}")),
                v => v.finding().map(|f| f.to_string()),
            },
            events: r.outcome.stats.events,
            figures: r.figures,
            regression: false,
            repro: None,
            scenario: None,
        },
        Ok(Err(e)) => unrun(INPUT, e.to_string()),
        Err(panic) => unrun(PANIC, panic_message(panic.as_ref())),
    }
}

/// A passing (or inconclusive) run of a regression seed must have its pinned hash.
fn check_pinned(r: &mut SeedResult, pinned: &Pinned) {
    if r.verdict != "pass" && r.verdict != "budget" {
        return;
    }
    let got = u64::from_str_radix(&r.trace_hash, 16).expect("a run's hash is hex");
    if got == pinned.hash {
        return;
    }
    let moved = crate::regressions::moved(r.seed, pinned.hash, got, &pinned.at);
    let run = match &r.detail {
        Some(d) => format!("{}: {d}", r.verdict),
        None => r.verdict.clone(),
    };
    r.detail = Some(format!("{moved} (the run itself: {run})"));
    r.verdict = REGRESSION_MOVED.into();
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

/// The scenario as each result line names it: `name (origin)`, then the overrides that
/// change what runs (`ci (scenarios/ci.toml) --set network.loss=0.1 --bug zk-1154`), so a
/// resumed sweep is the same sweep, overrides included.
pub fn scenario_label(loaded: &Loaded, overrides: &[String], bugs: &[String]) -> String {
    let mut label = format!("{} ({})", loaded.scenario.name, loaded.origin);
    for o in overrides {
        label += &format!(" --set {o}");
    }
    for b in bugs {
        label += &format!(" --bug {b}");
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::scenario::load_default;

    /// The default scenario, short: a run takes a fraction of a second.
    fn short(extra: &[&str]) -> Loaded {
        let mut overrides = vec!["run.safety_ms=1000".to_string()];
        overrides.extend(extra.iter().map(|s| s.to_string()));
        load_default(&overrides).expect("the default scenario loads")
    }

    fn regression(seed: u64, hash: u64) -> Job {
        Job {
            seed,
            regression: true,
            pinned: Some(Pinned {
                hash,
                at: "scenarios/regressions.txt:4".into(),
            }),
        }
    }

    #[test]
    fn a_seed_gives_the_same_line_twice() {
        let loaded = short(&[]);
        let a = run(&loaded, &Job::swept(3));
        assert_eq!(a, run(&loaded, &Job::swept(3)));
        assert_eq!((a.verdict.as_str(), a.regression), ("pass", false));
        assert_eq!(a.trace_hash.len(), 16);
        assert!(a.events > 0 && !a.figures.is_empty());
    }

    #[test]
    fn a_regression_seed_must_replay_its_pinned_hash() {
        let loaded = short(&[]);
        let plain = run(&loaded, &Job::swept(3));
        let hash = u64::from_str_radix(&plain.trace_hash, 16).unwrap();
        let kept = run(&loaded, &regression(3, hash));
        assert_eq!((kept.verdict.as_str(), kept.regression), ("pass", true));
        let moved = run(&loaded, &regression(3, hash ^ 1));
        assert_eq!(moved.verdict, REGRESSION_MOVED);
        assert_eq!(moved.trace_hash, plain.trace_hash);
        let detail = moved.detail.unwrap();
        let want = format!(
            "seed 3 no longer replays the run that caught its bug: its trace hash is now {}, \
             scenarios/regressions.txt:4 pins {:016x}",
            plain.trace_hash,
            hash ^ 1
        );
        assert!(detail.starts_with(&want), "{detail}");
        assert!(detail.ends_with("(the run itself: pass)"), "{detail}");
        let unpinned = Job {
            pinned: None,
            ..regression(3, hash ^ 1)
        };
        assert_eq!(run(&loaded, &unpinned).verdict, "pass");
    }

    #[test]
    fn a_failing_regression_seed_keeps_its_failure() {
        let planted = load_default(&["zab.bugs=[\"zk-1154\"]".to_string()]).unwrap();
        let failing = run(&planted, &regression(1, 0));
        assert_eq!(failing.verdict, "safety", "{failing:?}");
        assert!(
            failing
                .detail
                .is_some_and(|d| !d.contains("no longer replays"))
        );
    }

    #[test]
    fn an_inconclusive_regression_seed_must_replay_its_hash_too() {
        let loaded = short(&["run.events_max=1000"]);
        let budget = run(&loaded, &Job::swept(1));
        assert_eq!(budget.verdict, "budget");
        let hash = u64::from_str_radix(&budget.trace_hash, 16).unwrap();
        assert_eq!(run(&loaded, &regression(1, hash)).verdict, "budget");
        let moved = run(&loaded, &regression(1, hash ^ 1));
        assert_eq!(moved.verdict, REGRESSION_MOVED);
        let detail = moved.detail.unwrap();
        let run_itself = format!("(the run itself: budget: {})", budget.detail.unwrap());
        assert!(detail.ends_with(&run_itself), "{detail}");
    }

    #[test]
    fn labels_name_the_overrides() {
        let loaded = short(&[]);
        let label = scenario_label(&loaded, &["a=1".into()], &["zk-1154".into()]);
        assert_eq!(label, "default (<default>) --set a=1 --bug zk-1154");
    }
}
