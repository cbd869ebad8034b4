//! The request pipeline on top of the replication core: client reads are answered from the
//! local applied state, client writes are proposed (leader) or forwarded (learner) and
//! answered by the accepting server once it applied the commit.
//! Policy when not serving (not in broadcast phase): answer ConnectionLoss at once (nothing
//! is queued); on leaving broadcast every tracked write is answered ConnectionLoss.
//! Invariants: every client request gets at most one reply from this incarnation.

use proto::{ProcessId, Zxid};

use crate::msg::Msg;
use crate::server::{Out, Role, Server};
use crate::types::{ClientOp, ClientResult, Origin, TxnOp};

impl Server {
    fn reply(
        &self,
        client: ProcessId,
        req_id: u64,
        zxid: Zxid,
        result: ClientResult,
        out: &mut Out,
    ) {
        out.send(
            client,
            Msg::ClientReply {
                req_id,
                zxid,
                result,
            },
        );
    }

    pub(crate) fn on_client_request(
        &mut self,
        ctx: &mut proto::Ctx,
        from: ProcessId,
        req_id: u64,
        op: ClientOp,
        out: &mut Out,
    ) {
        if self.cfg.is_server(from) {
            return; // servers are not clients
        }
        let applied = self.applied_zxid;
        if !self.serving() {
            self.reply(from, req_id, applied, ClientResult::ConnectionLoss, out);
            return;
        }
        match op {
            ClientOp::Read { key } => {
                let value = self.app.read(key);
                self.reply(from, req_id, applied, ClientResult::Value(value), out);
            }
            ClientOp::Write { key, value } => {
                if self.app.is_tracked(from, req_id) {
                    return; // already in flight; it will be answered once
                }
                if !self.app.track(from, req_id) {
                    self.reply(from, req_id, applied, ClientResult::ConnectionLoss, out);
                    return;
                }
                let origin = Origin {
                    server: self.cfg.me,
                    client: from,
                    req_id,
                };
                let op = TxnOp::Write { key, value };
                match self.role {
                    Role::Leading(_) => {
                        if !self.leader_propose(ctx, op, origin, out)
                            && self.app.untrack(from, req_id)
                        {
                            let applied = self.applied_zxid;
                            self.reply(from, req_id, applied, ClientResult::ConnectionLoss, out);
                        }
                    }
                    Role::Learning(_) => self.learner_forward(op, origin, out),
                    Role::Looking => unreachable!("serving while looking"),
                }
            }
        }
    }

    /// Answers every tracked write with ConnectionLoss (leaving broadcast).
    pub(crate) fn fail_pending(&mut self, out: &mut Out) {
        let applied = self.applied_zxid;
        for (client, req_id) in self.app.take_pending() {
            self.reply(client, req_id, applied, ClientResult::ConnectionLoss, out);
        }
    }
}
