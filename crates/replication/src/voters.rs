//! The voting membership an engine's configuration names (shared by raft and paxos): its
//! validation, the peers in id order (the order messages go out in), a strict majority.
//! Invariants: valid voters are 1..=max distinct ids with `me` among them; a quorum is a
//! strict majority, so any two intersect.

use proto::ProcessId;

/// Panics (a configuration bug) unless `voters` are 1..=`max` distinct ids with `me`.
pub fn check(me: ProcessId, voters: &[ProcessId], max: usize) {
    assert!(
        !voters.is_empty() && voters.len() <= max,
        "1..={max} voters, not {}",
        voters.len()
    );
    let mut ids = voters.to_vec();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), voters.len(), "duplicate voter ids");
    assert!(voters.contains(&me), "me is not a voter");
}

/// The voters other than `me`, in id order.
pub fn peers(me: ProcessId, voters: &[ProcessId]) -> Vec<ProcessId> {
    let mut peers: Vec<ProcessId> = voters.iter().copied().filter(|p| *p != me).collect();
    peers.sort();
    peers
}

/// A strict majority of `n` voters.
pub fn quorum_size(n: usize) -> usize {
    let quorum = n / 2 + 1;
    assert!(2 * quorum > n && quorum <= n);
    quorum
}
