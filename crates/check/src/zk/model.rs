//! The znode-tree `Model` the confirmation search runs the generic engine
//! (`lincheck::lin`) with. Engine operations are the writes and one end marker per session;
//! reads and syncs are not engine operations but entries of per-session chains that the
//! model itself advances.
//!
//! State: the tree after the writes linearized so far (shared, copied on write), the
//! position of each session's chain cursor, and the number of writes applied (the next
//! write's zxid: the search numbers txns itself, so stat zxids are masked in comparisons).
//! States compare *modulo zxids*: two trees that differ only in czxid/mzxid/pzxid behave
//! alike from here on (no step branches on those fields and every comparison masks them),
//! so the visited-state cache merges the orders of commuting writes. The masked content
//! hash is kept incrementally from the paths each txn touches.
//!
//! A step of a write: if the write is in a chain (an answered write), the chain's cursor
//! must be on it (session FIFO, and it comes after every read its session made before);
//! no session may still owe a read that completed before the write was invoked (a read
//! never sees a write invoked after it completed); the write is prepared against the tree
//! and, if its result is known, must give it (times and zxids masked). Then every chain's
//! cursor runs over the reads the new tree answers as recorded. Placing a read at the
//! first state that answers it, after its session's previous entries, is never worse than
//! placing it later: every constraint it imposes on later entries is a lower bound. So the
//! greedy cursor loses no explanation, and the engine decides the rest. A pending write
//! (info, or answered after the cut) is refused where it would fail: it would change
//! nothing, and leaving it out keeps every explanation.
//! A sync lets its session's cursor pass once every write completed before the sync was
//! invoked has been applied (the state tracks which completed writes are applied, by
//! completion order, as the longest fully applied prefix), so later reads of the session see
//! at least those writes; passing it at the first such state is never worse, by the same
//! argument as for reads. A session's end marker (interval at the end of history) steps
//! only if its cursor is at the end: every read and sync of the session found its place.
//!
//! Invariants: steps are pure functions of (state, op); states compare by tree contents
//! without zxids (masked hash first), cursors and count, and hash consistently with that
//! (the applied-writes record is a function of the engine's linearized set, which the
//! engine's cache compares itself).

use std::fmt;
use std::sync::Arc;

use datatree::path::parent_of;
use datatree::{DataTree, TxnBody, TxnHeader};
use lincheck::lin::Model;
use proto::history::Event;
use proto::{StableHasher, Zxid, mix64};

use super::compare::{Zxids, failed_txn_result, read_matches, result_matches, stat_matches};
use super::history::{Classified, record};

/// An engine operation: the `Input` is its index in `ZkModel::ops`.
#[derive(Clone, Debug)]
pub(crate) enum EngineOp {
    /// `cls.writes[write]`; `chain`: (chain, position) for an answered write; `rank`: its
    /// place in completion order among the completed writes (None: pending).
    Write {
        write: usize,
        chain: Option<(u32, u32)>,
        rank: Option<u32>,
    },
    /// The end marker of a chain.
    End { chain: u32 },
}

/// One chain entry as the model sees it.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Entry {
    /// `cls.reads[read]`.
    Read(usize),
    /// A sync: passes once the first `needs` completed writes (in completion order) are
    /// applied.
    Sync { needs: u32 },
    /// An answered write, stepped by the engine.
    Write,
}

#[derive(Clone, Debug)]
pub(crate) struct ModelChain {
    pub entries: Vec<Entry>,
    /// `read_deadline[i]`: the earliest completion among the reads at positions ≥ i (one
    /// more entry than `entries`, `u64::MAX` at the end).
    pub read_deadline: Vec<u64>,
}

impl ModelChain {
    pub fn new(entries: Vec<Entry>, cls: &Classified) -> ModelChain {
        let mut read_deadline = vec![u64::MAX; entries.len() + 1];
        for (i, entry) in entries.iter().enumerate().rev() {
            let own = match entry {
                Entry::Read(r) => cls.reads[*r].complete,
                Entry::Sync { .. } | Entry::Write => u64::MAX,
            };
            read_deadline[i] = read_deadline[i + 1].min(own);
        }
        ModelChain {
            entries,
            read_deadline,
        }
    }
}

/// The search's view of a history (or of a prefix of it).
pub(crate) struct ZkModel<'h> {
    pub events: &'h [Event],
    pub cls: &'h Classified,
    pub ops: Vec<EngineOp>,
    pub chains: Vec<ModelChain>,
    /// How many completed writes have a rank.
    pub ranked: u32,
}

/// A search state (see the module docs).
#[derive(Clone)]
pub struct ZkState {
    tree: Arc<DataTree>,
    /// Wrapping sum of `masked_node_hash` over the tree's nodes.
    content: u64,
    cursors: Arc<[u32]>,
    applied: u64,
    /// Applied completed writes, by rank (a bitset), and the longest applied rank prefix.
    done: Arc<[u64]>,
    done_prefix: u32,
    hash: u64,
}

impl ZkState {
    fn new(
        tree: Arc<DataTree>,
        content: u64,
        cursors: Arc<[u32]>,
        applied: u64,
        (done, done_prefix): (Arc<[u64]>, u32),
    ) -> ZkState {
        /// Trees up to this size have their incremental hash recomputed and compared.
        const RECHECK_NODES_MAX: usize = 64;
        debug_assert!(
            tree.node_count() > RECHECK_NODES_MAX || content == masked_tree_hash(&tree),
            "incremental content hash"
        );
        let mut h = StableHasher::new();
        h.word(content).word(applied);
        for &c in cursors.iter() {
            h.word(u64::from(c));
        }
        let hash = h.finish();
        ZkState {
            tree,
            content,
            cursors,
            applied,
            done,
            done_prefix,
            hash,
        }
    }
}

/// A node's hash without its zxids and times (0 if it does not exist).
fn masked_node_hash(tree: &DataTree, path: &str) -> u64 {
    let (Some(stat), Some(data)) = (tree.stat(path), tree.data(path)) else {
        return 0;
    };
    let mut h = StableHasher::new();
    h.bytes(path.as_bytes())
        .bytes(data)
        .word(u64::from(stat.version as u32))
        .word(u64::from(stat.cversion as u32))
        .word(u64::from(stat.aversion as u32))
        .word(stat.ephemeral_owner.0)
        .word(u64::from(stat.num_children as u32));
    h.finish()
}

/// The whole tree's masked content hash (for the initial state and assertions).
fn masked_tree_hash(tree: &DataTree) -> u64 {
    tree.paths()
        .fold(0u64, |sum, p| sum.wrapping_add(masked_node_hash(tree, p)))
}

/// The paths whose node a txn may change (created, deleted, set, and their parents).
fn touched_paths<'t>(body: &'t TxnBody, out: &mut Vec<&'t str>) {
    match body {
        TxnBody::Create { path, .. } | TxnBody::Delete { path } => {
            out.push(path);
            out.push(parent_of(path).0);
        }
        TxnBody::SetData { path, .. } => out.push(path),
        TxnBody::CloseSession { paths } => {
            for path in paths {
                out.push(path);
                out.push(parent_of(path).0);
            }
        }
        TxnBody::Multi(bodies) => bodies.iter().for_each(|b| touched_paths(b, out)),
        TxnBody::Check { .. } | TxnBody::CreateSession { .. } | TxnBody::Error(_) => {}
    }
}

/// Equal modulo zxids and times.
fn masked_trees_equal(a: &DataTree, b: &DataTree) -> bool {
    a.node_count() == b.node_count()
        && a.paths().zip(b.paths()).all(|(pa, pb)| {
            pa == pb
                && a.data(pa) == b.data(pb)
                && match (a.stat(pa), b.stat(pb)) {
                    (Some(x), Some(y)) => stat_matches(&x, &y, Zxids::Mask),
                    _ => false,
                }
        })
}

impl PartialEq for ZkState {
    fn eq(&self, other: &ZkState) -> bool {
        self.hash == other.hash
            && self.content == other.content
            && self.applied == other.applied
            && self.cursors == other.cursors
            && (Arc::ptr_eq(&self.tree, &other.tree) || masked_trees_equal(&self.tree, &other.tree))
    }
}

impl Eq for ZkState {}

/// Nodes listed in full in a state's `Debug` (explanations); bigger trees are summarized.
const DEBUG_NODES_MAX: usize = 24;

impl fmt::Debug for ZkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writes applied, {} znodes, cursors {:?}",
            self.applied,
            self.tree.node_count(),
            self.cursors
        )?;
        if self.tree.node_count() <= DEBUG_NODES_MAX {
            f.write_str(", tree {")?;
            for (i, path) in self.tree.paths().enumerate() {
                let data = self.tree.data(path).unwrap_or_default();
                let stat = self.tree.stat(path).expect("listed path exists");
                let sep = if i == 0 { "" } else { ", " };
                write!(
                    f,
                    "{sep}{path}={:?} v{}",
                    String::from_utf8_lossy(data),
                    stat.version
                )?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

impl ZkModel<'_> {
    /// Move each cursor in `which` (all chains if `None`) over the reads `tree` answers as
    /// recorded and the syncs whose writes are applied (`done_prefix`).
    fn advance(&self, tree: &DataTree, cursors: &mut [u32], done_prefix: u32, which: Option<u32>) {
        let range = match which {
            Some(c) => c as usize..c as usize + 1,
            None => 0..self.chains.len(),
        };
        for c in range {
            let chain = &self.chains[c];
            // Bounded by the chain's length.
            while let Some(entry) = chain.entries.get(cursors[c] as usize) {
                let passes = match *entry {
                    Entry::Read(r) => {
                        let rec = record(self.events, self.cls.reads[r].event);
                        let recorded = rec.result.as_ref().expect("a checkable read has a result");
                        read_matches(recorded, tree.read_view(&rec.op), Zxids::Mask)
                    }
                    Entry::Sync { needs } => done_prefix >= needs,
                    Entry::Write => false,
                };
                if !passes {
                    break;
                }
                cursors[c] += 1;
            }
        }
    }

    fn step_write(
        &self,
        state: &ZkState,
        write: usize,
        (chain, rank): (Option<(u32, u32)>, Option<u32>),
        known: bool,
    ) -> Option<ZkState> {
        if let Some((c, position)) = chain
            && state.cursors[c as usize] != position
        {
            return None;
        }
        let w = &self.cls.writes[write];
        let owes_older_read = self
            .chains
            .iter()
            .zip(state.cursors.iter())
            .any(|(chain, &cursor)| chain.read_deadline[cursor as usize] < w.invoke);
        if owes_older_read {
            return None;
        }
        let header = TxnHeader {
            session: w.session,
            zxid: Zxid(state.applied + 1),
            time_ms: 0,
        };
        let txn = state
            .tree
            .prepare(header, self.cls.write_op(self.events, w));
        let failed = txn.body.error().is_some();
        if failed && !known && chain.is_none() && rank.is_none() {
            // A pending write that fails here changes nothing: leaving it out is as good.
            return None;
        }
        let (tree, content, result) = if failed {
            (
                state.tree.clone(),
                state.content,
                failed_txn_result(&txn.body),
            )
        } else {
            let mut touched = Vec::new();
            touched_paths(&txn.body, &mut touched);
            touched.sort_unstable();
            touched.dedup();
            let mut tree = DataTree::clone(&state.tree);
            let before = touched
                .iter()
                .fold(0u64, |sum, p| sum.wrapping_add(masked_node_hash(&tree, p)));
            let result = tree.apply(&txn);
            let after = touched
                .iter()
                .fold(0u64, |sum, p| sum.wrapping_add(masked_node_hash(&tree, p)));
            let content = state.content.wrapping_sub(before).wrapping_add(after);
            (Arc::new(tree), content, result)
        };
        if known {
            let rec = record(self.events, w.event);
            let recorded = rec.result.as_ref().expect("a known write has a result");
            if !result_matches(recorded, &result, Zxids::Mask) {
                return None;
            }
        }
        let mut cursors: Vec<u32> = state.cursors.to_vec();
        if let Some((c, _)) = chain {
            cursors[c as usize] += 1;
        }
        let (done, done_prefix) = match rank {
            None => (state.done.clone(), state.done_prefix),
            Some(r) => {
                let mut done = state.done.to_vec();
                let (word, bit) = (r as usize / 64, 1u64 << (r % 64));
                assert_eq!(done[word] & bit, 0, "a completed write is applied once");
                done[word] |= bit;
                let mut prefix = state.done_prefix;
                // Bounded by the number of ranks.
                while prefix < self.ranked
                    && done[prefix as usize / 64] & (1u64 << (prefix % 64)) != 0
                {
                    prefix += 1;
                }
                (done.into(), prefix)
            }
        };
        let everyone = !failed || done_prefix > state.done_prefix;
        match (everyone, chain) {
            (true, _) => self.advance(&tree, &mut cursors, done_prefix, None),
            (false, Some((c, _))) => self.advance(&tree, &mut cursors, done_prefix, Some(c)),
            (false, None) => {}
        }
        Some(ZkState::new(
            tree,
            content,
            cursors.into(),
            state.applied + 1,
            (done, done_prefix),
        ))
    }
}

impl Model for ZkModel<'_> {
    type State = ZkState;
    type Input = u32;
    type Output = ();

    fn init(&self) -> ZkState {
        let tree = DataTree::new();
        let mut cursors = vec![0u32; self.chains.len()];
        self.advance(&tree, &mut cursors, 0, None);
        let content = masked_tree_hash(&tree);
        let done = vec![0u64; (self.ranked as usize).div_ceil(64)];
        ZkState::new(Arc::new(tree), content, cursors.into(), 0, (done.into(), 0))
    }

    fn step(&self, state: &ZkState, input: &u32, _output: &()) -> Option<ZkState> {
        match &self.ops[*input as usize] {
            EngineOp::Write { write, chain, rank } => {
                let known = self.cls.writes[*write].has_known_result();
                self.step_write(state, *write, (*chain, *rank), known)
            }
            EngineOp::End { chain } => {
                let done = state.cursors[*chain as usize] as usize
                    == self.chains[*chain as usize].entries.len();
                done.then(|| state.clone())
            }
        }
    }

    fn step_unknown(&self, state: &ZkState, input: &u32) -> Option<ZkState> {
        match &self.ops[*input as usize] {
            EngineOp::Write { write, rank, .. } => {
                self.step_write(state, *write, (None, *rank), false)
            }
            other => panic!("engine op {other:?} has no unknown result"),
        }
    }

    fn hash_state(&self, state: &ZkState) -> u64 {
        mix64(state.hash)
    }

    /// Writes in reply-zxid order: when most of the zxid order is right, the search follows
    /// it and rarely backtracks.
    fn order_hint(&self, input: &u32, _output: Option<&()>) -> Option<u64> {
        match self.ops[*input as usize] {
            EngineOp::Write { write, .. } => self.cls.writes[write].zxid.map(|z| z.0),
            EngineOp::End { .. } => None,
        }
    }

    fn is_read_only(&self, input: &u32, _output: Option<&()>) -> bool {
        matches!(self.ops[*input as usize], EngineOp::End { .. })
    }

    fn state_heap_bytes(&self, state: &ZkState) -> usize {
        /// A rough per-znode footprint (path, data, stat, child-set entry, map nodes),
        /// measured on synthetic histories.
        const ZNODE_BYTES: usize = 320;
        state.tree.node_count() * ZNODE_BYTES + state.cursors.len() * 4 + state.done.len() * 8
    }
}
