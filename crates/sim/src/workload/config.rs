//! The config workload (`[workload.config]`): a config publisher (`crate::configproc`,
//! client index 0, role `publisher`) sets `/config` to versions 1..=updates and posts
//! numbered messages to `/mailbox`; subscribers (role `subscriber`) follow both by watches.
//! After the heal the publisher must have published everything and every live subscriber
//! must hold the final version and have processed every message; the config checker
//! (`check::config`) then judges monotone versions, convergence within its bound after
//! the heal, and in-order, gap-free messages, and reports the versions each subscriber
//! missed (allowed: watches are one-shot) as figures.

use super::{ClientProcess, Stuck, Workload, World};
use crate::configproc::{ConfigClientConfig, ConfigPublisher, ConfigSubscriber};
use crate::scenario::{BugName, ConfigWorkload, Scenario, WorkloadConfig};
use check::config::{ConfigSpec, check_config};
use kernel::observe::Violation;
use proto::history::Event;
use proto::{NS_PER_MS, ProcessId};

/// The config node the config workload uses.
pub const CONFIG_PATH: &str = "/config";
/// The mailbox whose sequential children are the messages.
pub const MAILBOX_PATH: &str = "/mailbox";

pub struct Config {
    subscribers: u32,
    config: ConfigClientConfig,
    servers: Vec<ProcessId>,
    heal_ns: u64,
    session_timeout_ns: u64,
    /// The start of the ensemble's current stretch of health (an established leader, no
    /// server stuck), as the liveness checks after the heal saw it.
    ready_since_ns: Option<u64>,
}

impl Config {
    pub fn new(s: &Scenario, c: &ConfigWorkload, servers: &[ProcessId]) -> Config {
        let WorkloadConfig::Writes {
            session_timeout_ms, ..
        } = s.workload
        else {
            panic!("a config workload needs a writes workload");
        };
        let config = ConfigClientConfig {
            servers: servers.to_vec(),
            session_timeout_ms: u32::try_from(session_timeout_ms).expect("validated"),
            config: CONFIG_PATH.to_string(),
            mailbox: MAILBOX_PATH.to_string(),
            updates: c.updates,
            messages: c.messages,
            interval_ms: c.interval_ms,
            burst: c.burst,
            apply_ms: c.apply_ms,
            read_then_watch: s.zab.bugs.contains(&BugName::ConfigReadThenWatch),
        };
        Config {
            subscribers: c.subscribers,
            config,
            servers: servers.to_vec(),
            heal_ns: s.run.safety_ms * NS_PER_MS,
            session_timeout_ns: session_timeout_ms * NS_PER_MS,
            ready_since_ns: None,
        }
    }

    fn spec(&self) -> ConfigSpec {
        ConfigSpec {
            updates: self.config.updates,
            messages: self.config.messages,
            heal_ns: self.heal_ns,
            ready_ns: self.ready_since_ns,
            converge_ns_max: ConfigSpec::converge_ns_max_for(self.session_timeout_ns),
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

impl Workload for Config {
    fn clients(&self) -> u32 {
        self.subscribers + 1
    }

    fn role(&self, index: u32) -> &'static str {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index == 0 {
            "publisher"
        } else {
            "subscriber"
        }
    }

    fn client(&self, index: u32) -> Box<dyn ClientProcess> {
        assert!(
            index < self.clients(),
            "client {index} of {}",
            self.clients()
        );
        if index == 0 {
            Box::new(ConfigPublisher::new(self.config.clone()))
        } else {
            Box::new(ConfigSubscriber::new(self.config.clone()))
        }
    }

    fn liveness(&mut self, world: &World<'_>, stuck: &mut Stuck) {
        assert_eq!(world.clients.len(), self.clients() as usize);
        // The servers were judged first: none of them on the list means all serve.
        let ready =
            world.leader.is_some() && !stuck.list.iter().any(|(p, _)| self.servers.contains(p));
        self.ready_since_ns = match (ready, self.ready_since_ns) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(world.now.ns()),
            (false, _) => None,
        };
        let publisher = world.clients[0];
        if let Some(p) = world
            .client::<ConfigPublisher>(publisher)
            .filter(|p| !p.done())
        {
            stuck.push(publisher, || p.explain());
        }
        for &c in &world.clients[1..] {
            if let Some(s) = world.client::<ConfigSubscriber>(c).filter(|s| !s.done()) {
                stuck.push(c, || s.explain());
            }
        }
    }

    fn judge(&self, history: &[Event], figures: &mut Vec<(String, u64)>) -> Option<Violation> {
        if !history.iter().any(|e| matches!(e, Event::Config(_))) {
            return None;
        }
        let spec = self.spec();
        assert!(
            spec.ready_ns.is_none_or(|t| t >= spec.heal_ns),
            "readiness is noted after the heal"
        );
        let r = check_config(history, &spec);
        assert_eq!(
            r.stats.subscribers.len() as u32,
            self.subscribers,
            "every subscriber reported its start"
        );
        let s = &r.stats;
        let missed: u64 = s.subscribers.iter().map(|x| x.versions_missed).sum();
        let delivered: u64 = s.subscribers.iter().map(|x| x.delivered).sum();
        for (name, value) in [
            ("config_updates", s.updates_published),
            ("config_messages", s.messages_published),
            ("config_versions_missed", missed),
            ("config_messages_delivered", delivered),
            ("config_propagation_ms_p50", ms(s.propagation_ns.p50)),
            ("config_propagation_ms_p99", ms(s.propagation_ns.p99)),
            ("config_propagation_ms_max", ms(s.propagation_ns.max)),
            ("config_converge_ms_p50", ms(s.converge_ns.p50)),
            ("config_converge_ms_max", ms(s.converge_ns.max)),
            ("config_converge_bound_ms", ms(spec.converge_ns_max)),
        ] {
            figures.push((name.to_string(), value));
        }
        for (i, sub) in s.subscribers.iter().enumerate() {
            let n = i + 1;
            figures.push((
                format!("config_subscriber_{n}_versions_seen"),
                sub.versions_seen,
            ));
            figures.push((
                format!("config_subscriber_{n}_versions_missed"),
                sub.versions_missed,
            ));
        }
        let f = r.violation()?;
        Some(Violation {
            check: "ConfigInvariant".to_string(),
            processes: Vec::new(),
            detail: f.render(history),
        })
    }
}
