//! One candidate run of a shrink and what it showed: how it failed (its [`Signature`]:
//! verdict and check), the figures the summary prints, and the fault schedule the seed drew
//! (what the explicit script is made of). A panic inside the run is caught: it is that
//! candidate's outcome (the caller keeps the panic hook quiet meanwhile).

use kernel::fault::Scheduled;
use kernel::observe::Verdict;
use sim::scenario::{Loaded, Scenario};

/// How a run failed: its verdict name and the check that broke (`panic` for a panic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub verdict: String,
    pub check: String,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verdict.to_uppercase(), self.check)
    }
}

/// What one run showed: its failure (if any) and the figures of the summary.
#[derive(Clone, Debug)]
pub struct Trial {
    pub signature: Option<Signature>,
    /// The finding, budget or panic message; empty for a pass.
    pub detail: String,
    /// `pass`, `safety`, `liveness`, `budget` or `panic`.
    pub verdict: String,
    pub hash: u64,
    /// When a safety or liveness finding was made, ns.
    pub finding_ns: Option<u64>,
    /// The faults the run scheduled (what the seed drew, or the script).
    pub schedule: Vec<Scheduled>,
    pub faults_applied: usize,
    pub events: u64,
    pub end_ns: u64,
}

impl Trial {
    pub fn of(r: &sim::run::RunReport) -> Trial {
        let o = &r.outcome;
        let finding = o.verdict.finding();
        Trial {
            signature: finding.map(|f| Signature {
                verdict: o.verdict.name().to_string(),
                check: f.check.clone(),
            }),
            detail: match &o.verdict {
                Verdict::Budget { budget, detail } => format!("{budget} budget: {detail}"),
                v => v.finding().map_or(String::new(), |f| f.to_string()),
            },
            verdict: o.verdict.name().to_string(),
            hash: o.trace_hash,
            finding_ns: finding.map(|f| f.at_ns),
            schedule: r.schedule.clone(),
            faults_applied: o.faults.len(),
            events: o.stats.events,
            end_ns: o.end_ns,
        }
    }

    pub fn panicked(message: String, schedule: Vec<Scheduled>) -> Trial {
        Trial {
            signature: Some(Signature {
                verdict: "panic".into(),
                check: "panic".into(),
            }),
            detail: message,
            verdict: "panic".into(),
            hash: 0,
            finding_ns: None,
            schedule,
            faults_applied: 0,
            events: 0,
            end_ns: 0,
        }
    }
}

/// Run `scenario` (loaded from `origin`) with `seed`; a panic inside the run is caught.
/// `Err` when the scenario cannot be resolved for the seed.
pub fn trial(scenario: &Scenario, origin: &str, seed: u64) -> Result<Trial, String> {
    let loaded = Loaded {
        scenario: scenario.clone(),
        origin: origin.to_string(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim::run::run(&loaded, seed)
    }));
    match result {
        Ok(Ok(r)) => Ok(Trial::of(&r)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            let message = crate::judge::panic_message(panic.as_ref());
            // The schedule the run would have applied, for the explicit script.
            let schedule = sim::run::kernel_config(&loaded, seed)
                .map(|(k, _)| k.schedule)
                .unwrap_or_default();
            Ok(Trial::panicked(message, schedule))
        }
    }
}
