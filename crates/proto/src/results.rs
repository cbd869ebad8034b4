//! The result line of one fuzzed seed (`zabsim fuzz --results FILE.jsonl`): what `fuzz`
//! writes, `merge` combines and `report` charts. Plain data with a strict JSON form (unknown
//! fields are rejected), shared here so that the readers need not depend on the command line.

use serde::{Deserialize, Serialize};

/// One seed's result line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedResult {
    pub seed: u64,
    /// `pass`, `safety`, `liveness`, `budget` or `panic` (`input` when the scenario could
    /// not be run; `regression-moved` when a regression seed of an unmodified scenario ran
    /// to another trace hash than `regressions.txt` pins; `merge` writes `nondeterminism`
    /// for copies that disagree).
    pub verdict: String,
    pub trace_hash: String,
    pub detail: Option<String>,
    pub events: u64,
    pub figures: Vec<(String, u64)>,
    /// A seed from `regressions.txt`, replayed before the sweep.
    pub regression: bool,
    /// For a seed that did not pass: the line that reproduces it.
    #[serde(default)]
    pub repro: Option<String>,
    /// The scenario the seed ran: its name and where it came from (`ci (scenarios/ci.toml)`),
    /// so a results file, a merge of shards and a sweep report say what was swept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

impl SeedResult {
    /// The value of figure `name`, if the run reported it.
    pub fn figure(&self, name: &str) -> Option<u64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"seed":7,"verdict":"safety","trace_hash":"00000000000000ab","detail":"x","events":12,"figures":[["elections",2]],"regression":false,"repro":"zabsim replay --seed 7"}"#;

    #[test]
    fn a_line_round_trips_and_names_its_figures() {
        let r: SeedResult = serde_json::from_str(LINE).unwrap();
        assert_eq!((r.seed, r.verdict.as_str(), r.events), (7, "safety", 12));
        assert_eq!(r.figure("elections"), Some(2));
        assert_eq!(r.figure("commits"), None);
        assert_eq!(serde_json::to_string(&r).unwrap(), LINE);
    }

    #[test]
    fn unknown_fields_are_rejected_and_repro_may_be_missing() {
        let extra = LINE.replace("\"events\"", "\"bogus\":1,\"events\"");
        let e = serde_json::from_str::<SeedResult>(&extra).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let without = LINE.replace(",\"repro\":\"zabsim replay --seed 7\"", "");
        let r: SeedResult = serde_json::from_str(&without).unwrap();
        assert_eq!(r.repro, None);
    }
}
