//! A single register with read, write and compare-and-set (the etcd register of the
//! Jepsen / Porcupine histories). The initial value is nil (never written) unless set.

use sansio::mix64;
use serde::{Deserialize, Serialize};

use crate::lin::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterInput {
    Read,
    Write(i64),
    /// Set to `new` if the value is `expected`.
    Cas {
        expected: i64,
        new: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterOutput {
    /// The value read; `None` is nil (never written).
    Read(Option<i64>),
    Written,
    /// Whether the compare matched (and the swap happened).
    Cas(bool),
}

/// The register model. State: the current value, `None` for nil.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterModel {
    pub initial: Option<i64>,
}

const NIL_HASH: u64 = 0x6e69_6c00_6e69_6c00;

impl Model for RegisterModel {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        self.initial
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: &RegisterOutput,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, RegisterOutput::Read(value)) => {
                (value == state).then_some(*state)
            }
            (RegisterInput::Write(value), RegisterOutput::Written) => Some(Some(*value)),
            (RegisterInput::Cas { expected, new }, RegisterOutput::Cas(swapped)) => {
                let matches = *state == Some(*expected);
                match (matches, swapped) {
                    (true, true) => Some(Some(*new)),
                    (false, false) => Some(*state),
                    _ => None,
                }
            }
            _ => panic!("register output {output:?} does not answer input {input:?}"),
        }
    }

    fn step_unknown(&self, state: &Option<i64>, input: &RegisterInput) -> Option<Option<i64>> {
        match input {
            RegisterInput::Read => Some(*state),
            RegisterInput::Write(value) => Some(Some(*value)),
            RegisterInput::Cas { expected, new } => Some(if *state == Some(*expected) {
                Some(*new)
            } else {
                *state
            }),
        }
    }

    fn hash_state(&self, state: &Option<i64>) -> u64 {
        match state {
            None => NIL_HASH,
            Some(value) => mix64(*value as u64),
        }
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        match (input, output) {
            (RegisterInput::Read, _) => true,
            (RegisterInput::Cas { .. }, Some(RegisterOutput::Cas(swapped))) => !swapped,
            _ => false,
        }
    }

    fn unknown_is_noop(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_etcd_semantics() {
        let m = RegisterModel::default();
        let nil = m.init();
        assert_eq!(nil, None);
        assert_eq!(
            m.step(&nil, &RegisterInput::Read, &RegisterOutput::Read(None)),
            Some(None)
        );
        assert_eq!(
            m.step(&nil, &RegisterInput::Read, &RegisterOutput::Read(Some(0))),
            None
        );
        assert_eq!(
            m.step(&nil, &RegisterInput::Write(3), &RegisterOutput::Written),
            Some(Some(3))
        );
        let cas = RegisterInput::Cas {
            expected: 3,
            new: 1,
        };
        assert_eq!(
            m.step(&Some(3), &cas, &RegisterOutput::Cas(true)),
            Some(Some(1))
        );
        assert_eq!(m.step(&Some(3), &cas, &RegisterOutput::Cas(false)), None);
        assert_eq!(m.step(&nil, &cas, &RegisterOutput::Cas(true)), None);
        assert_eq!(m.step(&nil, &cas, &RegisterOutput::Cas(false)), Some(None));
        assert_eq!(m.step_unknown(&Some(3), &cas), Some(Some(1)));
        assert_eq!(m.step_unknown(&Some(2), &cas), Some(Some(2)));
        assert_eq!(
            m.step_unknown(&Some(2), &RegisterInput::Read),
            Some(Some(2))
        );
        assert_ne!(m.hash_state(&None), m.hash_state(&Some(0)));
    }
}
