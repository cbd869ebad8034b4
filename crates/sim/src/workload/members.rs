//! The group-membership workload (`[workload.members]`): members (`crate::memberproc`, role
//! `member`) join and leave `/group`, observers (role `observer`) keep a view of it. After
//! the heal every live member must have finished its cycles as a member, and every live
//! observer's settled view must equal the group in the established leader's tree (names
//! and data); the members checker (`check::members`) then judges the views: no phantom
//! member, an expired member out of every view by its deadline, the last views equal the
//! live members.
//!
//! The deadline for an expired member (see `check::members::MembersConfig`): from the
//! first commit at or after the later of the expiry and the heal, the session timeout
//! (within which an observer finds a serving server again, or learns its own session
//! expired) plus [`VIEW_BOUND_MS`].

use super::{ClientProcess, Stuck, Workload, World};
use crate::memberproc::{MemberClientConfig, MemberWorker, ObserverWorker};
use crate::scenario::{MembersWorkload, Scenario, WorkloadConfig};
use check::members::MembersConfig;
use kernel::observe::Violation;
use proto::history::{Event, ViewEntry};
use proto::{NS_PER_MS, ProcessId};

/// The group node.
pub const GROUP_PATH: &str = "/group";

/// Beyond the session timeout, what an observer may take to drop an expired member once
/// the ensemble commits again: the client's reconnection schedule past the timeout (the
/// 200 ms reconnect delay before each of the three servers), a new session's start (100 ms
/// renewal delay and its connect), then the child watch event and the observer's listing
/// and data reads — each a request round trip of a few ms, queued behind a server's
/// catching up after the heal. 1,000 ms covers all of it with room; the runs' figure
/// `members_expiry_removal_ms_max` shows what it took.
pub const VIEW_BOUND_MS: u64 = 1_000;

pub struct Members {
    members: u32,
    observers: u32,
    config: MemberClientConfig,
    checker: MembersConfig,
}

impl Members {
    pub fn new(s: &Scenario, m: &MembersWorkload, servers: &[ProcessId]) -> Members {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("a members workload needs a writes workload");
        };
        let config = MemberClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            group: GROUP_PATH.to_string(),
            name: String::new(),
            cycles: m.cycles,
            stay_ms: m.stay_ms,
            away_ms: m.away_ms,
        };
        let checker = MembersConfig {
            heal_ns: s.run.safety_ms * NS_PER_MS,
            session_timeout_ns: session_timeout_ms * NS_PER_MS,
            bound_ns: VIEW_BOUND_MS * NS_PER_MS,
        };
        Members {
            members: m.members,
            observers: m.observers,
            config,
            checker,
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

impl Workload for Members {
    fn clients(&self) -> u32 {
        self.members + self.observers
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(index < self.clients(), "client {index}");
        if index < self.members {
            "member"
        } else {
            "observer"
        }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(index < self.clients(), "client {index}");
        if index < self.members {
            let config = MemberClientConfig {
                name: format!("m{index}"),
                ..self.config.clone()
            };
            Box::new(MemberWorker::new(config))
        } else {
            let c = &self.config;
            Box::new(ObserverWorker::new(
                &c.servers,
                c.session_timeout_ms,
                GROUP_PATH,
            ))
        }
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients() as usize);
        let (members, observers) = world.clients.split_at(self.members as usize);
        assert_eq!(observers.len(), self.observers as usize);
        for &c in members {
            if let Some(w) = world.client::<MemberWorker>(c).filter(|w| !w.done()) {
                stuck.push(c, || w.explain());
            }
        }
        let Some(tree) = world.leader_tree() else {
            return; // the ensemble reports a missing leader
        };
        // The group as (name, data) borrowed from the tree.
        let mut path = String::new();
        let group: Vec<(&str, &[u8])> = tree
            .child_names(GROUP_PATH)
            .into_iter()
            .flatten()
            .map(|name| {
                path.clear();
                path.extend([GROUP_PATH, "/", name]);
                (name, tree.data(&path).expect("a listed child"))
            })
            .collect();
        assert!(
            group.windows(2).all(|w| w[0].0 < w[1].0),
            "children sorted by name"
        );
        for &c in observers {
            let Some(w) = world.client::<ObserverWorker>(c) else {
                continue;
            };
            if !w.settled_view().is_some_and(|v| same_view(v, &group)) {
                stuck.push(c, || {
                    let group = owned_view(&group);
                    let show = |v: &[ViewEntry]| {
                        v.iter()
                            .map(|e| format!("{}=\"{}\"", e.name, e.data))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    format!(
                        "observer view [{}]{}; the group is [{}]",
                        w.view().map_or_else(|| "none".into(), show),
                        if w.settled_view().is_some() {
                            ""
                        } else {
                            " (reading)"
                        },
                        show(&group)
                    )
                });
            }
        }
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history
            .iter()
            .any(|e| matches!(e, Event::Member(_) | Event::View(_)))
        {
            return None;
        }
        let r = check::members::check_members(history, &self.checker);
        let s = &r.stats;
        assert_eq!(
            r.is_ok(),
            r.violation().is_none(),
            "every finding is a violation"
        );
        for (name, value) in [
            ("members_joins", s.joins as u64),
            ("members_leaves", s.leaves as u64),
            ("members_expiries", s.expiries as u64),
            ("members_views", s.views as u64),
            ("members_view_convergence_ms_p50", ms(s.convergence_ns.p50)),
            ("members_view_convergence_ms_p99", ms(s.convergence_ns.p99)),
            ("members_view_convergence_ms_max", ms(s.convergence_ns.max)),
            ("members_expiry_removal_ms_max", ms(s.expiry_removal_ns.max)),
            (
                "members_expiry_removal_after_commit_ms_max",
                ms(s.expiry_removal_after_commit_ns_max),
            ),
        ] {
            figures.push((name.to_string(), value));
        }
        let f = r.violation()?;
        Some(Violation {
            check: "MembersInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}

/// The group's entries as a view: names, and data read as UTF-8 (lossily).
fn owned_view(group: &[(&str, &[u8])]) -> Vec<ViewEntry> {
    group
        .iter()
        .map(|&(name, data)| ViewEntry {
            name: name.to_string(),
            data: String::from_utf8_lossy(data).into_owned(),
        })
        .collect()
}

/// `view == owned_view(group)`, without building the owned view.
fn same_view(view: &[ViewEntry], group: &[(&str, &[u8])]) -> bool {
    view.len() == group.len()
        && view
            .iter()
            .zip(group)
            .all(|(e, &(name, data))| e.name == name && same_data(&e.data, data))
}

/// `seen == String::from_utf8_lossy(data)`: equal bytes are equal text (`seen` is UTF-8);
/// otherwise only the lossy reading can tell.
fn same_data(seen: &str, data: &[u8]) -> bool {
    seen.as_bytes() == data || seen == String::from_utf8_lossy(data)
}
