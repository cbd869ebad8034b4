//! A brute-force reference checker for tiny histories: tries every order of the
//! operations that respects real time (pending operations optionally left out). It shares
//! nothing with the search engine but the `Model`, so tests can compare the two.

use super::history::Operation;
use super::model::Model;

/// The largest history `is_linearizable` accepts (the search is factorial).
pub const MAX_OPS: usize = 10;

/// True iff some sequential order of the completed operations plus any subset of the
/// pending ones is allowed by `model` and respects real time: if `a` returned strictly
/// before `b` was called, `a` comes first.
pub fn is_linearizable<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> bool {
    assert!(
        history.len() <= MAX_OPS,
        "brute force is for at most {MAX_OPS} ops"
    );
    let mut placed = vec![false; history.len()];
    extend(model, history, &model.init(), &mut placed)
}

fn extend<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    state: &M::State,
    placed: &mut [bool],
) -> bool {
    let all_completed_placed = history
        .iter()
        .zip(placed.iter())
        .all(|(op, &done)| done || op.return_time.is_none());
    if all_completed_placed {
        return true;
    }
    for candidate in 0..history.len() {
        if placed[candidate] {
            continue;
        }
        let op = &history[candidate];
        // Some unplaced op returned strictly before `candidate` was called: it must go first.
        let blocked = history.iter().enumerate().any(|(other, other_op)| {
            !placed[other] && other_op.return_time.is_some_and(|ret| ret < op.call_time)
        });
        if blocked {
            continue;
        }
        let next = match &op.output {
            Some(output) => model.step(state, &op.input, output),
            None => model.step_unknown(state, &op.input),
        };
        let Some(next) = next else { continue };
        placed[candidate] = true;
        let found = extend(model, history, &next, placed);
        placed[candidate] = false;
        if found {
            return true;
        }
    }
    false
}
