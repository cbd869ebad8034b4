//! Zxids for the witness order: the recorded zxid of every write that has one, plus zxids
//! recovered for info writes from stat evidence. An info write that took effect leaves its
//! zxid in stats clients read later — a node's `czxid`/`mzxid` (created or set by it), its
//! parent's `pzxid` (a child created or deleted by it) — where no recorded write has that
//! zxid. Each such unexplained zxid is given to one info write without a zxid that could
//! have made every sighting of it: it touches those paths in those ways (writing the data the stat's reader saw,
//! or data of the stat's length, when the zxid is the node's `mzxid`), was invoked before
//! the stat was seen, and was invoked after every write with a larger recorded zxid had
//! completed (real-time order). Among several, the latest invoked wins: the txn got its
//! zxid after every candidate was invoked, and the latest is the likeliest to be that txn
//! (an older lost write would most likely have been applied, or dropped, long before). The recovery is a guess for the
//! witness only: a wrong guess makes the witness fail and the search decide.
//!
//! Invariants: a recovered zxid is unused by every write with a recorded zxid and given to
//! at most one write; writes with a recorded zxid keep it. O(n log n).

use std::collections::{BTreeMap, BTreeSet};

use proto::Zxid;
use proto::history::Event;
use proto::zk::{MultiResult, Op, OpResult, Stat};

use datatree::path::parent_of;

use super::history::{Classified, WriteStatus};

/// Which stat field named the zxid.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Czxid,
    Mzxid,
    Pzxid,
}

/// A way an info write could have left a zxid in a stat of `path`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Touch<'e> {
    /// Created exactly this path with this data (czxid, mzxid of it; pzxid of its parent).
    Create(&'e str, &'e [u8]),
    /// A sequential create of `prefix` + 10 digits.
    CreateSequential(&'e str, &'e [u8]),
    SetData(&'e str, &'e [u8]),
    Delete(&'e str),
}

/// One info write's possible touches.
fn touches<'e>(op: &'e Op, out: &mut Vec<Touch<'e>>) {
    match op {
        Op::Create { path, data, mode } if mode.is_sequential() => {
            out.push(Touch::CreateSequential(path, data));
        }
        Op::Create { path, data, .. } => out.push(Touch::Create(path, data)),
        Op::SetData { path, data, .. } => out.push(Touch::SetData(path, data)),
        Op::Delete { path, .. } => out.push(Touch::Delete(path)),
        Op::Multi(ops) => ops.iter().for_each(|o| touches(o, out)),
        _ => {}
    }
}

/// What a stat (and the data read with it) says about the write that named a zxid.
#[derive(Copy, Clone, Debug)]
struct Seen<'e> {
    field: Field,
    path: &'e str,
    /// Completion of the op that saw it.
    time: u64,
    /// The node's data length, and the data itself if the reader got it.
    data_length: i32,
    data: Option<&'e [u8]>,
}

/// Could `touch` have written what `seen` shows?
fn explains_seen(touch: &Touch<'_>, seen: &Seen<'_>) -> bool {
    let written = match touch {
        Touch::Create(_, data) | Touch::CreateSequential(_, data) | Touch::SetData(_, data) => {
            Some(*data)
        }
        Touch::Delete(_) => None,
    };
    let data_fits = seen.field != Field::Mzxid
        || written.is_some_and(|w| {
            i32::try_from(w.len()) == Ok(seen.data_length) && seen.data.is_none_or(|d| d == w)
        });
    data_fits && explains(touch, seen.field, seen.path)
}

/// Could `touch` have set `field` of `path` to its zxid?
fn explains(touch: &Touch<'_>, field: Field, path: &str) -> bool {
    let sequential_of = |prefix: &str| {
        path.len() == prefix.len() + 10
            && path.starts_with(prefix)
            && path.as_bytes()[prefix.len()..]
                .iter()
                .all(u8::is_ascii_digit)
    };
    let child_of =
        |child: &str| child.starts_with('/') && child != "/" && parent_of(child).0 == path;
    match (*touch, field) {
        (Touch::Create(p, _), Field::Czxid | Field::Mzxid) => p == path,
        (Touch::CreateSequential(prefix, _), Field::Czxid | Field::Mzxid) => sequential_of(prefix),
        (Touch::SetData(p, _), Field::Mzxid) => p == path,
        (Touch::Create(p, _) | Touch::Delete(p) | Touch::CreateSequential(p, _), Field::Pzxid) => {
            child_of(p)
        }
        _ => false,
    }
}

/// A stat a result reports: the path it describes, the stat, the data read with it.
type Reported<'a> = (&'a str, Stat, Option<&'a [u8]>);

/// Stats a result reports.
fn stats_of<'a>(op: &'a Op, result: &'a OpResult, out: &mut Vec<Reported<'a>>) {
    match (op, result) {
        (
            _,
            OpResult::Created {
                path,
                stat: Some(s),
            },
        ) => out.push((path, *s, None)),
        (Op::GetData { path, .. }, OpResult::Data { stat, data }) => {
            out.push((path, *stat, Some(data)));
        }
        (Op::SetData { path, .. }, OpResult::Stat(s))
        | (Op::Exists { path, .. }, OpResult::Exists(Some(s))) => out.push((path, *s, None)),
        (Op::Multi(ops), OpResult::Multi(entries)) => {
            for (sub, entry) in ops.iter().zip(entries) {
                match (sub, entry) {
                    (
                        _,
                        MultiResult::Created {
                            path,
                            stat: Some(s),
                        },
                    ) => {
                        out.push((path, *s, None));
                    }
                    (Op::SetData { path, .. }, MultiResult::SetData(s)) => {
                        out.push((path, *s, None));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The zxid each write has in the witness order (see the module docs); `None` for writes
/// left out of it.
pub(crate) fn witness_zxids(events: &[Event], cls: &Classified) -> (Vec<Option<Zxid>>, usize) {
    let mut zxids: Vec<Option<Zxid>> = cls.writes.iter().map(|w| w.zxid).collect();
    let floating: Vec<usize> = cls
        .writes
        .iter()
        .enumerate()
        .filter(|(_, w)| w.status == WriteStatus::Info && w.zxid.is_none())
        .map(|(i, _)| i)
        .collect();
    if floating.is_empty() {
        return (zxids, 0);
    }
    let known: BTreeSet<Zxid> = cls.writes.iter().filter_map(|w| w.zxid).collect();
    // Unexplained zxid → what showed it.
    let mut evidence: BTreeMap<Zxid, Vec<Seen<'_>>> = BTreeMap::new();
    let mut stats = Vec::new();
    for event in events {
        let Event::Op(r) = event else { continue };
        let (Some(result), Some(seen)) = (&r.result, r.complete_ns) else {
            continue;
        };
        stats.clear();
        stats_of(&r.op, result, &mut stats);
        for &(path, stat, data) in &stats {
            for (field, zxid) in [
                (Field::Czxid, stat.czxid),
                (Field::Mzxid, stat.mzxid),
                (Field::Pzxid, stat.pzxid),
            ] {
                if zxid != Zxid::ZERO && !known.contains(&zxid) {
                    evidence.entry(zxid).or_default().push(Seen {
                        field,
                        path,
                        time: seen,
                        data_length: stat.data_length,
                        data,
                    });
                }
            }
        }
    }
    // Real-time bound: the largest recorded zxid among writes completed before a time.
    let mut completed: Vec<(u64, Zxid)> = cls
        .writes
        .iter()
        .filter_map(|w| Some((w.complete?, w.zxid?)))
        .collect();
    completed.sort_unstable();
    let mut prefix_max = Vec::with_capacity(completed.len());
    let mut running = Zxid::ZERO;
    for &(_, z) in &completed {
        running = running.max(z);
        prefix_max.push(running);
    }
    let floor_at = |time: u64| {
        let count = completed.partition_point(|&(c, _)| c < time);
        count.checked_sub(1).map_or(Zxid::ZERO, |i| prefix_max[i])
    };
    let candidates: Vec<(usize, Vec<Touch>)> = floating
        .iter()
        .map(|&w| {
            let mut t = Vec::new();
            let op = cls.write_op(events, &cls.writes[w]);
            touches(op, &mut t);
            (w, t)
        })
        .collect();
    let mut taken = vec![false; candidates.len()];
    let mut recovered = 0;
    for (&zxid, seen) in &evidence {
        let first_seen = seen.iter().map(|s| s.time).min().unwrap_or(u64::MAX);
        let best = candidates
            .iter()
            .enumerate()
            .filter(|&(slot, (w, touched))| {
                let write = &cls.writes[*w];
                !taken[slot]
                    && write.invoke <= first_seen
                    && floor_at(write.invoke) < zxid
                    && seen
                        .iter()
                        .all(|s| touched.iter().any(|t| explains_seen(t, s)))
            })
            .max_by_key(|&(_, (w, _))| (cls.writes[*w].invoke, std::cmp::Reverse(*w)));
        if let Some((slot, &(w, _))) = best {
            taken[slot] = true;
            zxids[w] = Some(zxid);
            recovered += 1;
        }
    }
    (zxids, recovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_explain_the_right_fields() {
        let create = Touch::Create("/a/b", b"");
        assert!(explains(&create, Field::Czxid, "/a/b"));
        assert!(explains(&create, Field::Pzxid, "/a"));
        assert!(!explains(&create, Field::Pzxid, "/a/b"));
        let seq = Touch::CreateSequential("/q/item-", b"");
        assert!(explains(&seq, Field::Czxid, "/q/item-0000000007"));
        assert!(!explains(&seq, Field::Czxid, "/q/item-7"));
        assert!(explains(&seq, Field::Pzxid, "/q"));
        let slash_seq = Touch::CreateSequential("/q/", b"");
        assert!(explains(&slash_seq, Field::Pzxid, "/q"));
        assert!(!explains(&Touch::Create("bad", b""), Field::Pzxid, "/"));
        let set = Touch::SetData("/a", b"xy");
        assert!(explains(&set, Field::Mzxid, "/a"));
        assert!(!explains(&set, Field::Czxid, "/a"));
        assert!(explains(&Touch::Delete("/x"), Field::Pzxid, "/"));
        let seen = |data_length, data| Seen {
            field: Field::Mzxid,
            path: "/a",
            time: 0,
            data_length,
            data,
        };
        assert!(explains_seen(&set, &seen(2, None)));
        assert!(explains_seen(&set, &seen(2, Some(b"xy"))));
        assert!(!explains_seen(&set, &seen(2, Some(b"zz"))));
        assert!(!explains_seen(&set, &seen(3, None)));
    }
}
