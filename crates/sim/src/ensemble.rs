//! A ZooKeeper ensemble run: builds the servers (voters, observers) and request generators
//! from a scenario, and the observer that watches it — election and commit statistics, and
//! the liveness condition after the heal: one established leader, every server in
//! broadcast under it, and every generator's writes committing again.

use crate::history::HistoryRecorder;
use crate::node::Node;
use crate::scenario::{BugName, PaxosConfig, Protocol, Scenario, ZabConfig};
use crate::workload::{self, Stuck, Workload, World};
use crate::zabmon::{self, ZabLog};
use check::monitor::{MonitorViolation, Monitors, ProtocolEvent};
use kernel::observe::{Finding, Observer, Procs, Progress, Verdict, Violation};
use kernel::sim::{Factory, KernelConfig, Outcome, run_traced as run_traced_kernel};
use proto::{ProcessId, Time};
use replication::Event;
use serde::Serialize;
use zab::{Bugs, Config, Phase, ServerState};
use zkserver::Note;

/// The process layout: voters first, then observers, then each workload's clients in
/// workload order (KV generators, then queue producers, then queue consumers).
#[derive(Clone, Debug)]
pub struct Layout {
    pub voters: Vec<ProcessId>,
    pub observers: Vec<ProcessId>,
    /// Every client process.
    pub clients: Vec<ProcessId>,
    /// Each workload's clients, in the order of [`workload::of`].
    pub workloads: Vec<Vec<ProcessId>>,
}

impl Layout {
    pub fn of(s: &Scenario) -> Layout {
        Layout::with(s, &workload::of(s, &server_ids(s)))
    }

    /// The layout of `s` with its `workloads` already built (see [`workload::of`]).
    pub fn with(s: &Scenario, workloads: &[Box<dyn Workload>]) -> Layout {
        let v = s.cluster.servers;
        let o = s.cluster.observers;
        let c = s.workload.clients();
        let first = v + o;
        let range = |a: u32, n: u32| (a..a + n).map(ProcessId).collect::<Vec<_>>();
        let mut next = first;
        let workloads: Vec<Vec<ProcessId>> = workloads
            .iter()
            .map(|w| {
                let pids = range(next, w.clients());
                next += w.clients();
                pids
            })
            .collect();
        assert_eq!(next, first + c, "the workloads number every client");
        Layout {
            voters: range(0, v),
            observers: range(v, o),
            clients: range(first, c),
            workloads,
        }
    }

    pub fn servers(&self) -> impl Iterator<Item = ProcessId> + '_ {
        self.voters.iter().chain(&self.observers).copied()
    }

    /// Which workload a client belongs to, and its index there.
    pub fn workload_of(&self, pid: ProcessId) -> Option<(usize, u32)> {
        let first = self.clients.first()?.0;
        let mut offset = pid.0.checked_sub(first)?;
        for (w, pids) in self.workloads.iter().enumerate() {
            let n = pids.len() as u32;
            if offset < n {
                assert_eq!(pids[offset as usize], pid);
                return Some((w, offset));
            }
            offset -= n;
        }
        None
    }
}

/// The servers' process ids: voters, then observers.
pub fn server_ids(s: &Scenario) -> Vec<ProcessId> {
    (0..s.cluster.servers + s.cluster.observers)
        .map(ProcessId)
        .collect()
}

pub fn bugs_of(names: &[BugName]) -> Bugs {
    let mut b = Bugs::default();
    for n in names {
        match n {
            BugName::Zk1419 => b.zk_1419 = true,
            BugName::Zk335 => b.zk_335 = true,
            BugName::Zk1154 => b.zk_1154 = true,
            BugName::Zk3911 => b.zk_3911 = true,
            BugName::Zk2355 => b.zk_2355 = true,
            BugName::Zk1366 => b.zk_1366 = true,
            // Raft's (see `raft_bugs_of`), Multi-Paxos's (`paxos_bugs_of`) and the
            // recipes' bugs, not ZAB's.
            BugName::RaftFigure8
            | BugName::RaftNoVotePersist
            | BugName::PaxosNoAcceptPersist
            | BugName::QueueDeleteFirst
            | BugName::LockNoGuid
            | BugName::Curator498
            | BugName::Curator696
            | BugName::BarrierNoRecheck
            | BugName::ConfigReadThenWatch
            | BugName::KafkaHwTruncation
            | BugName::KafkaEpochDivergence
            | BugName::KafkaUnfencedFetch
            | BugName::KafkaZombieController => {}
        }
    }
    b
}

/// Raft's planted bugs among `names` (the rest are ZAB's or the recipes').
pub fn raft_bugs_of(names: &[BugName]) -> raft::Bugs {
    raft::Bugs {
        figure8: names.contains(&BugName::RaftFigure8),
        no_vote_persist: names.contains(&BugName::RaftNoVotePersist),
    }
}

/// Raft's timing from the `[zab]` section's ZooKeeper settings: a heartbeat every half
/// tick and an election timeout of `sync_limit_ticks` ticks (ZooKeeper's follower
/// timeout), which the defaults make Raft's usual 100 ms and 1 s.
fn raft_config(z: &ZabConfig, me: ProcessId, layout: &Layout) -> raft::Config {
    assert!(
        layout.observers.is_empty(),
        "observers on raft (refused at load)"
    );
    let mut c = raft::Config::new(me, layout.voters.clone());
    c.heartbeat_ms = (z.tick_ms / 2).max(1);
    c.election_timeout_ms = z
        .tick_ms
        .saturating_mul(z.sync_limit_ticks)
        .max(2 * c.heartbeat_ms);
    c.bugs = raft_bugs_of(&z.bugs);
    c
}

/// Multi-Paxos's planted bugs among `names`.
pub fn paxos_bugs_of(names: &[BugName]) -> paxos::Bugs {
    paxos::Bugs {
        no_accept_persist: names.contains(&BugName::PaxosNoAcceptPersist),
    }
}

/// Multi-Paxos's timing, as Raft's (`raft_config`): a heartbeat every half tick and an
/// election timeout of `sync_limit_ticks` ticks; its window and acceptance rule from the
/// `[paxos]` section.
fn paxos_config(z: &ZabConfig, p: &PaxosConfig, me: ProcessId, layout: &Layout) -> paxos::Config {
    assert!(
        layout.observers.is_empty(),
        "observers on paxos (refused at load)"
    );
    let mut c = paxos::Config::new(me, layout.voters.clone());
    c.heartbeat_ms = (z.tick_ms / 2).max(1);
    c.election_timeout_ms = z
        .tick_ms
        .saturating_mul(z.sync_limit_ticks)
        .max(2 * c.heartbeat_ms);
    c.bugs = paxos_bugs_of(&z.bugs);
    c.window = p.window;
    c.order = p.order();
    c
}

fn server_config(z: &ZabConfig, me: ProcessId, layout: &Layout) -> Config {
    let mut c = Config::new(me, layout.voters.clone(), layout.observers.clone());
    c.tick_ms = z.tick_ms;
    c.init_limit_ticks = z.init_limit_ticks;
    c.sync_limit_ticks = z.sync_limit_ticks;
    c.finalize_wait_ms = z.finalize_wait_ms;
    c.notify_timeout_ms_start = z.notify_timeout_ms_start;
    c.notify_timeout_ms_max = z.notify_timeout_ms_max;
    c.log_window_txns = z.log_window_txns as usize;
    c.bugs = bugs_of(&z.bugs);
    c
}

/// Builds the servers of an ensemble scenario (first boot and restarts) by process id, on
/// the scenario's protocol.
pub fn server_factory(s: &Scenario) -> impl FnMut(ProcessId) -> Node + use<> {
    let layout = Layout::of(s);
    let zab = s.zab.clone();
    let paxos = s.paxos.clone();
    let protocol = s.cluster.protocol();
    move |pid| {
        let servers: Vec<ProcessId> = layout.servers().collect();
        let mut sc = zkserver::Config::new(pid, servers);
        sc.tick_ms = zab.tick_ms;
        match protocol {
            Protocol::Zab => {
                let c = server_config(&zab, pid, &layout);
                c.validate();
                sc.wall_clock_timeouts = c.bugs.zk_1366;
                Node::Zab(Box::new(zkserver::Server::new(sc, zab::Zab::new(c))))
            }
            Protocol::Raft => {
                let c = raft_config(&zab, pid, &layout);
                c.validate();
                Node::Raft(Box::new(zkserver::Server::new(sc, raft::Raft::new(c))))
            }
            Protocol::Paxos => {
                let c = paxos_config(&zab, &paxos, pid, &layout);
                c.validate();
                Node::Paxos(Box::new(zkserver::Server::new(sc, paxos::Paxos::new(c))))
            }
        }
    }
}

/// The factory building every process of the ensemble (first boot and restarts).
pub fn factory(s: &Scenario) -> Factory<Node> {
    let mut server = server_factory(s);
    let workloads = workload::of(s, &server_ids(s));
    let layout = Layout::with(s, &workloads);
    Box::new(move |pid| match layout.workload_of(pid) {
        Some((w, index)) => Node::Client(workloads[w].client(index)),
        None => server(pid),
    })
}

/// Election and commit figures of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EnsembleStats {
    /// Leaderless periods that ended with an established leader, ns each.
    pub election_ns: Vec<u64>,
    pub epochs: Vec<u32>,
    pub commits: u64,
    pub deliveries: u64,
    pub truncations: u64,
    pub snapshots_loaded: u64,
    /// Servers stranded by a newer accepted epoch at the last liveness check (see
    /// `EnsembleObserver::stuck_servers`).
    pub servers_stranded: u64,
}

/// Watches an ensemble: the protocol monitors after every event, statistics, and the
/// liveness condition.
pub struct EnsembleObserver {
    layout: Layout,
    monitors: Monitors,
    /// The client-visible history.
    pub history: HistoryRecorder,
    /// The workloads: their liveness conditions and, after the run, their checks.
    pub workloads: Vec<Box<dyn Workload>>,
    pub stats: EnsembleStats,
    leader: Option<ProcessId>,
    leaderless_since: Option<Time>,
    /// When the liveness phase's checks began (the heal).
    liveness_from: Option<Time>,
    /// Whether a server can be stranded by a newer accepted epoch (ZAB's behaviour; a Raft
    /// server of a newer term forces a new election instead, so it is never excused).
    strands: bool,
}

impl EnsembleObserver {
    pub fn new(layout: Layout, workloads: Vec<Box<dyn Workload>>) -> EnsembleObserver {
        assert_eq!(workloads.len(), layout.workloads.len());
        EnsembleObserver {
            layout,
            monitors: Monitors::new(),
            history: HistoryRecorder::new(),
            workloads,
            stats: EnsembleStats::default(),
            leader: None,
            leaderless_since: Some(Time::ZERO),
            liveness_from: None,
            strands: true,
        }
    }

    /// The observer of a run on `protocol` (see `strands`).
    pub fn on(mut self, protocol: Protocol) -> EnsembleObserver {
        self.strands = protocol == Protocol::Zab;
        self
    }

    fn lose_leader(&mut self, now: Time) {
        self.leader = None;
        self.leaderless_since.get_or_insert(now);
    }

    /// Which servers are not yet serving under one established leader, and why.
    ///
    /// One case is ZooKeeper's own behaviour, not a stuck server: a server that accepted a
    /// newer epoch from a leader that then failed refuses the established leader's older
    /// LEADERINFO (`Learner.registerWithLeader`: "Leaders epoch ... is less than accepted
    /// epoch") and keeps returning to LOOKING until the leader changes. While a quorum of
    /// voters serves under that leader, such a server is counted as *stranded* (a
    /// documented unavailability, figure `servers_stranded`) rather than reported as a
    /// liveness failure; without a serving quorum it is stuck like any other.
    fn stuck_servers(&self, procs: &dyn Procs<Node>, stuck: &mut Stuck) -> u64 {
        let leader = self.established_leader(procs);
        let leader_epoch = leader
            .and_then(|l| procs.get(l).and_then(Node::server))
            .map(|s| s.engine().current_epoch());
        let views: Vec<ServerView> = self
            .layout
            .servers()
            .map(|pid| {
                let voter = self.layout.voters.contains(&pid);
                let Some(s) = procs.get(pid).and_then(Node::server) else {
                    return ServerView {
                        pid,
                        voter,
                        serving: false,
                        stranded: false,
                        why: None,
                    };
                };
                let serving = leader.is_some()
                    && s.engine().phase() == Phase::Broadcast
                    && (s.engine().leader() == leader || Some(pid) == leader);
                let stranded =
                    self.strands && leader_epoch.is_some_and(|e| s.engine().accepted_epoch() > e);
                let why = (!serving).then(|| {
                    format!(
                        "{:?}/{:?} following {:?}",
                        s.engine().state(),
                        s.engine().phase(),
                        s.engine().leader()
                    )
                });
                ServerView {
                    pid,
                    voter,
                    serving,
                    stranded,
                    why,
                }
            })
            .collect();
        judge_servers(&views, stuck)
    }

    /// The one voter that is an established leader, if exactly one is.
    fn established_leader(&self, procs: &dyn Procs<Node>) -> Option<ProcessId> {
        let mut leaders = self.layout.voters.iter().copied().filter(|p| {
            procs
                .get(*p)
                .and_then(Node::server)
                .is_some_and(|s| s.engine().is_established_leader())
        });
        let first = leaders.next();
        if leaders.next().is_some() {
            return None;
        }
        first
    }

    /// Who is stuck after the heal (see [`Observer::liveness`]): servers, then each
    /// workload's clients.
    fn stuck(&mut self, now: Time, procs: &dyn Procs<Node>, stuck: &mut Stuck) -> Time {
        let since = *self.liveness_from.get_or_insert(now);
        self.stats.servers_stranded = self.stuck_servers(procs, stuck);
        let leader = self.layout.voters.iter().copied().find(|p| {
            procs
                .get(*p)
                .and_then(Node::server)
                .is_some_and(|s| s.engine().is_established_leader())
        });
        for (w, clients) in self.workloads.iter_mut().zip(&self.layout.workloads) {
            let world = World {
                procs,
                clients,
                leader,
                now,
            };
            w.liveness(&world, stuck);
        }
        since
    }
}

/// One server as the liveness check sees it.
struct ServerView {
    pid: ProcessId,
    voter: bool,
    /// In broadcast under the one established leader (or that leader).
    serving: bool,
    /// Accepted an epoch newer than the established leader's current epoch.
    stranded: bool,
    /// Why it is not serving (`None` when down).
    why: Option<String>,
}

/// Pushes the servers that are not serving onto `stuck` and returns how many are
/// stranded instead: not serving only because they accepted a newer epoch than the
/// established leader's, while a quorum of voters serves (ZooKeeper's behaviour, see
/// `EnsembleObserver::stuck_servers`). Without a serving quorum nobody is stranded.
fn judge_servers(views: &[ServerView], stuck: &mut Stuck) -> u64 {
    let voters = views.iter().filter(|v| v.voter).count();
    let serving = views.iter().filter(|v| v.voter && v.serving).count();
    assert!(
        serving <= voters,
        "serving voters {serving} > voters {voters}"
    );
    let quorum_serves = serving * 2 > voters;
    let mut stranded = 0u64;
    for v in views.iter().filter(|v| !v.serving) {
        match &v.why {
            None => stuck.push(v.pid, || "down".to_string()),
            Some(_) if v.stranded && quorum_serves => stranded += 1,
            Some(why) => stuck.push(v.pid, || why.clone()),
        }
    }
    assert!(stranded as usize + serving <= views.len());
    stranded
}

fn violation(v: MonitorViolation) -> Violation {
    Violation {
        check: v.monitor.to_string(),
        processes: v.processes,
        detail: v.detail,
    }
}

impl EnsembleObserver {
    /// The counts and the leader a note updates.
    fn count_note(&mut self, now: Time, pid: ProcessId, note: &Note) {
        match note {
            Note::Repl(Event::Established { epoch }) => {
                if let Some(since) = self.leaderless_since.take() {
                    self.stats.election_ns.push(now.since_ns(since));
                }
                self.leader = Some(pid);
                self.stats.epochs.push(epoch.0);
            }
            Note::Repl(Event::State { state, .. })
                if Some(pid) == self.leader && *state != ServerState::Leading =>
            {
                self.lose_leader(now)
            }
            Note::Repl(Event::Committed { .. }) => self.stats.commits += 1,
            Note::Repl(Event::Delivered { .. }) => self.stats.deliveries += 1,
            Note::Repl(Event::Truncated { .. }) => self.stats.truncations += 1,
            Note::Repl(Event::Reset { upto, .. }) if upto.0 > 0 => self.stats.snapshots_loaded += 1,
            _ => {}
        }
    }
}

impl Observer<Node> for EnsembleObserver {
    fn on_note(&mut self, now: Time, pid: ProcessId, note: Note) -> Result<(), Violation> {
        if let Some(ev) = zabmon::event(&note) {
            self.monitors.on_note(now, pid, &ev).map_err(violation)?;
            self.count_note(now, pid, &note);
        } else {
            // The history and the counts are apart: the order of the two is free.
            self.count_note(now, pid, &note);
            self.history.take_note(now, pid, note);
        }
        Ok(())
    }

    fn on_crash(&mut self, now: Time, pid: ProcessId) {
        if self.layout.servers().any(|s| s == pid) {
            self.monitors
                .on_note(now, pid, &ProtocolEvent::Crashed)
                .expect("a crash breaks no invariant");
        } else {
            // A client (the lock's, barrier's, group's and config's clients are fault
            // targets): its calls die with it.
            self.history.on_crash(now, pid);
        }
        if Some(pid) == self.leader {
            self.lose_leader(now);
        }
    }

    fn after_event(
        &mut self,
        now: Time,
        procs: &dyn Procs<Node>,
        touched: Option<ProcessId>,
    ) -> Result<(), Violation> {
        self.monitors
            .after_event(now, |pid| procs.get(pid).and_then(Node::server).map(ZabLog))
            .map_err(violation)?;
        for w in &mut self.workloads {
            w.after_event(procs, touched)?;
        }
        Ok(())
    }

    fn liveness(&mut self, now: Time, procs: &dyn Procs<Node>) -> Progress {
        let mut stuck = Stuck::new(true);
        let since = self.stuck(now, procs, &mut stuck);
        let stuck = stuck.list;
        if stuck.is_empty() {
            return Progress::Done;
        }
        let detail: Vec<String> = stuck.iter().map(|(p, why)| format!("{p}: {why}")).collect();
        Progress::Waiting(Violation {
            check: "Liveness".into(),
            processes: stuck.iter().map(|s| s.0).collect(),
            detail: format!("since the heal at {since}: {}", detail.join("; ")),
        })
    }

    fn leads(&self, pid: ProcessId, procs: &dyn Procs<Node>) -> bool {
        procs
            .get(pid)
            .and_then(Node::server)
            .is_some_and(|s| s.engine().is_leader())
    }

    fn liveness_met(&mut self, now: Time, procs: &dyn Procs<Node>) -> bool {
        let mut stuck = Stuck::new(false);
        self.stuck(now, procs, &mut stuck);
        stuck.list.is_empty()
    }
}

/// Run an ensemble scenario on a resolved kernel configuration.
pub fn run(s: &Scenario, kernel: KernelConfig) -> EnsembleRun {
    run_traced(s, kernel, None)
}

/// [`run`], recording the run's events into `trace` (if any).
pub fn run_traced(
    s: &Scenario,
    kernel: KernelConfig,
    trace: Option<Box<dyn kernel::tracelog::TraceSink>>,
) -> EnsembleRun {
    let workloads = workload::of(s, &server_ids(s));
    let mut observer =
        EnsembleObserver::new(Layout::with(s, &workloads), workloads).on(s.cluster.protocol());
    let namer = crate::notetext::zab_note_text;
    let mut outcome = run_traced_kernel(kernel, factory(s), &mut observer, trace, namer);
    let stats = observer.stats;
    let history_dropped = observer.history.dropped;
    let history = observer.history.finish();
    let mut check_figures = Vec::new();
    if outcome.verdict == Verdict::Pass && history_dropped > 0 {
        // The history is incomplete, so it cannot be judged: inconclusive, not a pass.
        outcome.verdict = Verdict::Budget {
            budget: "history".into(),
            detail: format!("{history_dropped} history events over the recorder's bound"),
        };
    }
    if outcome.verdict == Verdict::Pass {
        let j = crate::histcheck::judge(&history, &observer.workloads);
        check_figures = j.figures;
        if let Some(v) = j.violation {
            let end = Time(outcome.end_ns);
            outcome.verdict = Verdict::Safety(Finding::new(v, end, outcome.stats.events));
        } else if let Some(detail) = j.undecided {
            outcome.verdict = Verdict::Budget {
                budget: "checker".into(),
                detail,
            };
        }
    }
    let mut elections = stats.election_ns.clone();
    elections.sort_unstable();
    let median = elections.get(elections.len() / 2).copied().unwrap_or(0);
    let figures = vec![
        ("elections".to_string(), elections.len() as u64),
        ("election_ns_median".to_string(), median),
        (
            "election_ns_max".to_string(),
            elections.last().copied().unwrap_or(0),
        ),
        (
            "epoch_max".to_string(),
            stats.epochs.iter().copied().max().map_or(0, |e| e as u64),
        ),
        ("commits".to_string(), stats.commits),
        ("deliveries".to_string(), stats.deliveries),
        ("truncations".to_string(), stats.truncations),
        ("snapshots_loaded".to_string(), stats.snapshots_loaded),
        ("servers_stranded".to_string(), stats.servers_stranded),
        ("history_events".to_string(), history.len() as u64),
        ("history_dropped".to_string(), history_dropped),
    ];
    let mut figures = figures;
    figures.extend(check_figures);
    EnsembleRun {
        outcome,
        figures,
        stats,
        history,
    }
}

/// What an ensemble run produced.
pub struct EnsembleRun {
    pub outcome: Outcome,
    pub figures: Vec<(String, u64)>,
    pub stats: EnsembleStats,
    /// The client-visible history, in time order.
    pub history: Vec<proto::history::Event>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(pid: u32, voter: bool, serving: bool, stranded: bool) -> ServerView {
        let why = (!serving).then(|| format!("p{pid} looking"));
        ServerView {
            pid: ProcessId(pid),
            voter,
            serving,
            stranded,
            why,
        }
    }

    fn judge(views: &[ServerView]) -> (Vec<ProcessId>, u64) {
        let mut stuck = Stuck::new(true);
        let stranded = judge_servers(views, &mut stuck);
        (stuck.list.into_iter().map(|(p, _)| p).collect(), stranded)
    }

    #[test]
    fn a_newer_accepted_epoch_strands_a_minority_while_a_quorum_serves() {
        // zab-7-observers seed 167's shape: 5 of 7 voters serve, 2 accepted a newer epoch.
        let mut views: Vec<ServerView> = (0..5).map(|p| view(p, true, true, false)).collect();
        views.push(view(5, true, false, true));
        views.push(view(6, true, false, true));
        assert_eq!(judge(&views), (vec![], 2));
    }

    #[test]
    fn a_stranded_server_is_stuck_when_no_quorum_serves() {
        // 3 of 7 voters serve: the leader has no quorum, so nobody is merely stranded.
        let mut views: Vec<ServerView> = (0..3).map(|p| view(p, true, true, false)).collect();
        views.extend((3..7).map(|p| view(p, true, false, true)));
        let (stuck, stranded) = judge(&views);
        assert_eq!(stranded, 0);
        assert_eq!(stuck, (3..7).map(ProcessId).collect::<Vec<_>>());
    }

    #[test]
    fn a_server_not_serving_for_another_reason_is_stuck_even_beside_a_quorum() {
        let mut views: Vec<ServerView> = (0..4).map(|p| view(p, true, true, false)).collect();
        views.push(view(4, true, false, false)); // looking, no newer epoch
        views.push(view(5, false, false, true)); // stranded observer: counted
        let mut down = view(6, true, false, true);
        down.why = None; // down: stuck whatever its epoch
        views.push(down);
        assert_eq!(judge(&views), (vec![ProcessId(4), ProcessId(6)], 1));
    }
}
