//! `zabsim compare` end to end: one table per scenario with a row per engine (every seed
//! passing on the shipped zab-leader-crash scenario, a recovery time per crashed leader),
//! the same table whatever `--jobs`, and bad engines, seeds and scenarios exit 2 naming the
//! flag or file.

mod common;

use common::zabsim;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scenarios/zab-leader-crash.toml"
);

#[test]
fn each_engine_gets_a_row_and_jobs_do_not_change_the_table() {
    let args = ["compare", "--scenario", SCENARIO, "--seeds", "3"];
    let one = zabsim(&[&args[..], &["--jobs", "1"]].concat());
    assert_eq!(one.code, 0, "{}", one.show());
    for engine in ["zab", "raft", "paxos"] {
        let row = one
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{engine} ")))
            .unwrap_or_else(|| panic!("no {engine} row:\n{}", one.show()));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[1..3], ["3", "3"], "3 seeds, all pass: {row}");
        assert!(
            row.contains("(3)"),
            "one recovery per seed's leader crash: {row}"
        );
    }
    let two = zabsim(&[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn bad_arguments_exit_2_naming_what_is_wrong() {
    let cases: [(&[&str], &str); 3] = [
        (&["--protocols", "zab,vr"], "--protocols"),
        (&["--seeds", "0"], "--seeds"),
        (&["--scenario", "no/such.toml"], "no/such.toml"),
    ];
    for (extra, named) in cases {
        let mut args = vec!["compare"];
        if !extra.contains(&"--scenario") {
            args.extend(["--scenario", SCENARIO]);
        }
        args.extend(extra);
        let run = zabsim(&args);
        assert_eq!(run.code, 2, "{}", run.show());
        assert!(run.stderr.contains(named), "{}", run.show());
    }
}
