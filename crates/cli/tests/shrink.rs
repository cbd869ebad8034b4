//! `zabsim shrink` end to end on planted bugs: the shrunk scenario fails the same check as
//! the original seed, has no more faults (fewer when the original had several), replays
//! from its `REPRO:` line with the printed hash, and two shrinks write identical files; a
//! passing seed exits 0 and bad input exits 2 with a message naming the problem.

mod common;

use common::{Run, zabsim};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Candidate runs per shrink in these tests: enough to shrink, small enough for seconds.
const RUNS_MAX: &str = "60";

impl Run {
    /// The value after `prefix` on the first line that starts with it.
    fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line\n{}", self.show()))
    }

    /// The check named by the `verdict:` line: `verdict: SAFETY — Agreement violated …`.
    fn check(&self) -> String {
        let v = self.line("verdict: ");
        let (_, finding) = v
            .split_once(" — ")
            .unwrap_or_else(|| panic!("no finding\n{}", self.show()));
        finding.split_whitespace().next().unwrap_or("").to_string()
    }

    /// `faults: N scheduled, M applied` of `zabsim run`.
    fn faults_scheduled(&self) -> u64 {
        let f = self.line("faults: ");
        f.split_whitespace().next().unwrap().parse().unwrap()
    }
}

fn scenario(name: &str) -> String {
    format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A directory under the temp dir no other test uses; removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Temp {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        Temp(std::env::temp_dir().join(format!("zabsim-shrink-test-{pid}-{n}-{name}")))
    }

    fn s(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }

    fn shrunk(&self) -> String {
        self.0.join("shrunk.json").to_str().unwrap().to_string()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Shrink `args` (scenario flags + seed) into a fresh directory; it must succeed (exit 1)
/// and name the written file in its `REPRO:` line.
fn shrink(args: &[&str], out: &Temp) -> Run {
    let mut all = vec!["shrink", "--runs-max", RUNS_MAX, "--out", out.s()];
    all.extend(args);
    let r = zabsim(&all);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.line("REPRO: ").contains(&out.shrunk()), "{}", r.show());
    r
}

/// Replay the shrink's `REPRO:` line: the finding and the hash must reproduce.
fn replay(shrunk: &Run) -> Run {
    let repro = shrunk.line("REPRO: ");
    let words: Vec<&str> = repro.split_whitespace().collect();
    assert_eq!(words[0], "zabsim", "{repro}");
    let r = zabsim(&words[1..]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout.contains("replay: trace hash matches"),
        "{}",
        r.show()
    );
    r
}

/// The original seed and its shrink fail the same check; the shrunk scenario, run as a
/// file, fails it too, with no more faults (and `fewer` fewer at least).
fn assert_shrinks(args: &[&str], seed: &str, fewer: u64) {
    let mut run_args = vec!["run"];
    run_args.extend(args);
    run_args.extend(["--seed", seed]);
    let original = zabsim(&run_args);
    assert_eq!(original.code, 1, "the seed must fail\n{}", original.show());
    let out = Temp::new("planted");
    let mut shrink_args = args.to_vec();
    shrink_args.extend(["--seed", seed]);
    let shrunk = shrink(&shrink_args, &out);
    assert_eq!(shrunk.check(), original.check(), "{}", shrunk.show());
    let again = replay(&shrunk);
    assert_eq!(again.check(), original.check(), "{}", again.show());
    let plain = zabsim(&["run", "--scenario", &out.shrunk(), "--seed", seed]);
    assert_eq!(plain.code, 1, "{}", plain.show());
    // shrunk.json records its seed: a replay without --seed runs that seed.
    let unseeded = zabsim(&["replay", "--scenario", &out.shrunk()]);
    assert!(
        unseeded.stdout.starts_with(&format!("seed: {seed} ")),
        "{}",
        unseeded.show()
    );
    assert_eq!(unseeded.check(), original.check(), "{}", unseeded.show());
    assert_eq!(plain.check(), original.check(), "{}", plain.show());
    let (before, after) = (original.faults_scheduled(), plain.faults_scheduled());
    assert!(
        after + fewer <= before,
        "faults {before} → {after}\n{}",
        shrunk.show()
    );
}

#[test]
fn shrinks_a_swarm_seed_of_the_default_scenario() {
    // Seed 1 of the default scenario with ZOOKEEPER-1154 planted, a swarm seed. Any change
    // of behaviour may move which seeds find the bug (seed 7 did between the monotonic
    // clocks and the learner-close fix): then take the first finding of
    // `zabsim fuzz --bug zk-1154 --seeds 30`, here and in README's tour.
    assert_shrinks(&["--bug", "zk-1154"], "1", 1);
}

#[test]
fn shrinks_a_scripted_scenario_and_is_deterministic() {
    let s = scenario("bug-zk-3911.toml");
    assert_shrinks(&["--scenario", &s, "--bug", "zk-3911"], "0", 1);
    let (a, b) = (Temp::new("a"), Temp::new("b"));
    let args = ["--scenario", s.as_str(), "--bug", "zk-3911", "--seed", "1"];
    let (ra, rb) = (shrink(&args, &a), shrink(&args, &b));
    let read = |t: &Temp| std::fs::read(t.shrunk()).expect("shrunk.json written");
    assert_eq!(read(&a), read(&b), "two shrinks differ");
    assert_eq!(ra.line("trace hash: "), rb.line("trace hash: "));
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let out = Temp::new("pass");
    let r = zabsim(&[
        "shrink",
        "--bug",
        "zk-1154",
        "--seed",
        "0",
        "--out",
        out.s(),
    ]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(
        r.stdout.contains("seed 0 passes; nothing to shrink"),
        "{}",
        r.show()
    );
    assert!(!out.0.exists(), "nothing is written for a passing seed");
}

#[test]
fn bad_input_exits_2_and_names_the_problem() {
    let missing = Temp::new("missing.toml");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--scenario", missing.s(), "--seed", "1"], missing.s()),
        (vec!["--bug", "zk-1154"], "--seed"),
        (
            vec!["--seed", "1", "--set", "run.safety_ms=0"],
            "run.safety_ms",
        ),
        (vec!["--seed", "seven"], "seven"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["shrink"];
        all.extend(args);
        let r = zabsim(&all);
        assert_eq!(r.code, 2, "{}", r.show());
        assert!(r.stderr.contains("error:"), "{}", r.show());
        assert!(
            r.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            r.show()
        );
    }
    let r = zabsim(&["shrink", "--seed", "1", "--runs-max", "lots"]);
    assert_eq!(r.code, 2, "{}", r.show());
}
