//! ZooKeeper on Raft (`[cluster] protocol = "raft"`): seeds of the shipped default and CI
//! scenarios pass every monitor and the liveness phase and replay to the same trace hash;
//! the loader refuses an unknown protocol, observers on Raft, and bugs of the other
//! protocol, naming the field; the resolved scenario of a ZAB run does not mention the
//! protocol.

mod common;

use common::{error_of, load};
use sim::scenario::Protocol;

const RAFT: &str = "cluster.protocol=raft";

#[test]
fn default_and_ci_seeds_pass_on_raft_and_replay() {
    common::seeds_pass_and_replay(
        &[RAFT],
        Protocol::Raft,
        &[("default.toml", 1..=4), ("ci.toml", 1..=3)],
    );
}

#[test]
fn the_loader_names_what_is_wrong_with_the_protocol() {
    let e = error_of("default.toml", &["cluster.protocol=viewstamped"]);
    assert!(
        e.contains("cluster.protocol") && e.contains("viewstamped"),
        "{e}"
    );
    let e = error_of("zab-7-observers.toml", &[RAFT]);
    assert!(e.contains("cluster.observers"), "{e}");
    let e = error_of("default.toml", &[RAFT, "zab.bugs=[\"zk-1419\"]"]);
    assert!(e.contains("zab.bugs") && e.contains("zk-1419"), "{e}");
    let e = error_of("default.toml", &["zab.bugs=[\"raft-figure8\"]"]);
    assert!(e.contains("zab.bugs") && e.contains("raft-figure8"), "{e}");
    // Recipe bugs belong to no protocol; Raft's own are taken on Raft.
    load(
        "default.toml",
        &[
            RAFT,
            "zab.bugs=[\"raft-figure8\", \"raft-no-vote-persist\"]",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_protocol_is_left_out_of_a_zab_scenario_as_resolved() {
    let zab = load("default.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(zab.scenario.cluster.protocol(), Protocol::Zab);
    let json = serde_json::to_string(&zab.scenario).expect("serializes");
    assert!(!json.contains("protocol"), "{json}");
    let raft = load("default.toml", &[RAFT]).unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_string(&raft.scenario).expect("serializes");
    assert!(json.contains("\"protocol\":\"raft\""), "{json}");
}
