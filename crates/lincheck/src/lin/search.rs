//! The Wing–Gong / Lowe search over one partition (the algorithm Porcupine implements):
//! a doubly linked list of call and return entries in real-time order, operations lifted
//! out of it as they are linearized and put back on backtracking, a stack of (operation,
//! previous state), and a cache of visited (linearized-set, state) configurations.
//!
//! Differences from Porcupine, all verdict-preserving:
//! - Pending operations have no return entry: the search succeeds as soon as every
//!   completed operation is linearized (a pending operation may take effect or not).
//! - Operations whose unknown result constrains nothing (`Model::unknown_is_noop`) are
//!   dropped before the search.
//! - Of two identical operations (same input and output) that are both callable, the one
//!   returning no later is tried first and the other is skipped while the first is not yet
//!   linearized (an exchange argument shows this loses no linearization).
//! - A callable read-only operation (`Model::is_read_only`) that is allowed in the current
//!   state is linearized at once, without branching: moving it to the front of any
//!   linearization of the rest keeps that linearization valid.
//! - The other callable operations (the branching candidates of a level) are tried
//!   earliest return first, not in call order — or in the model's order hint first
//!   (`Model::order_hint`), when it gives one.
//! - A callable read-only operation that is refused, cannot be allowed after growth alone
//!   (`Model::may_grow_to_allow`), and cannot be preceded by a resetting operation ends
//!   the configuration early.
//! - The search is resumable (`run` takes a step allowance), so that `check` can
//!   interleave partitions deterministically.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use sansio::{Time, mix64};

use super::cache::Cache;
use super::history::Operation;
use super::model::Model;
use super::verdict::{Exhausted, Explanation};

const NIL: u32 = u32::MAX;
const NO_TWIN: u32 = u32::MAX;
/// Seed for the per-operation bitset hash keys.
const KEY_SEED: u64 = 0x6c69_6e2d_6b65_7973;

pub(crate) enum Outcome {
    Linearizable,
    NotLinearizable(Explanation),
    Exhausted(Exhausted),
}

/// Real-time order of one partition's kept operations, as list entries.
struct Entries {
    /// History index of each local operation; local operations are in call order.
    history_index: Vec<usize>,
    /// Whether each local operation completed (has a return entry).
    completed: Vec<bool>,
    /// Entry ids (`2 * op` call, `2 * op + 1` return) in list order.
    order: Vec<u32>,
    /// Position of each entry id in `order` (`NIL` for the missing returns of pending ops).
    rank: Vec<u32>,
}

fn build_entries<I, O>(history: &[Operation<I, O>], kept: &[usize]) -> Entries {
    let mut by_call: Vec<usize> = kept.to_vec();
    by_call.sort_by_key(|&index| (history[index].call_time, index));
    let op_count = by_call.len();
    assert!(op_count < (NIL as usize) / 2 - 1, "partition too large");
    // (time, kind: 0 call / 1 return, entry id): calls before returns at equal times.
    let mut keyed: Vec<(Time, u8, u32)> = Vec::with_capacity(2 * op_count);
    let mut completed = Vec::with_capacity(op_count);
    for (local, &index) in by_call.iter().enumerate() {
        let op = &history[index];
        keyed.push((op.call_time, 0, 2 * local as u32));
        if let Some(return_time) = op.return_time {
            assert!(
                op.call_time <= return_time,
                "operation {index} returns before its call"
            );
            keyed.push((return_time, 1, 2 * local as u32 + 1));
        }
        completed.push(op.return_time.is_some());
    }
    keyed.sort_unstable();
    let order: Vec<u32> = keyed.iter().map(|&(_, _, entry)| entry).collect();
    let mut rank = vec![NIL; 2 * op_count];
    for (position, &entry) in order.iter().enumerate() {
        rank[entry as usize] = position as u32;
    }
    for local in 0..op_count {
        assert!(rank[2 * local] != NIL);
        assert_eq!(rank[2 * local + 1] != NIL, completed[local]);
        if completed[local] {
            assert!(rank[2 * local] < rank[2 * local + 1]);
        }
    }
    Entries {
        history_index: by_call,
        completed,
        order,
        rank,
    }
}

/// For each local op, the previous identical op (same input and output) that is called no
/// later and returns no later, or `NO_TWIN`. While that twin is not linearized, the op is
/// not tried: whenever it is callable the twin is too, and trying the twin first is as good.
fn find_twins<M: Model>(history: &[Operation<M::Input, M::Output>], entries: &Entries) -> Vec<u32> {
    type Key<'a, I, O> = (&'a I, &'a Option<O>);
    // Lookups only; the result does not depend on the map's iteration order.
    let mut last: HashMap<Key<'_, M::Input, M::Output>, u32, BuildHasherDefault<DefaultHasher>> =
        HashMap::default();
    let mut twins = vec![NO_TWIN; entries.history_index.len()];
    for (local, &index) in entries.history_index.iter().enumerate() {
        let op = &history[index];
        let key = (&op.input, &op.output);
        if let Some(&previous) = last.get(&key) {
            let previous_op = &history[entries.history_index[previous as usize]];
            debug_assert!(previous_op.call_time <= op.call_time);
            if previous_op.return_time_or_max() <= op.return_time_or_max() {
                twins[local] = previous;
            }
        }
        last.insert(key, local as u32);
    }
    twins
}

/// One stack frame: the operation linearized at this depth, the state before it (`None`
/// for a forced read-only operation, which left the state unchanged), and for a branching
/// frame the candidate range of its level and the position of the next candidate.
struct Frame<S> {
    op: u32,
    previous: Option<S>,
    level_start: u32,
    level_end: u32,
    cursor: u32,
}

/// The search over one partition, resumable so that partitions can be interleaved.
pub(crate) struct PartitionSearch<'h, M: Model> {
    model: &'h M,
    history: &'h [Operation<M::Input, M::Output>],
    part: Vec<usize>,
    partition: usize,
    entries: Entries,
    completed_count: usize,
    twins: Vec<u32>,
    read_only: Vec<bool>,
    /// Operations that may reset the state (neither read-only nor growth-only), in call
    /// order; `reset_slot` maps an op to its position here (`NIL` if not a reset), and
    /// `reset_cursor` is the position of the first one not linearized.
    resets: Vec<u32>,
    reset_slot: Vec<u32>,
    reset_cursor: usize,
    /// Sort key of each op among a level's candidates.
    order_key: Vec<u32>,
    keys: Vec<u64>,
    head: u32,
    next: Vec<u32>,
    prev: Vec<u32>,
    cache: Cache<M::State>,
    linearized: Vec<u64>,
    bits_hash: u64,
    state: M::State,
    stack: Vec<Frame<M::State>>,
    completed_done: usize,
    /// Branching candidates of every open level, stacked: the current level's are
    /// `candidates[level_start..level_end]`, the next to try at `cursor`.
    candidates: Vec<u32>,
    level_start: u32,
    level_end: u32,
    cursor: u32,
    /// False until the current level's forced scan has run and its candidates are listed.
    level_open: bool,
    /// Longest prefix seen: `best[..common]` always equals the stack's operations prefix.
    best: Vec<u32>,
    common: usize,
    pub steps: u64,
    pub model_steps: u64,
}

impl<'h, M: Model> PartitionSearch<'h, M> {
    /// Prepare the search of one partition (`part` holds history indices).
    pub fn new(
        model: &'h M,
        history: &'h [Operation<M::Input, M::Output>],
        part: &[usize],
        partition: usize,
    ) -> Self {
        let kept: Vec<usize> = part
            .iter()
            .copied()
            .filter(|&index| {
                let op = &history[index];
                !(op.output.is_none() && model.unknown_is_noop(&op.input))
            })
            .collect();
        let entries = build_entries(history, &kept);
        let op_count = entries.history_index.len();
        let completed_count = entries.completed.iter().filter(|&&c| c).count();
        let twins = find_twins::<M>(history, &entries);
        let read_only: Vec<bool> = entries
            .history_index
            .iter()
            .map(|&index| model.is_read_only(&history[index].input, history[index].output.as_ref()))
            .collect();
        let mut resets = Vec::new();
        let mut reset_slot = vec![NIL; op_count];
        for (local, &index) in entries.history_index.iter().enumerate() {
            let op = &history[index];
            if !read_only[local] && !model.only_grows(&op.input, op.output.as_ref()) {
                reset_slot[local] = resets.len() as u32;
                resets.push(local as u32);
            }
        }
        // Candidates are tried by the model's order hint if it gives one, then earliest
        // return first (pending last), then in call order: the op that must be linearized
        // soonest is tried first, as in just-in-time linearization.
        let hints: Vec<u64> = entries
            .history_index
            .iter()
            .map(|&index| {
                let op = &history[index];
                model
                    .order_hint(&op.input, op.output.as_ref())
                    .unwrap_or(u64::MAX)
            })
            .collect();
        let mut by_return: Vec<u32> = (0..op_count as u32).collect();
        by_return.sort_by_key(|&local| {
            let local = local as usize;
            (
                hints[local],
                entries.rank[2 * local + 1],
                entries.rank[2 * local],
            )
        });
        let mut order_key = vec![0u32; op_count];
        for (position, &local) in by_return.iter().enumerate() {
            order_key[local as usize] = position as u32;
        }
        let keys: Vec<u64> = (0..op_count as u64)
            .map(|local| mix64(local ^ KEY_SEED))
            .collect();
        let words = op_count.div_ceil(64).max(1);
        // The linked list: entry ids 0..2n, the head sentinel is 2n.
        let head = 2 * op_count as u32;
        let mut next = vec![NIL; 2 * op_count + 1];
        let mut prev = vec![NIL; 2 * op_count + 1];
        let mut last_entry = head;
        for &entry in &entries.order {
            next[last_entry as usize] = entry;
            prev[entry as usize] = last_entry;
            last_entry = entry;
        }
        PartitionSearch {
            model,
            history,
            part: part.to_vec(),
            partition,
            entries,
            completed_count,
            twins,
            read_only,
            resets,
            reset_slot,
            reset_cursor: 0,
            order_key,
            keys,
            head,
            next,
            prev,
            cache: Cache::new(words),
            linearized: vec![0u64; words],
            bits_hash: 0,
            state: model.init(),
            stack: Vec::with_capacity(op_count),
            completed_done: 0,
            candidates: Vec::new(),
            level_start: 0,
            level_end: 0,
            cursor: 0,
            level_open: false,
            best: Vec::with_capacity(op_count),
            common: 0,
            steps: 0,
            model_steps: 0,
        }
    }

    pub fn ops_searched(&self) -> usize {
        self.entries.history_index.len()
    }

    pub fn ops_dropped(&self) -> usize {
        self.part.len() - self.entries.history_index.len()
    }

    pub fn cache_bytes(&self) -> u64 {
        self.cache.bytes()
    }

    pub fn cache_entries(&self) -> usize {
        self.cache.len()
    }

    pub fn max_depth(&self) -> usize {
        self.best.len()
    }

    fn is_linearized(&self, local: usize) -> bool {
        self.linearized[local / 64] & (1u64 << (local % 64)) != 0
    }

    /// Identical earlier operation not yet linearized: try that one instead.
    fn blocked_by_twin(&self, local: usize) -> bool {
        let twin = self.twins[local];
        twin != NO_TWIN && !self.is_linearized(twin as usize)
    }

    fn apply(&mut self, local: usize) -> Option<M::State> {
        self.model_steps += 1;
        let op = &self.history[self.entries.history_index[local]];
        match &op.output {
            Some(output) => self.model.step(&self.state, &op.input, output),
            None => self.model.step_unknown(&self.state, &op.input),
        }
    }

    /// Linearize `op` next, reaching `new_state`, unless that configuration was visited.
    /// Returns false on a cache hit (the configuration is known to fail).
    fn push(&mut self, op: u32, new_state: M::State, forced: bool) -> bool {
        let local = op as usize;
        debug_assert!(!self.is_linearized(local));
        self.linearized[local / 64] |= 1u64 << (local % 64);
        let new_bits_hash = self.bits_hash ^ self.keys[local];
        let hash = new_bits_hash ^ mix64(self.model.hash_state(&new_state).wrapping_add(KEY_SEED));
        let heap_bytes = self.model.state_heap_bytes(&new_state);
        if !self.cache.insert(
            hash,
            &self.linearized,
            &new_state,
            || new_state.clone(),
            heap_bytes,
        ) {
            self.linearized[local / 64] &= !(1u64 << (local % 64));
            return false;
        }
        self.bits_hash = new_bits_hash;
        let previous = if forced {
            debug_assert!(
                new_state == self.state,
                "a read-only operation changed the state"
            );
            None
        } else {
            Some(std::mem::replace(&mut self.state, new_state))
        };
        self.stack.push(Frame {
            op,
            previous,
            level_start: self.level_start,
            level_end: self.level_end,
            cursor: self.cursor,
        });
        // Lift: the call entry, then the return entry.
        let (next, prev) = (&mut self.next, &mut self.prev);
        let call = 2 * op;
        next[prev[call as usize] as usize] = next[call as usize];
        if next[call as usize] != NIL {
            prev[next[call as usize] as usize] = prev[call as usize];
        }
        if self.entries.completed[local] {
            self.completed_done += 1;
            let ret = call + 1;
            next[prev[ret as usize] as usize] = next[ret as usize];
            if next[ret as usize] != NIL {
                prev[next[ret as usize] as usize] = prev[ret as usize];
            }
        }
        if self.reset_slot[local] as usize == self.reset_cursor {
            // Advance to the next reset not linearized; bounded by the number of resets.
            while self.reset_cursor < self.resets.len()
                && self.is_linearized(self.resets[self.reset_cursor] as usize)
            {
                self.reset_cursor += 1;
            }
        }
        if self.stack.len() > self.best.len() {
            self.best.truncate(self.common);
            self.best
                .extend(self.stack[self.common..].iter().map(|frame| frame.op));
            self.common = self.stack.len();
        }
        self.level_open = false;
        true
    }

    /// Undo frames down to the most recent branching one and resume its level. False when
    /// the stack runs empty: the partition is not linearizable.
    fn backtrack(&mut self) -> bool {
        for _frame in 0..=self.stack.len() {
            let Some(frame) = self.stack.pop() else {
                return false;
            };
            self.common = self.common.min(self.stack.len());
            let op = frame.op;
            let local = op as usize;
            self.linearized[local / 64] &= !(1u64 << (local % 64));
            self.bits_hash ^= self.keys[local];
            let slot = self.reset_slot[local];
            if slot != NIL {
                self.reset_cursor = self.reset_cursor.min(slot as usize);
            }
            let (next, prev) = (&mut self.next, &mut self.prev);
            if self.entries.completed[local] {
                self.completed_done -= 1;
                // Unlift: the return entry first, then the call entry (reverse of lifting).
                let ret = 2 * op + 1;
                next[prev[ret as usize] as usize] = ret;
                if next[ret as usize] != NIL {
                    prev[next[ret as usize] as usize] = ret;
                }
            }
            let call = 2 * op;
            next[prev[call as usize] as usize] = call;
            if next[call as usize] != NIL {
                prev[next[call as usize] as usize] = call;
            }
            self.level_start = frame.level_start;
            self.level_end = frame.level_end;
            self.cursor = frame.cursor;
            self.candidates.truncate(frame.level_end as usize);
            match frame.previous {
                // A forced frame has no alternatives: keep undoing.
                None => continue,
                Some(state) => {
                    self.state = state;
                    self.level_open = true;
                    return true;
                }
            }
        }
        unreachable!("the stack empties within its length")
    }

    /// For a callable read-only op refused in the current state: true when it can never be
    /// allowed from here. It must still be linearized (it returned), every op linearized
    /// before it is called before its return, and if none of those can reset the state,
    /// only growth can happen, which the model says cannot make the read pass.
    fn read_can_never_pass(&self, local: usize) -> bool {
        if !self.entries.completed[local] {
            return false;
        }
        let op = &self.history[self.entries.history_index[local]];
        let Some(output) = &op.output else {
            return false;
        };
        let return_rank = self.entries.rank[2 * local + 1];
        let reset_possible = self.reset_cursor < self.resets.len()
            && self.entries.rank[2 * self.resets[self.reset_cursor] as usize] < return_rank;
        !reset_possible && !self.model.may_grow_to_allow(&self.state, &op.input, output)
    }

    /// Open a level: linearize a callable read-only operation allowed now if there is
    /// one (forced); otherwise list the branching candidates. Returns the entries scanned
    /// and whether the level is dead (a forced configuration was already visited).
    fn open_level(&mut self) -> (u64, bool) {
        let start = self.candidates.len();
        let mut entry = self.next[self.head as usize];
        let mut scanned = 0u64;
        for _entry in 0..self.next.len() {
            if entry == NIL || entry & 1 == 1 {
                break;
            }
            scanned += 1;
            let op = entry / 2;
            let local = op as usize;
            entry = self.next[entry as usize];
            if self.blocked_by_twin(local) {
                continue;
            }
            if !self.read_only[local] {
                self.candidates.push(op);
                continue;
            }
            let Some(new_state) = self.apply(local) else {
                if self.read_can_never_pass(local) {
                    self.candidates.truncate(start);
                    return (scanned, true);
                }
                continue;
            };
            self.candidates.truncate(start);
            // The level's registers are saved in the forced frame and unused after it.
            return (scanned, !self.push(op, new_state, true));
        }
        let order_key = &self.order_key;
        self.candidates[start..].sort_unstable_by_key(|&op| order_key[op as usize]);
        self.level_start = start as u32;
        self.level_end = self.candidates.len() as u32;
        self.cursor = self.level_start;
        self.level_open = true;
        (scanned, false)
    }

    /// Run about `max_steps` iterations (one level scan counts its entries and may
    /// overshoot). `None`: paused, call again. The cache may grow past `max_cache_bytes`
    /// by one entry before the search reports `Exhausted`.
    pub fn run(&mut self, max_steps: u64, max_cache_bytes: u64) -> Option<Outcome> {
        let budget_end = self.steps.saturating_add(max_steps);
        while self.steps < budget_end {
            self.steps += 1;
            if self.completed_done == self.completed_count {
                return Some(Outcome::Linearizable);
            }
            if !self.level_open {
                let depth_before = self.stack.len();
                let (scanned, dead) = self.open_level();
                self.steps += scanned;
                if dead && !self.backtrack() {
                    return Some(Outcome::NotLinearizable(self.explain()));
                }
                if self.stack.len() > depth_before && self.cache.bytes() > max_cache_bytes {
                    return Some(Outcome::Exhausted(Exhausted::CacheBytes));
                }
                continue;
            }
            if self.cursor == self.level_end {
                if !self.backtrack() {
                    return Some(Outcome::NotLinearizable(self.explain()));
                }
                continue;
            }
            let op = self.candidates[self.cursor as usize];
            self.cursor += 1;
            let Some(new_state) = self.apply(op as usize) else {
                continue;
            };
            if self.push(op, new_state, false) && self.cache.bytes() > max_cache_bytes {
                return Some(Outcome::Exhausted(Exhausted::CacheBytes));
            }
        }
        None
    }

    /// Rebuild the failure explanation from the longest prefix found.
    fn explain(&self) -> Explanation {
        explain(
            self.model,
            self.history,
            &self.part,
            &self.entries,
            &self.best,
            self.partition,
        )
    }
}

/// Rebuild the failure explanation from the longest prefix found.
fn explain<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    entries: &Entries,
    best: &[u32],
    partition: usize,
) -> Explanation {
    let op_count = entries.history_index.len();
    let mut state = model.init();
    let mut linearized = vec![false; op_count];
    for &op in best {
        let op_ref = &history[entries.history_index[op as usize]];
        let stepped = match &op_ref.output {
            Some(output) => model.step(&state, &op_ref.input, output),
            None => model.step_unknown(&state, &op_ref.input),
        };
        state = stepped.expect("the longest prefix replays");
        linearized[op as usize] = true;
    }
    // Callable next: unlinearized ops whose call precedes the first unlinearized return.
    let first_return_rank = (0..op_count)
        .filter(|&local| !linearized[local] && entries.completed[local])
        .map(|local| entries.rank[2 * local + 1])
        .min()
        .unwrap_or(NIL);
    let stuck: Vec<usize> = (0..op_count)
        .filter(|&local| !linearized[local] && entries.rank[2 * local] < first_return_rank)
        .map(|local| entries.history_index[local])
        .collect();
    assert!(
        !stuck.is_empty(),
        "a failed search leaves some operation unlinearized"
    );
    let mut partition_ops = part.to_vec();
    partition_ops.sort_by_key(|&index| (history[index].call_time, index));
    Explanation {
        partition,
        partition_ops,
        prefix: best
            .iter()
            .map(|&op| entries.history_index[op as usize])
            .collect(),
        state_after_prefix: format!("{state:?}"),
        stuck,
    }
}
