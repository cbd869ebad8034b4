//! What a linearizability check returns: the verdict, the explanation of a failure, the
//! search budget and the search statistics.

use std::fmt::{Debug, Write as _};

use serde::{Deserialize, Serialize};

use super::history::Operation;

/// Limits on one `check` call, summed over all partitions. When either is exceeded the
/// check ends with `Verdict::Unknown` instead of exhausting time or memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Search iterations (each tries one operation or backtracks once).
    pub max_steps: u64,
    /// Approximate bytes held by the visited-configuration caches.
    pub max_cache_bytes: u64,
}

impl Budget {
    /// No step limit; the cache may grow to 1 GiB.
    pub const DEFAULT: Budget = Budget {
        max_steps: u64::MAX,
        max_cache_bytes: 1 << 30,
    };

    pub const fn steps(max_steps: u64) -> Budget {
        Budget {
            max_steps,
            max_cache_bytes: Budget::DEFAULT.max_cache_bytes,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::DEFAULT
    }
}

/// Which budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exhausted {
    Steps,
    CacheBytes,
}

/// Why a history is not linearizable, for one failing partition.
///
/// `prefix` is the longest sequence of operations the search managed to linearize (in
/// linearization order); `stuck` are the operations that were allowed to come next by
/// real time but could not be linearized there (the model refused them in
/// `state_after_prefix`, or every continuation through them failed). All operations are
/// indices into the checked history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The failing partition (index into `Model::partition`'s result).
    pub partition: usize,
    /// All operations of the failing partition, in call order.
    pub partition_ops: Vec<usize>,
    pub prefix: Vec<usize>,
    /// `Debug` rendering of the model state after `prefix`.
    pub state_after_prefix: String,
    pub stuck: Vec<usize>,
}

impl Explanation {
    /// Human-readable rendering against the checked history.
    pub fn render<I: Debug, O: Debug>(&self, history: &[Operation<I, O>]) -> String {
        let mut text = String::new();
        let describe = |index: usize| {
            let op = &history[index];
            let output = match &op.output {
                Some(output) => format!("{output:?}"),
                None => "unknown".to_string(),
            };
            let returned = match op.return_time {
                Some(time) => time.to_string(),
                None => "never".to_string(),
            };
            format!(
                "#{index} client {} {:?} -> {output} [{} .. {returned}]",
                op.client_id, op.input, op.call_time
            )
        };
        let _ = writeln!(
            text,
            "partition {} ({} ops): longest linearizable prefix has {} ops",
            self.partition,
            self.partition_ops.len(),
            self.prefix.len()
        );
        for &index in &self.prefix {
            let _ = writeln!(text, "  {}", describe(index));
        }
        let _ = writeln!(text, "state after prefix: {}", self.state_after_prefix);
        let _ = writeln!(text, "could not linearize next:");
        for &index in &self.stuck {
            let _ = writeln!(text, "  {}", describe(index));
        }
        text
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Box<Explanation>),
    /// The budget ran out before the search decided.
    Unknown(Exhausted),
}

impl Verdict {
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }

    pub fn is_violation(&self) -> bool {
        matches!(self, Verdict::NotLinearizable(_))
    }

    pub fn explanation(&self) -> Option<&Explanation> {
        match self {
            Verdict::NotLinearizable(explanation) => Some(explanation),
            _ => None,
        }
    }
}

/// Search statistics, summed over the partitions that were searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub partitions: u64,
    /// Operations the search considered (after dropping unconstraining ones).
    pub ops_searched: u64,
    /// Operations dropped because they constrain nothing (`Model::unknown_is_noop`).
    pub ops_dropped: u64,
    pub steps: u64,
    pub model_steps: u64,
    pub cache_entries: u64,
    pub cache_bytes: u64,
    pub max_depth: u64,
}
