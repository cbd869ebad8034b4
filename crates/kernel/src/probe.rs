//! The kernel probe: a measuring process, not a protocol. In `ping` mode every process
//! pings a random peer at a fixed interval and logs each answered ping to its disk, which
//! exercises every kernel model (network, CPU, timers, clocks, disk) and measures round
//! trips; in `relay` mode processes pass tokens on as fast as the network allows — the
//! message-heavy load `zabsim bench` uses for kernel events/s. Its liveness condition: after
//! the heal, every process gets an answer to a ping.

use crate::observe::{Observer, Procs, Progress, Violation};
use sansio::{Ctx, Message, OutboxOf, Process, ProcessId, Recovered, Time, TimerId, WriteId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeMsg {
    Ping { seq: u64, payload_bytes: u32 },
    Pong { seq: u64, sent_local: Time },
    Token { hops: u64 },
}

impl Message for ProbeMsg {
    const KINDS: &'static [&'static str] = &["PING", "PONG", "TOKEN"];
    fn kind(&self) -> usize {
        match self {
            ProbeMsg::Ping { .. } => 0,
            ProbeMsg::Pong { .. } => 1,
            ProbeMsg::Token { .. } => 2,
        }
    }
    fn size_bytes(&self) -> u32 {
        match self {
            ProbeMsg::Ping { payload_bytes, .. } => 16 + payload_bytes,
            ProbeMsg::Pong { .. } | ProbeMsg::Token { .. } => 16,
        }
    }
}

/// What the probe reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeNote {
    /// A ping was answered after `rtt_ns` of monotonic time.
    RoundTrip { rtt_ns: u64 },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProbeMode {
    Ping {
        interval_ns: u64,
        payload_bytes: u32,
    },
    Relay {
        tokens: u32,
    },
}

const PING_TIMER: TimerId = TimerId(1);
/// Answered pings between two fsyncs of the probe's log.
const FSYNC_EVERY: u64 = 8;

/// Pings sent and answered.
#[derive(Default)]
struct Pings {
    seq_next: u64,
    pending: Vec<(u64, Time)>,
    answered: u64,
}

pub struct Probe {
    mode: ProbeMode,
    processes: u32,
    /// Lemire's rejection threshold for drawing a peer (`2^64 mod (processes − 1)`),
    /// computed once instead of per draw.
    peer_threshold: u64,
    /// The ping mode's bookkeeping, boxed: a relay probe (the kernel bench's load) then
    /// fits one cache line.
    pings: Box<Pings>,
    /// Pings answered since the last start (for liveness).
    pub answered_since_start: u64,
    /// Records recovered from disk at the last start.
    pub recovered_records: usize,
}

/// Unanswered pings a probe remembers (older ones are forgotten as lost).
const PENDING_MAX: usize = 64;

impl Probe {
    pub fn new(mode: ProbeMode, processes: u32) -> Probe {
        assert!(processes >= 2, "a probe needs a peer");
        let peers = processes as u64 - 1;
        Probe {
            mode,
            processes,
            peer_threshold: peers.wrapping_neg() % peers,
            pings: Box::default(),
            answered_since_start: 0,
            recovered_records: 0,
        }
    }

    /// A uniform peer other than this process: exactly `ctx.below(processes − 1)` (the same
    /// draws and values), with the rejection threshold precomputed.
    #[inline]
    fn random_peer(&self, ctx: &mut Ctx) -> ProcessId {
        let peers = self.processes as u64 - 1;
        let other = loop {
            let product = (ctx.rng.next_u64() as u128) * (peers as u128);
            if (product as u64) >= self.peer_threshold {
                break (product >> 64) as u32;
            }
        };
        let peer = ProcessId(if other >= ctx.me.0 { other + 1 } else { other });
        debug_assert!(
            peer != ctx.me && peer.0 < self.processes,
            "{peer} is no peer"
        );
        peer
    }
}

impl Process for Probe {
    type Msg = ProbeMsg;
    type Record = u64;
    type Note = ProbeNote;

    fn on_start(&mut self, ctx: &mut Ctx, disk: Recovered<'_, u64>, out: &mut OutboxOf<Self>) {
        // Every start (first boot or restart) is of a fresh probe from the factory.
        debug_assert_eq!(self.answered_since_start, 0, "a probe started twice");
        self.recovered_records = disk.records.len();
        match self.mode {
            ProbeMode::Ping { interval_ns, .. } => {
                let jitter = ctx.below(interval_ns.max(1));
                out.set_timer(PING_TIMER, ctx.mono.plus_ns(jitter));
            }
            ProbeMode::Relay { tokens } => {
                for _ in 0..tokens {
                    let to = self.random_peer(ctx);
                    out.send(to, ProbeMsg::Token { hops: 0 });
                }
            }
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Ctx,
        from: ProcessId,
        msg: ProbeMsg,
        out: &mut OutboxOf<Self>,
    ) {
        match msg {
            ProbeMsg::Ping { seq, .. } => out.send(
                from,
                ProbeMsg::Pong {
                    seq,
                    sent_local: ctx.mono,
                },
            ),
            ProbeMsg::Pong { seq, .. } => {
                let pings = &mut *self.pings;
                let Some(i) = pings.pending.iter().position(|&(s, _)| s == seq) else {
                    return;
                };
                let (_, sent) = pings.pending.swap_remove(i);
                pings.answered += 1;
                debug_assert!(
                    pings.answered <= pings.seq_next,
                    "more pings answered than sent"
                );
                debug_assert!(ctx.mono >= sent, "the monotonic clock went back");
                self.answered_since_start += 1;
                out.note(ProbeNote::RoundTrip {
                    rtt_ns: ctx.mono.since_ns(sent),
                });
                out.append(seq);
                if pings.answered.is_multiple_of(FSYNC_EVERY) {
                    out.fsync(WriteId(pings.answered));
                }
            }
            ProbeMsg::Token { hops } => {
                let to = self.random_peer(ctx);
                out.send(to, ProbeMsg::Token { hops: hops + 1 });
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: TimerId, out: &mut OutboxOf<Self>) {
        assert_eq!(timer, PING_TIMER);
        let ProbeMode::Ping {
            interval_ns,
            payload_bytes,
        } = self.mode
        else {
            return;
        };
        let to = self.random_peer(ctx);
        let pings = &mut *self.pings;
        let seq = pings.seq_next;
        pings.seq_next += 1;
        if pings.pending.len() == PENDING_MAX {
            pings.pending.remove(0);
        }
        pings.pending.push((seq, ctx.mono));
        debug_assert!(pings.pending.len() <= PENDING_MAX);
        out.send(to, ProbeMsg::Ping { seq, payload_bytes });
        out.set_timer(PING_TIMER, ctx.mono.plus_ns(interval_ns));
    }

    fn on_disk_done(&mut self, _ctx: &mut Ctx, _write: WriteId, _out: &mut OutboxOf<Self>) {}
}

/// Collects round-trip times; liveness: every process answered a ping after the heal.
#[derive(Default)]
pub struct ProbeObserver {
    pub rtt_ns: Vec<u64>,
    liveness_from: Option<Time>,
    baseline: Vec<u64>,
}

impl Observer<Probe> for ProbeObserver {
    fn on_note(&mut self, _now: Time, _pid: ProcessId, note: ProbeNote) -> Result<(), Violation> {
        let ProbeNote::RoundTrip { rtt_ns } = note;
        self.rtt_ns.push(rtt_ns);
        Ok(())
    }

    fn liveness(&mut self, now: Time, procs: &dyn Procs<Probe>) -> Progress {
        let answered = |p: ProcessId| procs.get(p).map_or(0, |x| x.answered_since_start);
        if self.liveness_from.is_none() {
            self.liveness_from = Some(now);
            self.baseline = (0..procs.count() as u32)
                .map(|i| answered(ProcessId(i)))
                .collect();
        }
        debug_assert_eq!(
            self.baseline.len(),
            procs.count(),
            "one baseline per process"
        );
        let stuck: Vec<ProcessId> = (0..procs.count() as u32)
            .map(ProcessId)
            .filter(|&p| answered(p) <= self.baseline[p.index()])
            .collect();
        if stuck.is_empty() {
            return Progress::Done;
        }
        Progress::Waiting(Violation {
            check: "Liveness".into(),
            processes: stuck.clone(),
            detail: format!(
                "{} processes got no answer to a ping since {}",
                stuck.len(),
                self.liveness_from.unwrap_or(now)
            ),
        })
    }
}

/// The relay load both kernel benchmarks run (`zabsim bench`, `cargo bench -p sim`): every
/// process forwards tokens to random peers, uniform 0.5–1.5 ms latency, no CPU cost.
pub const RELAY_BENCH_SCENARIO: &str = r#"
version = 1
name = "bench-relay"
[cluster]
servers = 10
[run]
safety_ms = 1_000_000_000
liveness_ms = 1
events_max = 1
[network]
latency = { dist = "uniform", min_us = 500, max_us = 1_500 }
[cpu]
message_us = 0
[workload]
kind = "relay"
tokens = 1
"#;

/// Tokens in flight across the whole run, whatever the process count.
pub const RELAY_BENCH_TOKENS_TOTAL: u32 = 20_000;

#[cfg(test)]
mod tests {
    use super::*;
    use sansio::Entropy;

    /// Draws that make `below(n)` return 0 for every small `n`.
    struct Fixed(u64);
    impl Entropy for Fixed {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(1);
            self.0
        }
    }

    /// Draws spread over the whole `u64` range.
    struct Mixed(u64);
    impl Entropy for Mixed {
        fn next_u64(&mut self) -> u64 {
            self.0 = sansio::mix64(self.0.wrapping_add(1));
            self.0
        }
    }

    /// `random_peer` picks exactly the peer `ctx.below(processes − 1)` picks.
    #[test]
    fn random_peer_is_below_with_a_precomputed_threshold() {
        for processes in [2u32, 3, 10, 1_000, 10_007] {
            let p = Probe::new(ProbeMode::Relay { tokens: 1 }, processes);
            let (mut a, mut b) = (Mixed(processes as u64), Mixed(processes as u64));
            for i in 0..2_000u32 {
                let me = ProcessId(i % processes);
                let mut ctx = Ctx {
                    me,
                    mono: Time(0),
                    wall: Time(0),
                    rng: &mut a,
                };
                let got = p.random_peer(&mut ctx);
                let mut ctx = Ctx {
                    me,
                    mono: Time(0),
                    wall: Time(0),
                    rng: &mut b,
                };
                let other = ctx.below(processes as u64 - 1) as u32;
                let want = ProcessId(if other >= me.0 { other + 1 } else { other });
                assert_eq!(got, want);
                assert_ne!(got, me);
            }
        }
    }

    #[test]
    fn ping_is_answered_and_logged() {
        let mut p = Probe::new(
            ProbeMode::Ping {
                interval_ns: 1_000,
                payload_bytes: 4,
            },
            3,
        );
        let mut rng = Fixed(0);
        let mut out = OutboxOf::<Probe>::default();
        let mut ctx = Ctx {
            me: ProcessId(0),
            mono: Time(0),
            wall: Time(0),
            rng: &mut rng,
        };
        p.on_start(
            &mut ctx,
            Recovered {
                records: &[],
                torn_tail: false,
            },
            &mut out,
        );
        assert_eq!(out.drain().count(), 1);
        p.on_timer(&mut ctx, PING_TIMER, &mut out);
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(
            sent[0],
            sansio::Output::Send {
                to: ProcessId(1),
                msg: ProbeMsg::Ping {
                    seq: 0,
                    payload_bytes: 4
                }
            }
        );
        let mut ctx = Ctx {
            me: ProcessId(0),
            mono: Time(500),
            // A wall clock far off (jumped): the round trip is timed on the monotonic one.
            wall: Time(7_000_000_500),
            rng: &mut rng,
        };
        p.on_message(
            &mut ctx,
            ProcessId(1),
            ProbeMsg::Pong {
                seq: 0,
                sent_local: Time(1),
            },
            &mut out,
        );
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            vec![
                sansio::Output::Note(ProbeNote::RoundTrip { rtt_ns: 500 }),
                sansio::Output::Append { record: 0 }
            ]
        );
    }
}
