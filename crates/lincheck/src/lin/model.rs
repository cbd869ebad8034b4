//! The `Model` trait: the sequential specification a history is checked against.

use std::fmt::Debug;
use std::hash::Hash;

use super::history::Operation;

/// A sequential specification. Steps must be deterministic functions of their arguments.
pub trait Model {
    /// The model state. `Eq` decides whether two search configurations coincide; it must
    /// agree with `hash_state` (equal states, equal hashes).
    type State: Clone + Eq + Debug;
    /// Equality of inputs and outputs lets the engine treat identical operations as
    /// interchangeable (it never tries the second of two identical concurrent operations
    /// before the first).
    /// `Hash` is used only to find identical operations (lookups, never iteration).
    type Input: Clone + Eq + Hash + Debug;
    type Output: Clone + Eq + Hash + Debug;

    fn init(&self) -> Self::State;

    /// Apply `input` in `state` where the operation was observed to return `output`.
    /// `None`: the operation cannot return `output` in `state`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// Apply `input` in `state` where the result was never observed. The usual answer is
    /// the state after the operation took effect with whatever result `state` implies
    /// (`None` only if `input` cannot be applied in `state` at all). A pending operation
    /// may also be left out entirely; the engine handles that, not the model.
    fn step_unknown(&self, state: &Self::State, input: &Self::Input) -> Option<Self::State>;

    /// A stable hash of the state (same value on every machine and every run).
    fn hash_state(&self, state: &Self::State) -> u64;

    /// True when an operation with this input and an unknown output is allowed in every
    /// state and never changes it (a read whose result was lost). Such an operation
    /// constrains nothing and the engine drops it before searching. Default: false.
    fn unknown_is_noop(&self, _input: &Self::Input) -> bool {
        false
    }

    /// True when an operation with this input and output never changes the state where it
    /// is allowed (a read, a compare-and-set that failed). The engine linearizes such an
    /// operation as soon as it is callable and allowed, without trying alternatives: moving
    /// it earlier in any linearization keeps the linearization valid. Default: false.
    fn is_read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// True when an operation with this input and output only moves the state forward in
    /// a growth order of the model's choosing (an append to a string, a version bump).
    /// Read-only operations are not asked. Default: false (the operation may reset).
    fn only_grows(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// For a read-only operation that is not allowed in `state`: false when no sequence
    /// of growth-only operations (see `only_grows`) from `state` can make it allowed (the
    /// value read is not an extension of the current one). The engine then abandons the
    /// configuration if no resetting operation could come before the read. Default: true.
    fn may_grow_to_allow(
        &self,
        _state: &Self::State,
        _input: &Self::Input,
        _output: &Self::Output,
    ) -> bool {
        true
    }

    /// A hint for the order in which the search tries the callable operations of a level:
    /// those with a hint first, by hint, then the rest earliest return first. Any hint
    /// gives the same verdict; a good one (say, the order the system itself reported) finds
    /// a linearization without backtracking. Default: none.
    fn order_hint(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> Option<u64> {
        None
    }

    /// Split the history into independent sub-histories (P-compositionality): the whole
    /// history is linearizable iff every part is. Returns indices into `history`; every
    /// index must appear in exactly one part. Default: one part holding everything.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }

    /// Heap bytes a state owns beyond `size_of::<State>()`, for the cache budget.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }
}
