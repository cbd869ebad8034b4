//! The confirmation search: the history up to a cut time turned into engine operations
//! for the znode-tree model (`model.rs`), run through the generic engine, and its
//! explanation mapped back to history events.
//!
//! The cut at time `T` keeps what a prefix of the run shows: writes invoked at or before
//! `T` (those not completed by `T`, and info writes, pending: they may or may not take
//! effect), reads and syncs completed by `T`, and server closes at or before `T`. If the
//! whole history has an explanation, so has every cut: take the explanation's order
//! restricted to the kept writes. A write completed by `T` precedes (real time) every
//! write invoked after `T`, and a read completed by `T` sees no write invoked after it
//! completed, so every kept op with a known result sees the same state as before; chains
//! and syncs only lose entries. Hence a cut without an explanation proves a violation.
//!
//! A window may also be projected onto a scope (`scope.rs`): only the ops inside a few
//! top-level subtrees are kept, which is sound by the same argument.
//!
//! Engine operations: each kept write (answered writes with a known result or a server
//! close: completed; the rest pending) and one end marker per chain ([end, end]); reads
//! and syncs are chain entries the model advances. Writes that failed before the tree (no-op) constrain nothing here
//! and are left out.

use lincheck::lin::{Budget, Explanation, Operation, Stats, Verdict, check_with_stats};
use proto::Time;
use proto::history::Event;
use serde::Serialize;

use super::history::{Classified, Item, WriteStatus, record, render_event};
use super::model::{EngineOp, Entry, ModelChain, ZkModel};
use super::scope::{Scope, keeps};

/// What one search looks at: the cut time (inclusive; `u64::MAX`: everything) and,
/// optionally, a scope to project onto.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub cut: u64,
    pub scope: Option<Scope>,
}

impl Window {
    pub fn whole() -> Window {
        Window {
            cut: u64::MAX,
            scope: None,
        }
    }

    fn keeps_read(&self, events: &[Event], event: usize) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| keeps(s, &record(events, event).op) == Some(true))
    }

    fn keeps_write(&self, events: &[Event], cls: &Classified, write: usize) -> bool {
        self.scope.as_ref().is_none_or(|s| {
            let op = cls.write_op(events, &cls.writes[write]);
            let kept = keeps(s, op);
            assert!(kept.is_some(), "a scope never splits an op: {op:?}");
            kept == Some(true)
        })
    }
}

/// The engine's input for one window.
pub(crate) struct Prepared<'h> {
    pub model: ZkModel<'h>,
    pub history: Vec<Operation<u32, ()>>,
    /// The history event of each engine op (an end marker: its chain's last entry).
    pub event_of: Vec<usize>,
}

/// Build the engine input for a window.
pub(crate) fn prepare<'h>(
    events: &'h [Event],
    cls: &'h Classified,
    window: &Window,
) -> Prepared<'h> {
    let cut = window.cut;
    let end = Time(cls.end_time.min(cut).saturating_add(1));
    let mut ops = Vec::new();
    let mut history = Vec::new();
    let mut event_of = Vec::new();
    let mut push = |op: EngineOp, call: u64, ret: Option<Time>, event: usize| {
        let input = u32::try_from(ops.len()).expect("fewer than 2^32 engine ops");
        ops.push(op);
        history.push(Operation {
            client_id: 0,
            call_time: Time(call),
            return_time: ret,
            input,
            output: ret.map(|_| ()),
        });
        event_of.push(event);
    };
    // The kept writes; the completed ones ranked by completion (syncs wait for a prefix).
    let kept: Vec<bool> = (0..cls.writes.len())
        .map(|w| {
            let write = &cls.writes[w];
            write.invoke <= cut
                && write.status != WriteStatus::NoOp
                && window.keeps_write(events, cls, w)
        })
        .collect();
    let completed = |w: usize| {
        let write = &cls.writes[w];
        kept[w] && write.is_decided() && write.complete.is_some_and(|t| t <= cut)
    };
    let mut by_completion: Vec<usize> = (0..cls.writes.len()).filter(|&w| completed(w)).collect();
    by_completion.sort_by_key(|&w| (cls.writes[w].complete, cls.writes[w].event));
    let mut rank = vec![None; cls.writes.len()];
    for (r, &w) in by_completion.iter().enumerate() {
        rank[w] = Some(u32::try_from(r).expect("fewer than 2^32 writes"));
    }
    let completions: Vec<u64> = by_completion
        .iter()
        .map(|&w| cls.writes[w].complete.expect("completed"))
        .collect();
    // Chains, so that answered writes know their positions.
    let mut chains = Vec::with_capacity(cls.chains.len());
    let mut last_entry = Vec::with_capacity(cls.chains.len());
    let mut write_position = vec![None; cls.writes.len()];
    for chain in &cls.chains {
        let c = u32::try_from(chains.len()).expect("fewer than 2^32 chains");
        let mut entries = Vec::new();
        let mut last = None;
        for &item in &chain.items {
            let position = u32::try_from(entries.len()).expect("chain fits u32");
            match item {
                Item::Read(r) => {
                    let read = &cls.reads[r as usize];
                    if read.complete <= cut && window.keeps_read(events, read.event) {
                        entries.push(Entry::Read(r as usize));
                        last = Some(read.event);
                    }
                }
                Item::Sync(s) => {
                    let sync = &cls.syncs[s as usize];
                    if sync.complete <= cut {
                        let needs = completions.partition_point(|&t| t < sync.invoke);
                        let needs = u32::try_from(needs).expect("fewer than 2^32 writes");
                        entries.push(Entry::Sync { needs });
                        last = Some(sync.event);
                    }
                }
                Item::Write(w) => {
                    let w = w as usize;
                    if cls.writes[w].has_known_result() && completed(w) {
                        write_position[w] = Some((c, position));
                        entries.push(Entry::Write);
                        last = Some(cls.writes[w].event);
                    }
                }
            }
        }
        chains.push(ModelChain::new(entries, cls));
        last_entry.push(last);
    }
    for (w, write) in cls.writes.iter().enumerate() {
        if !kept[w] {
            continue;
        }
        let ret = completed(w).then(|| Time(write.complete.expect("completed")));
        let op = EngineOp::Write {
            write: w,
            chain: write_position[w],
            rank: rank[w],
        };
        push(op, write.invoke, ret, write.event);
    }
    for (c, last) in last_entry.iter().enumerate() {
        if let Some(last) = *last {
            let chain = u32::try_from(c).expect("fewer than 2^32 chains");
            push(EngineOp::End { chain }, end.0, Some(end), last);
        }
    }
    Prepared {
        model: ZkModel {
            events,
            cls,
            ops,
            chains,
            ranked: u32::try_from(completions.len()).expect("fewer than 2^32 writes"),
        },
        history,
        event_of,
    }
}

/// The engine's failure explanation in history terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchExplanation {
    /// Longest linearizable prefix of the engine operations, as history events (an end
    /// marker shows as its session's last op).
    pub prefix: Vec<usize>,
    /// Operations that could not come next.
    pub stuck: Vec<usize>,
    /// The prefix, the model state after it and the stuck operations, one per line.
    pub rendered: String,
}

/// Prefix operations listed in full in a rendering (the rest are counted).
const RENDERED_PREFIX_MAX: usize = 40;

/// Run the search on a window. Also returns the number of engine operations.
pub(crate) fn run(
    events: &[Event],
    cls: &Classified,
    window: &Window,
    budget: &Budget,
) -> (Verdict, Stats, Option<SearchExplanation>, usize) {
    let prepared = prepare(events, cls, window);
    let (verdict, stats) = check_with_stats(&prepared.model, &prepared.history, budget);
    let explanation = verdict.explanation().map(|e| explain(events, &prepared, e));
    (verdict, stats, explanation, prepared.history.len())
}

fn explain(events: &[Event], prepared: &Prepared<'_>, e: &Explanation) -> SearchExplanation {
    let describe = |i: usize| {
        let kind = match prepared.model.ops[i] {
            EngineOp::End { .. } => "end of session after ",
            EngineOp::Write { .. } => "",
        };
        format!("{kind}{}", render_event(events, prepared.event_of[i]))
    };
    let mut rendered = format!(
        "longest linearizable prefix: {} engine ops\n",
        e.prefix.len()
    );
    let skipped = e.prefix.len().saturating_sub(RENDERED_PREFIX_MAX);
    if skipped > 0 {
        rendered.push_str(&format!("  … {skipped} earlier ops\n"));
    }
    for &i in &e.prefix[skipped..] {
        rendered.push_str(&format!("  {}\n", describe(i)));
    }
    rendered.push_str(&format!(
        "state after the prefix: {}\n",
        e.state_after_prefix
    ));
    rendered.push_str("could not come next:\n");
    for &i in &e.stuck {
        rendered.push_str(&format!("  {}\n", describe(i)));
    }
    SearchExplanation {
        prefix: e.prefix.iter().map(|&i| prepared.event_of[i]).collect(),
        stuck: e.stuck.iter().map(|&i| prepared.event_of[i]).collect(),
        rendered,
    }
}
