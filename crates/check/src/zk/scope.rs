//! Projections for the confirmation search: the history restricted to the subtrees of a
//! few top-level znodes (a *scope*), which the search decides much faster than the whole.
//!
//! The projection onto a set `S` of top-level names keeps the writes whose paths all lie
//! in those subtrees, every session close (it deletes the session's ephemerals, and in the
//! projected tree only those inside `S`), the reads of paths inside `S`, and every sync.
//! It is sound — an explanation of the history restricts to one of the projection — when
//! no kept op depends on anything outside `S`:
//! - the state of a node in `S` is changed only by ops on `S` (a create or delete changes
//!   the node and its parent; the parent of a top-level node is the root, which is outside
//!   `S` and observed by no kept op) and by session closes;
//! - a kept op's result depends only on nodes in `S` and on the root existing (it always
//!   does), unless it is a sequential create directly under the root (its name depends on
//!   the root's child count) or a multi mixing paths inside and outside `S`.
//!
//! So `S` is closed under "a multi touches it and another top-level name" (or the root
//! itself, which makes the projection invalid), and no projection is made if the history
//! holds a sequential create directly under the root. Restricting an explanation's write
//! order to the kept writes then leaves every kept result and every kept read's state as
//! it was, and chains, real-time and sync constraints only lose members.

use std::collections::BTreeSet;

use datatree::path::parent_of;
use proto::history::Event;
use proto::zk::Op;

use super::history::Classified;

/// The top-level names a projection keeps.
pub(crate) type Scope = BTreeSet<String>;

/// The top-level name of a path: `"/a/b"` → `Some("a")`, the root → `Some("")` (outside
/// every scope), an invalid path → `None` (its ops fail whatever the state).
fn top_level(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    Some(rest.split('/').next().unwrap_or(""))
}

/// The top-level names an op names, `""` for the root.
fn names<'o>(op: &'o Op, out: &mut Vec<&'o str>) {
    match op {
        Op::Multi(ops) => ops.iter().for_each(|o| names(o, out)),
        other => out.extend(other.path().and_then(top_level)),
    }
}

/// Whether a projection onto `scope` keeps an op: `Some(true)` all its paths inside,
/// `Some(false)` none, `None` some (not a valid projection for it). Session closes are kept.
pub(crate) fn keeps(scope: &Scope, op: &Op) -> Option<bool> {
    if matches!(op, Op::CloseSession) {
        return Some(true);
    }
    let mut found = Vec::new();
    names(op, &mut found);
    let inside = found.iter().filter(|n| scope.contains(**n)).count();
    match inside {
        0 => Some(false),
        n if n == found.len() => Some(true),
        _ => None,
    }
}

/// The smallest valid scope holding the paths of `ops` (event indices), if it is smaller
/// than the whole history.
pub(crate) fn scope_of(events: &[Event], cls: &Classified, ops: &[usize]) -> Option<Scope> {
    let root_sequential = cls.writes.iter().any(|w| {
        let mut sequential = Vec::new();
        sequential_parents(cls.write_op(events, w), &mut sequential);
        sequential.contains(&"/")
    });
    if root_sequential {
        return None;
    }
    let mut scope = Scope::new();
    let mut found = Vec::new();
    for &i in ops {
        if let Event::Op(r) = &events[i] {
            names(&r.op, &mut found);
        }
    }
    scope.extend(found.iter().map(|n| (*n).to_owned()));
    // Close under multis that mix names; each pass adds a name or ends.
    let multis: Vec<Vec<&str>> = cls
        .writes
        .iter()
        .filter_map(|w| match cls.write_op(events, w) {
            op @ Op::Multi(_) => {
                let mut n = Vec::new();
                names(op, &mut n);
                Some(n)
            }
            _ => None,
        })
        .collect();
    let all: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Op(r) => Some(&r.op),
            _ => None,
        })
        .flat_map(|op| {
            let mut n = Vec::new();
            names(op, &mut n);
            n
        })
        .collect();
    for _pass in 0..=all.len() {
        let before = scope.len();
        for m in &multis {
            if m.iter().any(|n| scope.contains(*n)) {
                scope.extend(m.iter().map(|n| (*n).to_owned()));
            }
        }
        if scope.len() == before {
            break;
        }
    }
    let valid = !scope.is_empty() && !scope.contains("");
    (valid && scope.len() < all.len()).then_some(scope)
}

/// Parents of the sequential creates of an op.
fn sequential_parents<'o>(op: &'o Op, out: &mut Vec<&'o str>) {
    match op {
        Op::Create { path, mode, .. } if mode.is_sequential() && path.starts_with('/') => {
            out.push(parent_of(path).0);
        }
        Op::Multi(ops) => ops.iter().for_each(|o| sequential_parents(o, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use proto::zk::CreateMode;

    use super::*;

    fn create(path: &str) -> Op {
        Op::Create {
            path: path.into(),
            data: vec![],
            mode: CreateMode::Persistent,
        }
    }

    #[test]
    fn top_level_names() {
        assert_eq!(top_level("/a/b/c"), Some("a"));
        assert_eq!(top_level("/a"), Some("a"));
        assert_eq!(top_level("/"), Some(""));
        assert_eq!(top_level("a"), None);
        let scope: Scope = ["a".to_owned()].into();
        assert_eq!(keeps(&scope, &create("/a/x")), Some(true));
        assert_eq!(keeps(&scope, &create("/b")), Some(false));
        assert_eq!(
            keeps(&scope, &Op::Multi(vec![create("/a/x"), create("/b")])),
            None
        );
        assert_eq!(keeps(&scope, &Op::CloseSession), Some(true));
        assert_eq!(keeps(&scope, &create("bad")), Some(false));
    }
}
