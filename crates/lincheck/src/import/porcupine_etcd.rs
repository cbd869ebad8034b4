//! Parser for the Jepsen etcd logs in Porcupine's test data (`jepsen/etcd_NNN.log`):
//! lines `INFO  jepsen.util - <process>\t<:type>\t<:f>\t<value>` on one register.
//!
//! Semantics (anchors README §4, as Porcupine's own parser): `:ok` completes an operation
//! with its result; `:fail :cas` completes a compare-and-set whose compare did not match;
//! `:fail :read :timed-out` completes a read with an unknown result; every other
//! completion (`:info`, `:fail :write`, ...) leaves the invocation pending to the end of
//! the history with an unknown result. Times are line positions.

use std::collections::BTreeMap;

use sansio::Time;

use super::ParseError;
use crate::lin::Operation;
use crate::models::register::{RegisterInput, RegisterOutput};

pub type EtcdOperation = Operation<RegisterInput, RegisterOutput>;

/// One parsed log line.
struct Line<'a> {
    process: u64,
    kind: &'a str,
    function: &'a str,
    value: String,
}

fn split_line(text: &str, line: usize) -> Result<Line<'_>, ParseError> {
    let Some(start) = text.find("jepsen.util") else {
        return Err(ParseError::new(line, "not a jepsen.util line"));
    };
    let rest = &text[start + "jepsen.util".len()..];
    let Some(rest) = rest.trim_start().strip_prefix('-') else {
        return Err(ParseError::new(line, "missing '-' after jepsen.util"));
    };
    let mut tokens = rest.split_whitespace();
    let process = tokens
        .next()
        .ok_or_else(|| ParseError::new(line, "missing process"))?
        .parse::<u64>()
        .map_err(|e| ParseError::new(line, format!("bad process: {e}")))?;
    let kind = tokens
        .next()
        .ok_or_else(|| ParseError::new(line, "missing type"))?;
    let function = tokens
        .next()
        .ok_or_else(|| ParseError::new(line, "missing function"))?;
    let value: Vec<&str> = tokens.collect();
    if value.is_empty() {
        return Err(ParseError::new(line, "missing value"));
    }
    Ok(Line {
        process,
        kind,
        function,
        value: value.join(" "),
    })
}

fn parse_int(text: &str, line: usize) -> Result<i64, ParseError> {
    text.parse::<i64>()
        .map_err(|e| ParseError::new(line, format!("bad integer {text:?}: {e}")))
}

fn parse_pair(text: &str, line: usize) -> Result<(i64, i64), ParseError> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| ParseError::new(line, format!("expected [a b], got {text:?}")))?;
    let parts: Vec<&str> = inner.split_whitespace().collect();
    if parts.len() != 2 {
        return Err(ParseError::new(
            line,
            format!("expected two values in {text:?}"),
        ));
    }
    Ok((parse_int(parts[0], line)?, parse_int(parts[1], line)?))
}

fn parse_input(function: &str, value: &str, line: usize) -> Result<RegisterInput, ParseError> {
    match function {
        ":read" => Ok(RegisterInput::Read),
        ":write" => Ok(RegisterInput::Write(parse_int(value, line)?)),
        ":cas" => {
            let (expected, new) = parse_pair(value, line)?;
            Ok(RegisterInput::Cas { expected, new })
        }
        other => Err(ParseError::new(line, format!("unknown function {other}"))),
    }
}

/// Parse a whole log. Operations come out in invocation order.
pub fn parse(text: &str) -> Result<Vec<EtcdOperation>, ParseError> {
    let mut ops: Vec<EtcdOperation> = Vec::new();
    // Process → index in `ops` of its in-flight invocation. Lookups only.
    let mut in_flight: BTreeMap<u64, usize> = BTreeMap::new();
    for (line_index, raw) in text.lines().enumerate() {
        let line = line_index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let parsed = split_line(raw, line)?;
        let now = Time(line as u64);
        if parsed.kind == ":invoke" {
            let input = parse_input(parsed.function, &parsed.value, line)?;
            // A process that invokes again leaves any earlier invocation pending.
            in_flight.insert(parsed.process, ops.len());
            ops.push(Operation::pending(parsed.process, now, input));
            continue;
        }
        let Some(index) = in_flight.remove(&parsed.process) else {
            return Err(ParseError::new(
                line,
                format!(
                    "{} for process {} with nothing in flight",
                    parsed.kind, parsed.process
                ),
            ));
        };
        let op = &mut ops[index];
        let expected_function = match op.input {
            RegisterInput::Read => ":read",
            RegisterInput::Write(_) => ":write",
            RegisterInput::Cas { .. } => ":cas",
        };
        if parsed.function != expected_function {
            return Err(ParseError::new(
                line,
                format!(
                    "{} completes {} but {expected_function} is in flight",
                    parsed.kind, parsed.function
                ),
            ));
        }
        let output = match (parsed.kind, op.input) {
            (":ok", RegisterInput::Read) => {
                let value = if parsed.value == "nil" {
                    None
                } else {
                    Some(parse_int(&parsed.value, line)?)
                };
                Some(RegisterOutput::Read(value))
            }
            (":ok", RegisterInput::Write(written)) => {
                if parse_int(&parsed.value, line)? != written {
                    return Err(ParseError::new(line, "write completes with another value"));
                }
                Some(RegisterOutput::Written)
            }
            (":ok" | ":fail", RegisterInput::Cas { expected, new }) => {
                if parse_pair(&parsed.value, line)? != (expected, new) {
                    return Err(ParseError::new(line, "cas completes with other arguments"));
                }
                Some(RegisterOutput::Cas(parsed.kind == ":ok"))
            }
            (":fail", RegisterInput::Read) if parsed.value == ":timed-out" => {
                // Completed, result unknown: it constrains nothing.
                op.return_time = Some(now);
                None
            }
            (":fail" | ":info", _) => None, // stays pending, result unknown
            (other, _) => return Err(ParseError::new(line, format!("unknown type {other}"))),
        };
        if let Some(output) = output {
            op.return_time = Some(now);
            op.output = Some(output);
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_completion_kinds() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]\n\
                   INFO  jepsen.util - 2\t:invoke\t:write\t4\n\
                   INFO  jepsen.util - 0\t:ok\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]\n\
                   INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n\
                   INFO  jepsen.util - 3   :invoke   :read   nil\n\
                   INFO  jepsen.util - 3   :fail   :read   :timed-out\n\
                   \n\
                   INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 0\t:ok\t:cas\t[1 2]\n";
        let ops = parse(log).unwrap();
        assert_eq!(ops.len(), 5);
        assert_eq!(ops[0].output, Some(RegisterOutput::Read(None)));
        assert_eq!(ops[0].return_time, Some(Time(4)));
        assert_eq!(ops[1].output, Some(RegisterOutput::Cas(false)));
        assert!(ops[2].is_pending() && ops[2].output.is_none());
        assert_eq!(ops[3].return_time, Some(Time(8)));
        assert_eq!(ops[3].output, None);
        assert_eq!(
            ops[4].input,
            RegisterInput::Cas {
                expected: 1,
                new: 2
            }
        );
        assert_eq!(ops[4].output, Some(RegisterOutput::Cas(true)));
    }

    #[test]
    fn errors_carry_line_numbers() {
        let bad =
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t3\n";
        assert_eq!(parse(bad).unwrap_err().line, 2);
        let orphan = "INFO  jepsen.util - 5\t:ok\t:read\t1\n";
        assert_eq!(parse(orphan).unwrap_err().line, 1);
        let garbage = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nhello\n";
        assert_eq!(parse(garbage).unwrap_err().line, 2);
        let bad_int = "INFO  jepsen.util - 0\t:invoke\t:write\tx\n";
        assert_eq!(
            parse(bad_int).unwrap_err(),
            ParseError::new(1, "bad integer \"x\": invalid digit found in string")
        );
    }
}
