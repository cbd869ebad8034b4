//! How the ZooKeeper ensemble's notes read in a trace: server states in ZooKeeper's words
//! (LOOKING, LEADING, …), elections, commits; client notes by their variant and operation.

use kernel::tracelog::{NoteText, bounded, head};

/// A ZooKeeper ensemble's notes: server states in ZooKeeper's words (LOOKING, LEADING, …),
/// elections, commits; client notes by their variant and operation.
pub fn zab_note_text(note: &zkserver::Note) -> NoteText {
    use zkserver::Note as Z;
    let text = |name: String, detail: String| NoteText { name, detail };
    match note {
        Z::Repl(e) => event_text(e),
        Z::SessionExpired { session, zxid } => {
            text(format!("session expired {session}"), format!("zxid {zxid}"))
        }
        Z::Applied { session, xid, zxid } => text(
            format!("applied {zxid}"),
            format!("session {session} xid {xid}"),
        ),
        Z::Client(c) => client_note_text(c),
    }
}

/// A replication event: roles in ZooKeeper's words, elections, commits.
fn event_text(event: &replication::Event) -> NoteText {
    use replication::Event as N;
    let text = |name: String, detail: String| NoteText { name, detail };
    match event {
        N::State { state, epoch } => text(
            format!("{state:?}").to_uppercase(),
            format!("epoch {}", epoch.0),
        ),
        N::Phase(p) => text(
            format!("phase {}", format!("{p:?}").to_uppercase()),
            String::new(),
        ),
        N::ElectionDone {
            leader,
            election_epoch,
        } => text(
            format!("elected {leader}"),
            format!("election epoch {election_epoch}"),
        ),
        N::Established { epoch } => text(format!("established epoch {}", epoch.0), String::new()),
        N::Proposed { zxid, .. } => text(format!("propose {zxid}"), String::new()),
        N::Committed { zxid } => text(format!("commit {zxid}"), String::new()),
        N::Delivered { zxid, .. } => text(format!("deliver {zxid}"), String::new()),
        N::Reset { upto, .. } => text(format!("reset to {upto}"), String::new()),
        N::Truncated { after, removed } => text(
            format!("truncate after {after}"),
            format!("{} removed", removed.len()),
        ),
        N::Synced {
            leader,
            epoch,
            last_zxid,
        } => text(
            format!("synced with {leader}"),
            format!("epoch {}, last zxid {last_zxid}", epoch.0),
        ),
    }
}

fn client_note_text(note: &proto::history::ClientNote) -> NoteText {
    use proto::history::ClientNote as C;
    let detail = bounded(format!("{note:?}"));
    let name = match note {
        C::Invoke { op, .. } => format!("invoke {}", head(&format!("{op:?}"))),
        C::Complete { result, .. } => format!("complete {}", head(&format!("{result:?}"))),
        C::Watch { .. } => "watch event".to_string(),
        C::SessionEnd { .. } => "session end".to_string(),
        C::QueueStart { kind, .. } => format!("queue {}", head(&format!("{kind:?}"))),
        C::QueueEnd { .. } => "queue done".to_string(),
        C::LockRequest { hold, .. } => format!("lock request {hold}"),
        C::LockAcquired { node, .. } => format!("lock acquired {node}"),
        C::LockEnd { end, .. } => format!("lock end {end:?}"),
        C::ResourceWrite {
            index, accepted, ..
        } => {
            format!(
                "resource write {index} {}",
                if *accepted { "ok" } else { "refused" }
            )
        }
        C::MqAck { part, offset, .. } => format!("mq ack part {part} offset {offset}"),
        C::MqUnclean { part, epoch, .. } => format!("mq unclean part {part} epoch {epoch}"),
        C::MqConsumed { part, offset, .. } => format!("mq consumed part {part} offset {offset}"),
        C::MqCommitted { part, offset, .. } => format!("mq commit part {part} offset {offset}"),
        C::LeaderStart { epoch, .. } => format!("leader start {epoch:#x}"),
        C::LeaderEnd { end, .. } => format!("leader end {end:?}"),
        C::TaskStart { task, .. } => format!("task start {task}"),
        C::TaskEnd { end, .. } => format!("task end {end:?}"),
        C::TaskWrite {
            index,
            task,
            accepted,
            ..
        } => {
            format!(
                "task write {index} task {task} {}",
                if *accepted { "ok" } else { "refused" }
            )
        }
        C::Barrier { round, step, .. } => format!("barrier {round} {step:?}"),
        C::Member { name, step, .. } => format!("member {name} {step:?}"),
        C::GroupView { members, .. } => format!("group view of {}", members.len()),
        C::Config { kind, number, .. } => format!("config {kind:?} {number}"),
    };
    NoteText { name, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_get_short_names() {
        let t = zab_note_text(&zkserver::Note::Repl(replication::Event::State {
            state: zab::ServerState::Leading,
            epoch: proto::Epoch(3),
        }));
        assert_eq!(t.name, "LEADING");
        assert_eq!(t.detail, "epoch 3");
        let t = zab_note_text(&zkserver::Note::Repl(replication::Event::Committed {
            zxid: proto::Zxid(0x1_0000_0002),
        }));
        assert_eq!(t.name, "commit 0x100000002");
    }
}
