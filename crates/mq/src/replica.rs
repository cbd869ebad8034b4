//! One broker's replica of one partition as a sans-IO state machine: as leader it appends
//! produced records, answers fetches and epoch questions, moves the high watermark and
//! proposes ISR changes, and answers `acks = all` produces once committed; as follower it
//! truncates by the protocol's rules ([`crate::truncate`]), then fetches in a loop and
//! takes the leader's high watermark. Inputs are method calls; outputs are [`Out`] values
//! appended to the caller's vector, in order.
//!
//! Durability: every append and truncation is an output ([`Out::Appended`],
//! [`Out::Truncated`]) the broker writes to its disk; it calls [`Replica::flushed`] once
//! they are durable. A follower fetches again (reporting its log end) only once what it
//! appended is durable, and a leader counts its own records for the high watermark only
//! once durable: an acknowledged record survives any one replica's crash.
//! Fetches are long polls: a leader with nothing new for a caught-up follower parks its
//! fetch until it appends, its HW moves, or [`FETCH_WAIT_NS`] passes ([`Replica::tick`]).
//! A follower sends its request again when no answer came for [`FETCH_TIMEOUT_NS`].
//!
//! Invariants: the follower's high watermark never passes its log end; the durable end
//! never passes the log end; a leader answers a produce at most once; a follower fetches
//! only after its truncation settled and its appends are durable.

use std::collections::BTreeMap;

use crate::isr::{FetchError, IsrConfig, LeaderView};
use crate::log::{EpochEnd, PartitionLog, Record};
use crate::truncate::{Step, Truncation};
use crate::{BrokerId, Protocol};

/// Most records one fetch answer carries.
pub const FETCH_RECORDS_MAX: usize = 64;
/// Most produces a leader keeps waiting for the high watermark.
pub const PENDING_PRODUCES_MAX: usize = 1 << 16;
/// A leader answers a parked fetch after this long even with nothing new.
pub const FETCH_WAIT_NS: u64 = 500_000_000;
/// A follower sends its request again after this long without an answer.
pub const FETCH_TIMEOUT_NS: u64 = 1_000_000_000;

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
    /// Appended at `offset` by the leader of `epoch` and (acks = all) committed, or
    /// (acks = 1) appended.
    Acked { offset: u64, epoch: u32 },
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
    /// Records `from..to` were appended: write them to disk, then call
    /// [`Replica::flushed`] with `to` once durable.
    Appended {
        from: u64,
        to: u64,
    },
    /// The log was cut to `to`: write that to disk.
    Truncated {
        to: u64,
    },
}

/// A follower's fetch the leader holds until it has something new (a long poll).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Parked {
    offset: u64,
    /// When the leader first saw it parked on a tick (None: not yet).
    since_ns: Option<u64>,
}

#[derive(Debug)]
enum Role {
    Offline,
    Leader {
        view: LeaderView,
        /// acks = all produces waiting for the HW: offset → produce id.
        waiting: BTreeMap<u64, u64>,
        /// Fetches held until something is new for them, by follower.
        parked: BTreeMap<BrokerId, Parked>,
        /// The HW each follower was last told.
        hw_sent: BTreeMap<BrokerId, u64>,
    },
    Follower {
        leader: BrokerId,
        epoch: u32,
        /// Some while the truncation exchange runs; None once fetching.
        truncating: Option<Truncation>,
        /// The request in flight (sent again after [`FETCH_TIMEOUT_NS`]); None while
        /// waiting for appends to become durable.
        request: Option<Wire>,
        /// When a tick first saw `request` in flight.
        sent_ns: Option<u64>,
    },
}

/// See the module header.
#[derive(Debug)]
pub struct Replica {
    me: BrokerId,
    cfg: IsrConfig,
    log: PartitionLog,
    hw: u64,
    /// The log is durable below this.
    durable: u64,
    role: Role,
}

/// What a replica that presumes to lead shows the monitors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leading {
    pub epoch: u32,
    pub hw: u64,
    pub isr: Vec<BrokerId>,
}

impl Replica {
    /// A replica recovered with `log` and its checkpointed high watermark `hw`.
    pub fn new(me: BrokerId, cfg: IsrConfig, log: PartitionLog, hw: u64) -> Replica {
        assert!(hw <= log.leo(), "a checkpointed HW past the log end");
        Replica {
            me,
            cfg,
            durable: log.leo(),
            log,
            hw,
            role: Role::Offline,
        }
    }

    /// How far the log is durable.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// The leader's epoch, HW and ISR if this replica presumes to lead.
    pub fn leading(&self) -> Option<Leading> {
        match &self.role {
            Role::Leader { view, .. } => Some(Leading {
                epoch: view.epoch(),
                hw: view.hw(),
                isr: view.isr(),
            }),
            _ => None,
        }
    }

    /// The leader this replica follows and the epoch, if it follows.
    pub fn following(&self) -> Option<(BrokerId, u32)> {
        match self.role {
            Role::Follower { leader, epoch, .. } => Some((leader, epoch)),
            _ => None,
        }
    }

    /// Whether a follower is fetching (its truncation settled).
    pub fn fetching(&self) -> bool {
        matches!(
            self.role,
            Role::Follower {
                truncating: None,
                ..
            }
        )
    }

    /// Stops leading or following (the broker lost this partition).
    pub fn go_offline(&mut self) {
        self.role = Role::Offline;
    }

    /// The log is durable below `upto` (an fsync covering the appends up to it completed).
    pub fn flushed(&mut self, upto: u64, out: &mut Vec<Out>) {
        self.durable = self.durable.max(upto.min(self.log.leo()));
        assert!(self.durable <= self.log.leo());
        match &mut self.role {
            Role::Leader { view, .. } => {
                view.on_flushed(self.durable, self.log.leo());
                self.answer_committed(out);
                self.release_parked(false, 0, out);
            }
            Role::Follower {
                leader,
                epoch,
                truncating: None,
                request,
                sent_ns,
            } if request.is_none() && self.durable == self.log.leo() => {
                let msg = Wire::Fetch {
                    offset: self.log.leo(),
                    epoch: *epoch,
                };
                *request = Some(msg.clone());
                *sent_ns = None;
                out.push(Out::Send { to: *leader, msg });
            }
            _ => {}
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
        let mut view = LeaderView::new(
            self.cfg,
            self.me,
            epoch,
            (leo, self.hw.min(leo)),
            replicas,
            isr,
            now_ns,
        );
        view.on_flushed(self.durable, leo);
        self.hw = view.hw();
        self.role = Role::Leader {
            view,
            waiting: BTreeMap::new(),
            parked: BTreeMap::new(),
            hw_sent: BTreeMap::new(),
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
            request: None,
            sent_ns: None,
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
        let Role::Leader { view, waiting, .. } = &mut self.role else {
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
        out.push(Out::Appended {
            from: offset,
            to: offset + 1,
        });
        if acks_all {
            assert!(
                waiting.len() < PENDING_PRODUCES_MAX,
                "too many produces waiting"
            );
            waiting.insert(offset, id);
        } else {
            out.push(Out::Produced {
                id,
                end: ProduceEnd::Acked {
                    offset,
                    epoch: view.epoch(),
                },
            });
        }
        self.answer_committed(out);
        self.release_parked(false, 0, out);
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
            self.release_parked(false, 0, out);
        }
    }

    /// The periodic check at `now_ns`: a leader's ISR change to propose, if any, and its
    /// parked fetches that waited [`FETCH_WAIT_NS`]; a follower's request sent again after
    /// [`FETCH_TIMEOUT_NS`] without an answer.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Out>) {
        match &mut self.role {
            Role::Leader { view, .. } => {
                if let Some(isr) = view.proposed_isr(self.log.leo(), now_ns) {
                    view.proposing(&isr);
                    out.push(Out::ProposeIsr(isr));
                }
                self.release_parked(true, now_ns, out);
            }
            Role::Follower {
                leader,
                request: Some(msg),
                sent_ns,
                ..
            } => match *sent_ns {
                None => *sent_ns = Some(now_ns),
                Some(t) if now_ns.saturating_sub(t) >= FETCH_TIMEOUT_NS => {
                    *sent_ns = Some(now_ns);
                    out.push(Out::Send {
                        to: *leader,
                        msg: msg.clone(),
                    });
                }
                Some(_) => {}
            },
            _ => {}
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
        let Role::Leader {
            view,
            parked,
            hw_sent,
            ..
        } = &mut self.role
        else {
            return; // not the leader (any more): the follower learns from LeaderAndIsr
        };
        let offset = offset.min(self.log.leo());
        match view.on_fetch(from, offset, epoch, self.log.leo(), now_ns) {
            Ok(()) => {
                parked.remove(&from);
                let nothing_new =
                    offset == self.log.leo() && hw_sent.get(&from) == Some(&view.hw());
                if nothing_new {
                    parked.insert(
                        from,
                        Parked {
                            offset,
                            since_ns: None,
                        },
                    );
                } else {
                    let hw = view.hw();
                    hw_sent.insert(from, hw);
                    let records = self.log.from(offset, FETCH_RECORDS_MAX).to_vec();
                    let msg = Wire::FetchReply {
                        records,
                        hw,
                        error: None,
                    };
                    out.push(Out::Send { to: from, msg });
                }
            }
            Err(e) => {
                let msg = Wire::FetchReply {
                    records: Vec::new(),
                    hw: 0,
                    error: Some(e),
                };
                out.push(Out::Send { to: from, msg });
            }
        }
        self.answer_committed(out);
        self.release_parked(false, 0, out);
    }

    /// Leader: answers the parked fetches that have something new (records or a moved
    /// HW) — and, on a tick (`timed`), those parked for [`FETCH_WAIT_NS`].
    fn release_parked(&mut self, timed: bool, now_ns: u64, out: &mut Vec<Out>) {
        let Role::Leader {
            view,
            parked,
            hw_sent,
            ..
        } = &mut self.role
        else {
            return;
        };
        let hw = view.hw();
        let leo = self.log.leo();
        let mut due = Vec::new();
        for (&f, p) in parked.iter_mut() {
            let new = p.offset < leo || hw_sent.get(&f) != Some(&hw);
            let waited = timed
                && p.since_ns
                    .is_some_and(|t| now_ns.saturating_sub(t) >= FETCH_WAIT_NS);
            if timed && p.since_ns.is_none() {
                p.since_ns = Some(now_ns);
            }
            if new || waited {
                due.push((f, p.offset));
            }
        }
        for (f, offset) in due {
            parked.remove(&f);
            hw_sent.insert(f, hw);
            let records = self.log.from(offset, FETCH_RECORDS_MAX).to_vec();
            let msg = Wire::FetchReply {
                records,
                hw,
                error: None,
            };
            out.push(Out::Send { to: f, msg });
        }
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
            request,
            sent_ns,
        } = &mut self.role
        else {
            return; // a late reply to an older role
        };
        if from != *leader || error.is_some() {
            return; // fenced: wait for the next LeaderAndIsr (the request is sent again)
        }
        let from_offset = self.log.leo();
        for r in records {
            if r.offset != self.log.leo() {
                continue;
            }
            let older = self.log.latest_epoch().is_some_and(|e| r.epoch < e);
            if older && self.cfg.protocol != Protocol::Fixed {
                // The leader's record is of an older epoch than this log's last: the logs
                // diverged below here, which a historical truncation rule leaves
                // (KIP-279's divergence). Like Kafka's epoch cache the follower refuses the
                // older epoch, and the divergence stays for StrongIsr to see. Under the
                // fixed rules the append below asserts instead: a diverged log there is a
                // finding.
                break;
            }
            self.log.append_copy(r);
        }
        let leo = self.log.leo();
        self.hw = self.hw.max(hw.min(leo));
        if leo > from_offset {
            out.push(Out::Appended {
                from: from_offset,
                to: leo,
            });
        }
        *sent_ns = None;
        if self.durable < leo {
            *request = None; // fetch again once durable (`flushed`)
            return;
        }
        let msg = Wire::Fetch {
            offset: leo,
            epoch: *epoch,
        };
        *request = Some(msg.clone());
        out.push(Out::Send { to: *leader, msg });
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
            request,
            sent_ns,
        } = &mut self.role
        else {
            panic!("a truncation step outside the follower role");
        };
        *sent_ns = None;
        match step {
            Step::Ask { epoch: asked } => {
                let msg = Wire::EpochQuery {
                    epoch: asked,
                    current: *epoch,
                };
                *request = Some(msg.clone());
                out.push(Out::Send { to: *leader, msg });
            }
            Step::Truncate { to } => {
                *truncating = None;
                // Truncating at the log end still drops an epoch begun there without
                // records (a leader that appended nothing before it was deposed): kept, it
                // would make the new leader's older-epoch records look like a divergence.
                let cut = to < self.log.leo();
                self.log.truncate_to(to);
                if cut {
                    out.push(Out::Truncated { to });
                }
                self.hw = self.hw.min(self.log.leo());
                self.durable = self.durable.min(self.log.leo());
                if self.durable < self.log.leo() {
                    *request = None; // fetch once what it holds is durable
                    return;
                }
                let msg = Wire::Fetch {
                    offset: self.log.leo(),
                    epoch: *epoch,
                };
                *request = Some(msg.clone());
                out.push(Out::Send { to: *leader, msg });
            }
        }
    }

    /// Leader: answers the acks = all produces now committed, in offset order.
    fn answer_committed(&mut self, out: &mut Vec<Out>) {
        let Role::Leader { view, waiting, .. } = &mut self.role else {
            return;
        };
        while let Some((&offset, &id)) = waiting.first_key_value() {
            if !view.committed(offset) {
                break;
            }
            waiting.remove(&offset);
            out.push(Out::Produced {
                id,
                end: ProduceEnd::Acked {
                    offset,
                    epoch: view.epoch(),
                },
            });
        }
        self.hw = view.hw();
    }
}
