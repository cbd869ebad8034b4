//! The report's one error type: which input file (and line) was unreadable or malformed, or
//! which output could not be drawn or written.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a report could not be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// The file the problem is in (an input for reading errors, an output for writing).
    pub file: PathBuf,
    /// 1-based line in `file`, when the problem is at one.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub message: String,
}

impl ReportError {
    pub fn new(file: &Path, message: impl Into<String>) -> ReportError {
        ReportError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at_line(file: &Path, line: usize, message: impl Into<String>) -> ReportError {
        assert!(line >= 1, "lines are 1-based");
        ReportError {
            line: Some(line),
            ..ReportError::new(file, message)
        }
    }

    /// A JSON error in `file`, with serde_json's line and column (0 = unknown).
    pub fn json(file: &Path, e: &serde_json::Error) -> ReportError {
        let known = |n: usize| (n > 0).then_some(n);
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = text.strip_suffix(&suffix).unwrap_or(&text);
        ReportError {
            line: known(e.line()),
            column: known(e.column()),
            ..ReportError::new(file, message)
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ReportError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_column() {
        let e = ReportError::at_line(Path::new("d/history.jsonl"), 7, "bad");
        assert_eq!(e.to_string(), "d/history.jsonl:7: bad");
        let e = ReportError::new(Path::new("d/outcome.json"), "missing");
        assert_eq!(e.to_string(), "d/outcome.json: missing");
        let err = serde_json::from_str::<u64>("\n  x").unwrap_err();
        let e = ReportError::json(Path::new("o.json"), &err);
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with("o.json:2:3: "), "{e}");
        assert!(!e.to_string().contains("at line"), "{e}");
    }
}
