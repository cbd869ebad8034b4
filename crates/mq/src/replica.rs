//! One broker's replica of one partition as a sans-IO state machine: as leader it appends
//! produced records, answers fetches and epoch questions, moves the high watermark and
//! proposes ISR changes, and answers `acks = all` produces once committed; as follower it
//! truncates by the protocol's rules ([`crate::truncate`]), then fetches in a loop and
//! takes the leader's high watermark. Inputs are method calls; outputs are [`Out`] values
//! appended to the caller's vector, in order.
//! Invariants: the follower's high watermark never passes its log end; a leader answers a
//! produce at most once; a follower fetches only after its truncation settled.

use std::collections::BTreeMap;

use crate::BrokerId;
use crate::isr::{FetchError, IsrConfig, LeaderView};
use crate::log::{EpochEnd, PartitionLog, Record};
use crate::truncate::{Step, Truncation};

/// Most records one fetch answer carries.
pub const FETCH_RECORDS_MAX: usize = 64;
/// Most produces a leader keeps waiting for the high watermark.
pub const PENDING_PRODUCES_MAX: usize = 1 << 16;

/// Replication messages between the replicas of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Follower → leader: fetch from `offset`, as a follower of leader epoch `epoch`.
    Fetch { offset: u64, epoch: u32 },
    /// Leader → follower: records from the fetch's offset and the leader's HW, or why not.
    FetchReply {
        records: Vec<Record>,
        hw: u64,
        error: Option<FetchError>,
    },
    /// Follower → leader: `OffsetsForLeaderEpoch(epoch)`, sent as a follower of `current`.
    EpochQuery { epoch: u32, current: u32 },
    /// Leader → follower: the answer, or why not.
    EpochAnswer {
        answer: EpochEnd,
        error: Option<FetchError>,
    },
}

/// How a produce ended at the leader.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProduceEnd {
    /// Appended at `offset` and (acks = all) committed, or (acks = 1) appended.
    Acked { offset: u64 },
    /// This replica does not lead the partition.
    NotLeader,
    /// The ISR is smaller than `min.insync.replicas` (acks = all, refused up front).
    NotEnoughReplicas,
}

/// What the replica asks its broker to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Send {
        to: BrokerId,
        msg: Wire,
    },
    /// Leader: write this ISR into the partition state znode (conditionally); call
    /// [`Replica::isr_written`] when it succeeded.
    ProposeIsr(Vec<BrokerId>),
    /// The produce with this id ended.
    Produced {
        id: u64,
        end: ProduceEnd,
    },
}

#[derive(Debug)]
enum Role {
    Offline,
    Leader {
        view: LeaderView,
        /// acks = all produces waiting for the HW: offset → produce id.
        waiting: BTreeMap<u64, u64>,
    },
    Follower {
        leader: BrokerId,
        epoch: u32,
        /// Some while the truncation exchange runs; None once fetching.
        truncating: Option<Truncation>,
    },
}

/// See the module header.
#[derive(Debug)]
pub struct Replica {
    me: BrokerId,
    cfg: IsrConfig,
    log: PartitionLog,
    hw: u64,
    role: Role,
}

impl Replica {
    /// A replica recovered with `log` and its checkpointed high watermark `hw`.
    pub fn new(me: BrokerId, cfg: IsrConfig, log: PartitionLog, hw: u64) -> Replica {
        assert!(hw <= log.leo(), "a checkpointed HW past the log end");
        Replica {
            me,
            cfg,
            log,
            hw,
            role: Role::Offline,
        }
    }

    pub fn log(&self) -> &PartitionLog {
        &self.log
    }

    pub fn hw(&self) -> u64 {
        self.hw
    }

    /// LeaderAndIsr made this replica leader of `epoch`.
    pub fn become_leader(
        &mut self,
        epoch: u32,
        replicas: &[BrokerId],
        isr: &[BrokerId],
        now_ns: u64,
    ) {
        self.log.assign_epoch(epoch);
        let leo = self.log.leo();
        let view = LeaderView::new(
            self.cfg,
            self.me,
            epoch,
            (leo, self.hw),
            replicas,
            isr,
            now_ns,
        );
        self.role = Role::Leader {
            view,
            waiting: BTreeMap::new(),
        };
    }

    /// LeaderAndIsr made this replica a follower of `leader` in `epoch`: it starts its
    /// truncation exchange.
    pub fn become_follower(&mut self, leader: BrokerId, epoch: u32, out: &mut Vec<Out>) {
        assert_ne!(leader, self.me, "following itself");
        let (t, step) = Truncation::start(self.cfg.protocol, &self.log, self.hw);
        self.role = Role::Follower {
            leader,
            epoch,
            truncating: Some(t),
        };
        self.follow_step(step, out);
    }

    /// A producer's record (`id` names the attempt), with acks = all or acks = 1.
    pub fn produce(
        &mut self,
        id: u64,
        (key, value): (u64, u64),
        acks_all: bool,
        out: &mut Vec<Out>,
    ) {
        let Role::Leader { view, waiting } = &mut self.role else {
            out.push(Out::Produced {
                id,
                end: ProduceEnd::NotLeader,
            });
            return;
        };
        if acks_all && view.isr().len() < self.cfg.min_insync {
            let end = ProduceEnd::NotEnoughReplicas;
            out.push(Out::Produced { id, end });
            return;
        }
        let offset = self.log.append(view.epoch(), key, value);
        view.on_append(self.log.leo());
        if acks_all {
            assert!(
                waiting.len() < PENDING_PRODUCES_MAX,
                "too many produces waiting"
            );
            waiting.insert(offset, id);
        } else {
            out.push(Out::Produced {
                id,
                end: ProduceEnd::Acked { offset },
            });
        }
        self.answer_committed(out);
    }

    /// A replication message from `from` at `now_ns`.
    pub fn on_message(&mut self, from: BrokerId, msg: Wire, now_ns: u64, out: &mut Vec<Out>) {
        match msg {
            Wire::Fetch { offset, epoch } => self.on_fetch(from, offset, epoch, now_ns, out),
            Wire::EpochQuery { epoch, current } => self.on_epoch_query(from, epoch, current, out),
            Wire::FetchReply { records, hw, error } => {
                self.on_fetch_reply(from, &records, hw, error, out)
            }
            Wire::EpochAnswer { answer, error } => self.on_epoch_answer(from, answer, error, out),
        }
    }

    /// The ISR written into the partition state znode.
    pub fn isr_written(&mut self, isr: &[BrokerId], out: &mut Vec<Out>) {
        if let Role::Leader { view, .. } = &mut self.role {
            view.set_isr(isr, self.log.leo());
            self.answer_committed(out);
        }
    }

    /// The leader's periodic check at `now_ns`: an ISR change to propose, if any.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Out>) {
        if let Role::Leader { view, .. } = &self.role
            && let Some(isr) = view.proposed_isr(self.log.leo(), now_ns)
        {
            out.push(Out::ProposeIsr(isr));
        }
    }

    fn on_fetch(
        &mut self,
        from: BrokerId,
        offset: u64,
        epoch: u32,
        now_ns: u64,
        out: &mut Vec<Out>,
    ) {
        let Role::Leader { view, .. } = &mut self.role else {
            return; // not the leader (any more): the follower learns from LeaderAndIsr
        };
        let offset = offset.min(self.log.leo());
        let reply = match view.on_fetch(from, offset, epoch, self.log.leo(), now_ns) {
            Ok(()) => Wire::FetchReply {
                records: self.log.from(offset, FETCH_RECORDS_MAX).to_vec(),
                hw: view.hw(),
                error: None,
            },
            Err(e) => Wire::FetchReply {
                records: Vec::new(),
                hw: 0,
                error: Some(e),
            },
        };
        out.push(Out::Send {
            to: from,
            msg: reply,
        });
        self.answer_committed(out);
    }

    fn on_epoch_query(&mut self, from: BrokerId, epoch: u32, current: u32, out: &mut Vec<Out>) {
        let Role::Leader { view, .. } = &self.role else {
            return;
        };
        let fenced = self.cfg.fenced && current != view.epoch();
        let error = fenced.then_some(if current < view.epoch() {
            FetchError::FencedLeaderEpoch
        } else {
            FetchError::UnknownLeaderEpoch
        });
        let answer = self.log.end_offset_for(epoch);
        out.push(Out::Send {
            to: from,
            msg: Wire::EpochAnswer { answer, error },
        });
    }

    fn on_fetch_reply(
        &mut self,
        from: BrokerId,
        records: &[Record],
        hw: u64,
        error: Option<FetchError>,
        out: &mut Vec<Out>,
    ) {
        let Role::Follower {
            leader,
            epoch,
            truncating: None,
        } = self.role
        else {
            return; // a late reply to an older role
        };
        if from != leader || error.is_some() {
            return; // fenced: wait for the next LeaderAndIsr
        }
        for r in records {
            if r.offset == self.log.leo() {
                self.log.append_copy(r);
            }
        }
        self.hw = self.hw.max(hw.min(self.log.leo()));
        let msg = Wire::Fetch {
            offset: self.log.leo(),
            epoch,
        };
        out.push(Out::Send { to: leader, msg });
    }

    fn on_epoch_answer(
        &mut self,
        from: BrokerId,
        answer: EpochEnd,
        error: Option<FetchError>,
        out: &mut Vec<Out>,
    ) {
        let Role::Follower {
            leader,
            truncating: Some(t),
            ..
        } = &mut self.role
        else {
            return;
        };
        if from != *leader || error.is_some() {
            return;
        }
        let step = t.on_answer(&self.log, answer);
        self.follow_step(step, out);
    }

    /// Carries out a truncation step: ask the leader, or truncate and start fetching.
    fn follow_step(&mut self, step: Step, out: &mut Vec<Out>) {
        let Role::Follower {
            leader,
            epoch,
            truncating,
        } = &mut self.role
        else {
            panic!("a truncation step outside the follower role");
        };
        match step {
            Step::Ask { epoch: asked } => {
                let msg = Wire::EpochQuery {
                    epoch: asked,
                    current: *epoch,
                };
                out.push(Out::Send { to: *leader, msg });
            }
            Step::Truncate { to } => {
                *truncating = None;
                self.log.truncate_to(to);
                self.hw = self.hw.min(self.log.leo());
                let msg = Wire::Fetch {
                    offset: self.log.leo(),
                    epoch: *epoch,
                };
                out.push(Out::Send { to: *leader, msg });
            }
        }
    }

    /// Leader: answers the acks = all produces now committed, in offset order.
    fn answer_committed(&mut self, out: &mut Vec<Out>) {
        let Role::Leader { view, waiting } = &mut self.role else {
            return;
        };
        while let Some((&offset, &id)) = waiting.first_key_value() {
            if !view.committed(offset) {
                break;
            }
            waiting.remove(&offset);
            out.push(Out::Produced {
                id,
                end: ProduceEnd::Acked { offset },
            });
        }
        self.hw = view.hw();
    }
}
