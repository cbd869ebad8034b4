//! Online protocol-invariant monitors: [`Monitors`] consumes every server's
//! [`ProtocolEvent`]s (the engines' replication events plus crashes) as the run produces them and reports the
//! first broken ZAB safety property (the table at the top of `violation.rs`) as a
//! [`MonitorViolation`] named after it.
//!
//! How it works, incrementally (O(1) or O(log n) per event; O(removed) per truncation):
//! - `canon`: the canonical delivered history `G` (zxid, digest, cumulative digest) built
//!   from the first delivery of each position anywhere. Every server has a cursor into
//!   `G`; each `Delivered` must equal the next canonical entry (Agreement, TotalOrder,
//!   PrefixConsistency), or extend `G` when the server is at its end (then Integrity: it
//!   was proposed with that digest). A server's own deliveries must increase
//!   (LocalPrimaryOrder within an epoch, GlobalPrimaryOrder across epochs). `Reset` moves the
//!   cursor to `upto`, whose canonical cumulative digest must equal `history`.
//! - Leadership: one `Established` per epoch; one digest per proposed zxid.
//! - PrimaryIntegrity: a leader proposing in epoch `e` has delivered every canonical txn of
//!   the epochs before `e`.
//! - CommittedLogDurability: `Truncated` never removes a committed (delivered anywhere, or
//!   reported `Committed`) txn.
//! - Checks that read server state run in [`Monitors::after_event`], against the state
//!   after the event that emitted the note: LeaderLogCompleteness (an `Established`
//!   leader's log holds the committed history, compared by cumulative digest) and
//!   ProcessConsistency (a `Synced` learner's log equals its leader's through its last
//!   zxid).
//!
//! Invariants: every collection is bounded (window, per-epoch and per-server caps below);
//! nothing iterates a hash map; a check that cannot be decided (state trimmed away, leader
//! gone) is skipped and counted in [`MonitorSummary::checks_skipped`], never guessed.

mod canon;
mod deferred;
mod delivery;
mod event;
mod violation;

use std::collections::BTreeMap;

use proto::{Epoch, ProcessId, Time, Zxid};

pub use canon::MAX_EPOCHS_TRACKED;
pub use event::{
    Event, Phase, ProtocolEvent, ServerLog, ServerState, chain_digest, history_digest,
};
pub use violation::{
    AGREEMENT, COMMITTED_LOG_DURABILITY, GLOBAL_PRIMARY_ORDER, INTEGRITY, LEADER_LOG_COMPLETENESS,
    LEADERSHIP, LOCAL_PRIMARY_ORDER, MONITOR_NAMES, MonitorViolation, PREFIX_CONSISTENCY,
    PRIMARY_INTEGRITY, PROCESS_CONSISTENCY, TOTAL_ORDER,
};

use canon::Canon;
use deferred::Deferred;
use violation::zx;

/// Default number of canonical txns kept in full (about 32 bytes each).
pub const DEFAULT_WINDOW_TXNS: usize = 1 << 18;
/// Bound on proposals above the canonical frontier that are remembered for Integrity.
pub const MAX_PROPOSED_TRACKED: usize = 1 << 16;
/// Bound on `Committed` zxids not yet delivered anywhere.
pub const MAX_COMMITTED_PENDING: usize = 1 << 16;
/// Bound on state-reading checks waiting for [`Monitors::after_event`].
pub const MAX_DEFERRED_CHECKS: usize = 1 << 10;
/// Bound on monitored process ids (`ProcessId` index).
pub const MAX_MONITORED_PROCESSES: usize = 1 << 12;

/// Counters for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorSummary {
    /// `ElectionDone` events (one per deciding server).
    pub election_decisions: u64,
    /// `Established` events (one per established epoch in a correct run).
    pub established_epochs: u64,
    pub max_established_epoch: Epoch,
    pub proposals: u64,
    pub commits: u64,
    pub deliveries: u64,
    /// Distinct txns delivered anywhere (length of the canonical history).
    pub canonical_txns: u64,
    pub resets: u64,
    pub truncations: u64,
    pub truncated_txns: u64,
    pub syncs: u64,
    pub crashes: u64,
    pub restarts: u64,
    /// Checks that could not be decided (state trimmed away, leader gone) and were skipped.
    pub checks_skipped: u64,
}

impl MonitorSummary {
    /// `(name, value)` pairs for a printed run summary.
    pub fn figures(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("monitor_election_decisions", self.election_decisions),
            ("monitor_established_epochs", self.established_epochs),
            (
                "monitor_max_established_epoch",
                u64::from(self.max_established_epoch.0),
            ),
            ("monitor_proposals", self.proposals),
            ("monitor_commits", self.commits),
            ("monitor_deliveries", self.deliveries),
            ("monitor_canonical_txns", self.canonical_txns),
            ("monitor_resets", self.resets),
            ("monitor_truncations", self.truncations),
            ("monitor_truncated_txns", self.truncated_txns),
            ("monitor_syncs", self.syncs),
            ("monitor_crashes", self.crashes),
            ("monitor_restarts", self.restarts),
            ("monitor_checks_skipped", self.checks_skipped),
        ]
    }
}

/// Sizes of the monitors' bounded collections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    pub canonical_window_txns: usize,
    pub proposed_txns: usize,
    pub committed_pending_txns: usize,
    pub established_epochs: usize,
    pub deferred_checks: usize,
}

/// A server's position in the canonical history: the last txn it delivered (`zxid`, with
/// the cumulative digest of its delivered history `cum`) and, when known, that txn's
/// absolute canonical position `abs`. `abs` below the window's base means "floating":
/// its agreement with `G` is checked by cumulative digest once it reaches the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    zxid: Zxid,
    cum: u64,
    abs: Option<u64>,
}

impl Cursor {
    const GENESIS: Cursor = Cursor {
        zxid: Zxid::ZERO,
        cum: 0,
        abs: Some(0),
    };
}

/// Per-server monitor state.
#[derive(Clone, Copy, Debug)]
struct Track {
    /// `None` between a crash and the next `Reset`.
    cursor: Option<Cursor>,
    /// The largest zxid this server ever proposed (kept across incarnations).
    last_proposed: Zxid,
}

/// See the module header.
#[derive(Debug)]
pub struct Monitors {
    canon: Canon,
    tracks: Vec<Track>,
    /// Proposals above the canonical frontier: zxid → (digest, proposer).
    proposed: BTreeMap<Zxid, (u64, ProcessId)>,
    /// Proposals at or below this zxid may have been forgotten (bound reached).
    proposed_forgotten_through: Zxid,
    /// `Committed` zxids above the canonical frontier → the committing leader.
    committed_pending: BTreeMap<Zxid, ProcessId>,
    committed_pending_forgotten_through: Zxid,
    /// Epoch → the server that established it.
    established: BTreeMap<Epoch, ProcessId>,
    established_forgotten_through: Option<Epoch>,
    deferred: Vec<Deferred>,
    last_at: Time,
    summary: MonitorSummary,
}

impl Default for Monitors {
    fn default() -> Monitors {
        Monitors::new()
    }
}

impl Monitors {
    /// Monitors for a run whose servers start from empty disks (genesis).
    pub fn new() -> Monitors {
        Monitors::with_window(DEFAULT_WINDOW_TXNS)
    }

    /// Keeps only the newest `window_txns` canonical txns in full.
    pub fn with_window(window_txns: usize) -> Monitors {
        Monitors {
            canon: Canon::new(window_txns),
            tracks: Vec::new(),
            proposed: BTreeMap::new(),
            proposed_forgotten_through: Zxid::ZERO,
            committed_pending: BTreeMap::new(),
            committed_pending_forgotten_through: Zxid::ZERO,
            established: BTreeMap::new(),
            established_forgotten_through: None,
            deferred: Vec::new(),
            last_at: Time::ZERO,
            summary: MonitorSummary::default(),
        }
    }

    pub fn summary(&self) -> MonitorSummary {
        self.summary
    }

    /// Current sizes of the bounded collections (for tests and memory reports).
    pub fn footprint(&self) -> Footprint {
        Footprint {
            canonical_window_txns: self.canon.window_len(),
            proposed_txns: self.proposed.len(),
            committed_pending_txns: self.committed_pending.len(),
            established_epochs: self.established.len(),
            deferred_checks: self.deferred.len(),
        }
    }

    /// The last canonical (delivered somewhere) zxid and the cumulative digest through it.
    pub fn canonical_last(&self) -> (Zxid, u64) {
        let t = self.canon.last();
        (t.zxid, t.cum)
    }

    /// Feeds one event and runs any state-reading check it needs right away, against
    /// `servers` (`None` for a server that is down). Equivalent to [`Monitors::on_note`]
    /// followed by [`Monitors::after_event`].
    pub fn on_event<S: ServerLog>(
        &mut self,
        now: Time,
        pid: ProcessId,
        ev: &ProtocolEvent,
        servers: impl Fn(ProcessId) -> Option<S>,
    ) -> Result<(), MonitorViolation> {
        self.on_note(now, pid, ev)?;
        self.after_event(now, servers)
    }

    /// Feeds one event; checks that need server state are queued for
    /// [`Monitors::after_event`], which must run after every simulator event.
    pub fn on_note(
        &mut self,
        now: Time,
        pid: ProcessId,
        ev: &ProtocolEvent,
    ) -> Result<(), MonitorViolation> {
        assert!(now >= self.last_at, "monitor time went backwards: {now}");
        self.last_at = now;
        self.track(pid);
        match ev {
            ProtocolEvent::Repl(Event::State { .. } | Event::Phase(_)) => Ok(()),
            ProtocolEvent::Repl(Event::ElectionDone { .. }) => {
                self.summary.election_decisions += 1;
                Ok(())
            }
            ProtocolEvent::Repl(Event::Established { epoch }) => {
                self.on_established(now, pid, *epoch)
            }
            ProtocolEvent::Repl(Event::Proposed { zxid, digest }) => {
                self.on_proposed(pid, *zxid, *digest)
            }
            ProtocolEvent::Repl(Event::Committed { zxid }) => {
                self.on_committed(pid, *zxid);
                Ok(())
            }
            ProtocolEvent::Repl(Event::Delivered { zxid, digest }) => {
                self.on_delivered(pid, *zxid, *digest)
            }
            ProtocolEvent::Repl(Event::Reset { upto, history }) => {
                self.on_reset(pid, *upto, *history)
            }
            ProtocolEvent::Repl(Event::Truncated { after, removed }) => {
                self.on_truncated(pid, *after, removed)
            }
            ProtocolEvent::Repl(Event::Synced {
                leader,
                epoch,
                last_zxid,
            }) => {
                self.summary.syncs += 1;
                self.defer(Deferred::FollowerSynced {
                    follower: pid,
                    leader: *leader,
                    epoch: *epoch,
                    last_zxid: *last_zxid,
                    noted_at: now,
                });
                Ok(())
            }
            ProtocolEvent::Crashed => {
                self.summary.crashes += 1;
                self.tracks[pid.index()].cursor = None;
                Ok(())
            }
            ProtocolEvent::Restarted => {
                self.summary.restarts += 1;
                Ok(())
            }
        }
    }

    /// Runs the queued state-reading checks against the servers as they are now (after
    /// the event that emitted the notes). Call after every simulator event.
    pub fn after_event<S: ServerLog>(
        &mut self,
        now: Time,
        servers: impl Fn(ProcessId) -> Option<S>,
    ) -> Result<(), MonitorViolation> {
        assert!(now >= self.last_at, "monitor time went backwards: {now}");
        self.last_at = now;
        if self.deferred.is_empty() {
            return Ok(());
        }
        let queued = std::mem::take(&mut self.deferred);
        for check in &queued {
            self.run_deferred(check, &servers)?;
        }
        Ok(())
    }

    /// The track of `pid`, created (at genesis) on first sight.
    fn track(&mut self, pid: ProcessId) -> &mut Track {
        let i = pid.index();
        assert!(
            i < MAX_MONITORED_PROCESSES,
            "process id {pid} beyond the monitors' bound"
        );
        while self.tracks.len() <= i {
            self.tracks.push(Track {
                cursor: Some(Cursor::GENESIS),
                last_proposed: Zxid::ZERO,
            });
        }
        &mut self.tracks[i]
    }

    fn defer(&mut self, check: Deferred) {
        assert!(
            self.deferred.len() < MAX_DEFERRED_CHECKS,
            "{} state checks queued: after_event is not being called",
            self.deferred.len()
        );
        self.deferred.push(check);
    }

    // ---- Leadership, PrimaryIntegrity, LocalPrimaryOrder of proposals ----------------

    fn on_established(
        &mut self,
        now: Time,
        pid: ProcessId,
        epoch: Epoch,
    ) -> Result<(), MonitorViolation> {
        self.summary.established_epochs += 1;
        self.summary.max_established_epoch = self.summary.max_established_epoch.max(epoch);
        if self
            .established_forgotten_through
            .is_some_and(|f| epoch <= f)
        {
            self.summary.checks_skipped += 1;
        } else if let Some(&other) = self.established.get(&epoch) {
            let again = if other == pid { " again" } else { "" };
            return Err(MonitorViolation::new(
                LEADERSHIP,
                &[pid, other],
                format!(
                    "{pid} established epoch {}{again}, which {other} already established: two \
                     primaries for one epoch (zxids of that epoch may now name two txns)",
                    epoch.0
                ),
            ));
        } else {
            self.established.insert(epoch, pid);
            if self.established.len() > MAX_EPOCHS_TRACKED {
                let (e, _) = self.established.pop_first().expect("non-empty");
                self.established_forgotten_through = Some(e);
            }
        }
        let committed = self.canon.last();
        let pending = self
            .committed_pending
            .last_key_value()
            .map(|(z, p)| (*z, *p));
        self.defer(Deferred::LeaderComplete {
            leader: pid,
            epoch,
            committed,
            pending,
            noted_at: now,
        });
        Ok(())
    }

    fn on_proposed(
        &mut self,
        pid: ProcessId,
        zxid: Zxid,
        digest: u64,
    ) -> Result<(), MonitorViolation> {
        self.summary.proposals += 1;
        assert!(zxid > Zxid::ZERO, "{pid} proposed zxid 0");
        let track = *self.track(pid);
        if zxid <= track.last_proposed {
            return Err(MonitorViolation::new(
                LOCAL_PRIMARY_ORDER,
                &[pid],
                format!(
                    "{pid} proposed {} after already proposing {}: a primary's broadcast order \
                     must strictly increase",
                    zx(zxid),
                    zx(track.last_proposed)
                ),
            ));
        }
        self.tracks[pid.index()].last_proposed = zxid;
        self.check_primary_integrity(pid, zxid, track.cursor)?;
        let last = self.canon.last();
        if zxid > last.zxid {
            if let Some(&(d, by)) = self.proposed.get(&zxid) {
                if d != digest {
                    return Err(MonitorViolation::new(
                        LEADERSHIP,
                        &[pid, by],
                        format!(
                            "{pid} proposed {} with digest {}, but {by} proposed it with digest \
                             {}: two primaries issued the same zxid",
                            zx(zxid),
                            violation::dg(digest),
                            violation::dg(d)
                        ),
                    ));
                }
                return Ok(());
            }
            self.proposed.insert(zxid, (digest, pid));
            if self.proposed.len() > MAX_PROPOSED_TRACKED {
                let (z, _) = self.proposed.pop_first().expect("non-empty");
                self.proposed_forgotten_through = self.proposed_forgotten_through.max(z);
            }
        } else if let canon::Lookup::At { txn, .. } = self.canon.find(zxid)
            && txn.digest != digest
        {
            let by = txn.first.expect("a canonical txn has a first deliverer");
            return Err(MonitorViolation::new(
                LEADERSHIP,
                &[pid, by],
                format!(
                    "{pid} proposed {} with digest {}, but that zxid was already committed and \
                     delivered (first by {by}) with digest {}: two primaries issued it",
                    zx(zxid),
                    violation::dg(digest),
                    violation::dg(txn.digest)
                ),
            ));
        }
        Ok(())
    }

    /// A leader proposing in epoch `e` has delivered every canonical txn of older epochs.
    fn check_primary_integrity(
        &mut self,
        pid: ProcessId,
        zxid: Zxid,
        cursor: Option<Cursor>,
    ) -> Result<(), MonitorViolation> {
        let (Some(frontier), Some(cursor)) = (self.canon.last_before_epoch(zxid.epoch()), cursor)
        else {
            self.summary.checks_skipped += 1;
            return Ok(());
        };
        if cursor.zxid >= frontier {
            return Ok(());
        }
        let by = match self.canon.find(frontier) {
            canon::Lookup::At { txn, .. } => txn.first,
            _ => None,
        };
        let mut processes = vec![pid];
        processes.extend(by);
        let by_text = by.map_or(String::new(), |b| format!(" (first delivered by {b})"));
        Err(MonitorViolation::new(
            PRIMARY_INTEGRITY,
            &processes,
            format!(
                "{pid} proposed {} in epoch {} having delivered only through {}, but older-epoch \
                 txn {} was delivered{by_text}",
                zx(zxid),
                zxid.epoch().0,
                zx(cursor.zxid),
                zx(frontier)
            ),
        ))
    }

    fn on_committed(&mut self, pid: ProcessId, zxid: Zxid) {
        self.summary.commits += 1;
        if zxid <= self.canon.last().zxid {
            return;
        }
        self.committed_pending.entry(zxid).or_insert(pid);
        if self.committed_pending.len() > MAX_COMMITTED_PENDING {
            let (z, _) = self.committed_pending.pop_first().expect("non-empty");
            self.committed_pending_forgotten_through =
                self.committed_pending_forgotten_through.max(z);
        }
    }

    /// Forgets proposals and pending commits the canonical frontier has passed.
    fn prune_through(&mut self, zxid: Zxid) {
        while let Some(e) = self.proposed.first_entry() {
            if *e.key() > zxid {
                break;
            }
            e.remove();
        }
        while let Some(e) = self.committed_pending.first_entry() {
            if *e.key() > zxid {
                break;
            }
            e.remove();
        }
    }

    // ---- CommittedLogDurability ----------------------------------------------------

    fn on_truncated(
        &mut self,
        pid: ProcessId,
        after: Zxid,
        removed: &[Zxid],
    ) -> Result<(), MonitorViolation> {
        self.summary.truncations += 1;
        self.summary.truncated_txns += removed.len() as u64;
        assert!(
            removed.first().is_none_or(|z| *z > after),
            "{pid} truncated after {after} but reports removing {:?}",
            removed.first()
        );
        assert!(
            removed.windows(2).all(|w| w[0] < w[1]),
            "{pid} reports truncated zxids out of order"
        );
        let mut lost: Vec<(Zxid, Option<ProcessId>, &'static str)> = Vec::new();
        for &z in removed {
            match self.canon.contains(z) {
                Some(true) => {
                    let first = match self.canon.find(z) {
                        canon::Lookup::At { txn, .. } => txn.first,
                        _ => None,
                    };
                    lost.push((z, first, "delivered first by"));
                }
                Some(false) => {
                    if let Some(&leader) = self.committed_pending.get(&z) {
                        lost.push((z, Some(leader), "committed by leader"));
                    } else if z <= self.committed_pending_forgotten_through {
                        self.summary.checks_skipped += 1;
                    }
                }
                None => self.summary.checks_skipped += 1,
            }
        }
        let Some(&(z, who, how)) = lost.first() else {
            return Ok(());
        };
        let mut processes = vec![pid];
        processes.extend(who);
        let who_text = who.map_or(String::new(), |w| format!(" ({how} {w})"));
        Err(MonitorViolation::new(
            COMMITTED_LOG_DURABILITY,
            &processes,
            format!(
                "{pid} truncated its log after {}, removing committed txn {}{who_text}; {} of the \
                 {} removed txns were committed",
                zx(after),
                zx(z),
                lost.len(),
                removed.len()
            ),
        ))
    }
}
