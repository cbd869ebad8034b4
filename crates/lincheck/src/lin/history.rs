//! The history representation the linearizability engine reads: one `Operation` per
//! client call, with closed real-time intervals and optional (unknown) results.

use sansio::Time;
use serde::{Deserialize, Serialize};

/// One client operation as observed from outside the system.
///
/// The interval `[call_time, return_time]` is closed: an operation returning at `t` and
/// another called at `t` overlap (either may be linearized first). A pending operation
/// (`return_time == None`) never returned: it completes at +infinity and may take effect
/// at any point after its call, or not at all. An unknown `output` (`None`) means the
/// result was never observed (a timed-out read, a lost connection); the model decides
/// what the operation may do then (`Model::step_unknown`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation<I, O> {
    /// Who issued the operation (a Jepsen process, a ZooKeeper session). Informational:
    /// the engine orders operations by real time only.
    pub client_id: u64,
    pub call_time: Time,
    /// `None`: the operation is pending (never returned).
    pub return_time: Option<Time>,
    pub input: I,
    /// `None`: the result is unknown.
    pub output: Option<O>,
}

impl<I, O> Operation<I, O> {
    /// A completed operation with a known result.
    pub fn complete(
        client_id: u64,
        call_time: Time,
        return_time: Time,
        input: I,
        output: O,
    ) -> Self {
        assert!(
            call_time <= return_time,
            "operation returns before it is called"
        );
        Operation {
            client_id,
            call_time,
            return_time: Some(return_time),
            input,
            output: Some(output),
        }
    }

    /// A pending operation: called, never returned, result unknown.
    pub fn pending(client_id: u64, call_time: Time, input: I) -> Self {
        Operation {
            client_id,
            call_time,
            return_time: None,
            input,
            output: None,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.return_time.is_none()
    }

    /// The return time with "pending" mapped to +infinity.
    pub fn return_time_or_max(&self) -> Time {
        self.return_time.unwrap_or(Time::MAX)
    }
}

/// Panics unless every operation's interval is well formed (`call_time <= return_time`).
/// A malformed history is a bug in whatever recorded it, not a consistency violation.
pub fn assert_well_formed<I, O>(history: &[Operation<I, O>]) {
    for (index, op) in history.iter().enumerate() {
        if let Some(return_time) = op.return_time {
            assert!(
                op.call_time <= return_time,
                "operation {index} returns at {return_time} before its call at {}",
                op.call_time
            );
        }
    }
}
