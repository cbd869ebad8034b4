//! Importers for histories recorded by other tools: Porcupine's Jepsen etcd logs
//! (`porcupine_etcd`) and its key-value histories (`porcupine_kv`).

pub mod porcupine_etcd;
pub mod porcupine_kv;

use std::fmt;

/// A parse failure at a 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}
