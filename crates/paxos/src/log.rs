//! One server's slots, as acceptor and learner: per slot the value accepted with its ballot
//! (the acceptor's durable vote) and, once learned, the value chosen there; the chosen
//! prefix; and the learner's delivered history (cumulative digests, for the monitors).
//! Under prefix acceptance ([`Log::accept_prefix`]) the accepted values form one
//! contiguous log from slot 1 whose tags (the ballot that first proposed each value,
//! [`Value::tag`]) never decrease, and a conflicting suffix is dropped, never mixed in.
//! Invariants: a slot's accepted ballot never decreases (without planted bugs: the
//! acceptor only accepts at or above its promise); a chosen value never changes (without
//! planted bugs); every slot `1..=chosen_upto` is chosen; slots are in `1..=LOG_SLOTS_MAX`.

use std::collections::BTreeMap;
use std::sync::Arc;

use proto::Zxid;
use replication::{App, Entry, chain_digest};

use crate::config::LOG_SLOTS_MAX;

/// What a slot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<A: App> {
    /// An application entry (shared with its disk record and the messages carrying it).
    App(Arc<A::Entry>),
    /// A no-op: a gap a new proposer filled, or a read barrier. Never delivered.
    Noop,
    /// Prefix acceptance: a no-op proposed in ballot `.0` (a barrier, or the proposer's
    /// first own value after a recovery), tagged with it. Never delivered.
    Mark(u64),
}

impl<A: App> Value<A> {
    /// The application entry's zxid (None for a no-op).
    pub fn zxid(&self) -> Option<Zxid> {
        match self {
            Value::App(e) => Some(e.zxid()),
            Value::Noop | Value::Mark(_) => None,
        }
    }

    /// The ballot that first proposed it (an entry's zxid epoch; 0 for a classic no-op).
    pub fn tag(&self) -> u64 {
        match self {
            Value::App(e) => u64::from(e.zxid().epoch().0),
            Value::Noop => 0,
            Value::Mark(ballot) => *ballot,
        }
    }

    /// Bytes on the wire and on disk.
    pub fn size_bytes(&self) -> u32 {
        match self {
            Value::App(e) => e.size_bytes().saturating_add(8),
            Value::Noop | Value::Mark(_) => 8,
        }
    }
}

/// One slot as this server knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot<A: App> {
    /// The acceptor's vote: the ballot and value it accepted last.
    pub accepted: Option<(u64, Value<A>)>,
    /// The value learned chosen (not durable: learned again after a restart).
    pub chosen: Option<Value<A>>,
}

/// What an acceptor reports of one slot in a promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<A: App> {
    pub slot: u64,
    /// The ballot it accepted `value` in (0 when only learned chosen).
    pub ballot: u64,
    pub value: Value<A>,
    /// Known chosen: the proposer takes it as it is.
    pub decided: bool,
}

/// See the module header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log<A: App> {
    slots: BTreeMap<u64, Slot<A>>,
    chosen_upto: u64,
    /// (zxid, cumulative digest) of each application entry delivered, in delivery order.
    history: Vec<(Zxid, u64)>,
}

impl<A: App> Default for Log<A> {
    fn default() -> Self {
        Log {
            slots: BTreeMap::new(),
            chosen_upto: 0,
            history: Vec::new(),
        }
    }
}

impl<A: App> Log<A> {
    pub fn new() -> Log<A> {
        Log::default()
    }

    pub fn get(&self, slot: u64) -> Option<&Slot<A>> {
        self.slots.get(&slot)
    }

    /// The highest slot this server holds anything for (0 if none).
    pub fn last_slot(&self) -> u64 {
        self.slots.last_key_value().map_or(0, |(s, _)| *s)
    }

    /// Every slot `1..=chosen_upto` is chosen here.
    pub fn chosen_upto(&self) -> u64 {
        self.chosen_upto
    }

    pub fn chosen_at(&self, slot: u64) -> Option<&Value<A>> {
        self.slots.get(&slot).and_then(|s| s.chosen.as_ref())
    }

    /// The ballot accepted at `slot` (0 if none).
    pub fn accepted_ballot(&self, slot: u64) -> u64 {
        self.slots
            .get(&slot)
            .and_then(|s| s.accepted.as_ref())
            .map_or(0, |a| a.0)
    }

    fn slot_mut(&mut self, slot: u64) -> &mut Slot<A> {
        assert!(
            (1..=LOG_SLOTS_MAX).contains(&slot),
            "slot {slot} outside 1..={LOG_SLOTS_MAX}"
        );
        self.slots.entry(slot).or_insert(Slot {
            accepted: None,
            chosen: None,
        })
    }

    /// The acceptor accepts `value` at `slot` in `ballot`. `bugs`: a planted bug may make a
    /// forgotten acceptance come back lower.
    pub fn accept(&mut self, slot: u64, ballot: u64, value: Value<A>, bugs: bool) {
        let s = self.slot_mut(slot);
        let before = s.accepted.as_ref().map_or(0, |a| a.0);
        assert!(
            bugs || ballot >= before,
            "slot {slot}: accepted ballot goes back from {before} to {ballot}"
        );
        s.accepted = Some((ballot, value));
    }

    /// Prefix acceptance: the acceptor accepts `value` at `slot` in `ballot`. A value of
    /// another tag at `slot` starts a conflicting suffix: every slot from `slot` on is
    /// dropped first (none of them chosen, without planted bugs); a value of the same tag is
    /// the same value, and the slots after it stay.
    pub fn accept_prefix(&mut self, slot: u64, ballot: u64, value: Value<A>, bugs: bool) {
        assert!(
            slot == 1 || self.slots.contains_key(&(slot - 1)),
            "slot {slot}: a hole before it under prefix acceptance"
        );
        let conflict = self
            .slots
            .get(&slot)
            .and_then(|s| s.accepted.as_ref())
            .is_some_and(|(_, v)| v.tag() != value.tag());
        if conflict {
            let dropped = self.slots.split_off(&slot);
            assert!(
                bugs || dropped.values().all(|s| s.chosen.is_none()),
                "slot {slot}: a chosen value in the conflicting suffix dropped"
            );
            self.chosen_upto = self.chosen_upto.min(slot - 1);
        }
        let s = self.slot_mut(slot);
        if let Some((b, v)) = &s.accepted {
            assert!(
                conflict || *v == value || bugs,
                "slot {slot}: two values of tag {}",
                value.tag()
            );
            assert!(
                bugs || ballot >= *b,
                "slot {slot}: accepted ballot goes back"
            );
        }
        s.accepted = Some((ballot, value));
    }

    /// Prefix acceptance: the tag of the last value accepted and its slot ((0, 0) if none).
    pub fn last_tagged(&self) -> (u64, u64) {
        self.slots
            .last_key_value()
            .and_then(|(slot, s)| s.accepted.as_ref().map(|(_, v)| (v.tag(), *slot)))
            .unwrap_or((0, 0))
    }

    /// `value` is chosen at `slot`; returns whether the chosen prefix grew.
    pub fn choose(&mut self, slot: u64, value: Value<A>, bugs: bool) -> bool {
        let s = self.slot_mut(slot);
        match &s.chosen {
            Some(v) => {
                assert!(bugs || *v == value, "slot {slot}: two values chosen");
                return false;
            }
            None => s.chosen = Some(value),
        }
        let before = self.chosen_upto;
        while self.chosen_at(self.chosen_upto + 1).is_some() {
            self.chosen_upto += 1;
        }
        self.chosen_upto > before
    }

    /// What this acceptor reports for every slot at or after `from` (a promise's body).
    pub fn reports_from(&self, from: u64) -> Vec<Report<A>> {
        assert!(from >= 1, "reports from slot 0");
        let mut reports = Vec::new();
        for (slot, s) in self.slots.range(from..) {
            let report = match (&s.chosen, &s.accepted) {
                (Some(v), accepted) => Report {
                    slot: *slot,
                    ballot: accepted.as_ref().map_or(0, |a| a.0),
                    value: v.clone(),
                    decided: true,
                },
                (None, Some((b, v))) => Report {
                    slot: *slot,
                    ballot: *b,
                    value: v.clone(),
                    decided: false,
                },
                (None, None) => continue,
            };
            reports.push(report);
        }
        reports
    }

    /// Records the delivery of application entry `zxid` (its digest chained onto the
    /// delivered history).
    pub fn delivered(&mut self, zxid: Zxid, digest: u64) {
        assert!(zxid > self.last_delivered(), "delivered out of zxid order");
        let prev = self.history.last().map_or(0, |h| h.1);
        self.history.push((zxid, chain_digest(prev, zxid, digest)));
    }

    /// The last delivered application entry's zxid (ZERO if none).
    pub fn last_delivered(&self) -> Zxid {
        self.history.last().map_or(Zxid::ZERO, |h| h.0)
    }

    /// The cumulative digest of the delivered history through `zxid` (`Some(0)` at zxid
    /// 0); None if no delivered entry is at `zxid`.
    pub fn digest_at(&self, zxid: Zxid) -> Option<u64> {
        if zxid == Zxid::ZERO {
            return Some(0);
        }
        let i = self.history.partition_point(|h| h.0 < zxid);
        self.history.get(i).filter(|h| h.0 == zxid).map(|h| h.1)
    }

    /// Asserts the chosen prefix is chosen (O(1): its end only).
    pub fn check(&self) {
        assert!(
            self.chosen_upto == 0 || self.chosen_at(self.chosen_upto).is_some(),
            "the chosen prefix ends at an unchosen slot"
        );
        assert!(
            self.chosen_at(self.chosen_upto + 1).is_none(),
            "the chosen prefix stops short"
        );
    }
}
