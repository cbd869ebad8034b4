//! Parser for Porcupine's key-value histories (`kv/cNN-{ok,bad}.txt`): one EDN map a line,
//! `{:process 0, :type :invoke, :f :get, :key "k", :value nil}`.
//!
//! `:ok` completes the process's in-flight operation (a get with the value read), `:fail`
//! means it did not happen (it is dropped), `:info` leaves it pending with an unknown
//! result. Times are line positions.

use std::collections::BTreeMap;

use sansio::Time;

use super::ParseError;
use crate::lin::Operation;
use crate::models::kv::{KvInput, KvOutput, Text};

pub type KvOperation = Operation<KvInput, KvOutput>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Nil,
    Int(i64),
    Keyword(String),
    Str(String),
}

/// Parse `{:k v, :k v, ...}` with integer, keyword, nil and string values.
fn parse_map(text: &str, line: usize) -> Result<BTreeMap<String, Value>, ParseError> {
    let err = |message: String| ParseError::new(line, message);
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| err("expected {...}".to_string()))?;
    let chars: Vec<char> = inner.chars().collect();
    let mut map = BTreeMap::new();
    let mut at = 0usize;
    let skip_blank = |at: &mut usize| {
        while *at < chars.len() && (chars[*at].is_whitespace() || chars[*at] == ',') {
            *at += 1;
        }
    };
    let read_atom = |at: &mut usize| {
        let start = *at;
        while *at < chars.len() && !chars[*at].is_whitespace() && chars[*at] != ',' {
            *at += 1;
        }
        chars[start..*at].iter().collect::<String>()
    };
    // Each pass consumes at least one character or returns.
    for _pair in 0..=chars.len() {
        skip_blank(&mut at);
        if at >= chars.len() {
            return Ok(map);
        }
        let key = read_atom(&mut at);
        let Some(key) = key.strip_prefix(':') else {
            return Err(err(format!("expected a :keyword, got {key:?}")));
        };
        skip_blank(&mut at);
        if at >= chars.len() {
            return Err(err(format!("missing value for :{key}")));
        }
        let value = if chars[at] == '"' {
            at += 1;
            let mut text = String::new();
            let mut closed = false;
            for _char in 0..chars.len() {
                let Some(&c) = chars.get(at) else {
                    return Err(err("unterminated string".to_string()));
                };
                at += 1;
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        let Some(&escaped) = chars.get(at) else {
                            return Err(err("unterminated escape".to_string()));
                        };
                        at += 1;
                        text.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                    other => text.push(other),
                }
            }
            if !closed {
                return Err(err("unterminated string".to_string()));
            }
            Value::Str(text)
        } else {
            let atom = read_atom(&mut at);
            if atom == "nil" {
                Value::Nil
            } else if let Some(keyword) = atom.strip_prefix(':') {
                Value::Keyword(keyword.to_string())
            } else {
                Value::Int(
                    atom.parse()
                        .map_err(|e| err(format!("bad value {atom:?}: {e}")))?,
                )
            }
        };
        if map.insert(key.to_string(), value).is_some() {
            return Err(err(format!("duplicate key :{key}")));
        }
    }
    unreachable!("the pair loop consumes input every pass")
}

fn field<'m>(
    map: &'m BTreeMap<String, Value>,
    name: &str,
    line: usize,
) -> Result<&'m Value, ParseError> {
    map.get(name)
        .ok_or_else(|| ParseError::new(line, format!("missing :{name}")))
}

fn keyword<'m>(
    map: &'m BTreeMap<String, Value>,
    name: &str,
    line: usize,
) -> Result<&'m str, ParseError> {
    match field(map, name, line)? {
        Value::Keyword(k) => Ok(k),
        other => Err(ParseError::new(
            line,
            format!(":{name} must be a keyword, got {other:?}"),
        )),
    }
}

fn string<'m>(
    map: &'m BTreeMap<String, Value>,
    name: &str,
    line: usize,
) -> Result<&'m str, ParseError> {
    match field(map, name, line)? {
        Value::Str(s) => Ok(s),
        other => Err(ParseError::new(
            line,
            format!(":{name} must be a string, got {other:?}"),
        )),
    }
}

/// Parse a whole history. Operations come out in invocation order (failed ones removed).
pub fn parse(text: &str) -> Result<Vec<KvOperation>, ParseError> {
    let mut ops: Vec<Option<KvOperation>> = Vec::new();
    let mut in_flight: BTreeMap<u64, usize> = BTreeMap::new();
    for (line_index, raw) in text.lines().enumerate() {
        let line = line_index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let map = parse_map(raw, line)?;
        let process = match field(&map, "process", line)? {
            Value::Int(p) if *p >= 0 => *p as u64,
            other => {
                return Err(ParseError::new(
                    line,
                    format!(":process must be a natural, got {other:?}"),
                ));
            }
        };
        let kind = keyword(&map, "type", line)?;
        let function = keyword(&map, "f", line)?;
        let key = Text::new(string(&map, "key", line)?);
        let now = Time(line as u64);
        if kind == "invoke" {
            let input = match function {
                "get" => KvInput::Get { key },
                "put" => KvInput::Put {
                    key,
                    value: Text::new(string(&map, "value", line)?),
                },
                "append" => KvInput::Append {
                    key,
                    value: Text::new(string(&map, "value", line)?),
                },
                other => return Err(ParseError::new(line, format!("unknown function :{other}"))),
            };
            in_flight.insert(process, ops.len());
            ops.push(Some(Operation::pending(process, now, input)));
            continue;
        }
        let Some(index) = in_flight.remove(&process) else {
            return Err(ParseError::new(
                line,
                format!(":{kind} for process {process} with nothing in flight"),
            ));
        };
        let op = ops[index]
            .as_mut()
            .expect("in-flight operations are present");
        let same_call = match &op.input {
            KvInput::Get { key: k } => function == "get" && *k == key,
            KvInput::Put { key: k, .. } => function == "put" && *k == key,
            KvInput::Append { key: k, .. } => function == "append" && *k == key,
        };
        if !same_call {
            return Err(ParseError::new(
                line,
                format!(":{kind} :{function} does not match the invocation"),
            ));
        }
        match kind {
            "ok" => {
                op.return_time = Some(now);
                op.output = Some(match op.input {
                    KvInput::Get { .. } => KvOutput::Value(Text::new(string(&map, "value", line)?)),
                    KvInput::Put { .. } | KvInput::Append { .. } => KvOutput::Done,
                });
            }
            "fail" => ops[index] = None,
            "info" => {}
            other => return Err(ParseError::new(line, format!("unknown type :{other}"))),
        }
    }
    Ok(ops.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_and_pairs_calls() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
                    {:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
                    {:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
                    {:process 1, :type :ok, :f :get, :key \"0\", :value \"x \\\"q\\\" y\"}\n\
                    {:process 2, :type :invoke, :f :put, :key \"1\", :value \"z\"}\n\
                    {:process 3, :type :invoke, :f :put, :key \"1\", :value \"w\"}\n\
                    {:process 2, :type :fail, :f :put, :key \"1\", :value \"z\"}\n\
                    {:process 3, :type :info, :f :put, :key \"1\", :value \"w\"}\n";
        let ops = parse(text).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].call_time, Time(1));
        assert_eq!(ops[0].return_time, Some(Time(3)));
        assert_eq!(ops[1].output, Some(KvOutput::Value(Text::new("x \"q\" y"))));
        assert!(ops[2].is_pending());
    }

    #[test]
    fn errors_carry_line_numbers() {
        let text = "{:process 0, :type :invoke, :f :get, :key \"0\", :value nil}\n\
                    {:process 0, :type :ok, :f :get, :key \"0\", :value \"unterminated}\n";
        assert_eq!(parse(text).unwrap_err().line, 2);
        assert_eq!(parse("{:process 0 :type}").unwrap_err().line, 1);
        assert_eq!(
            parse("\n\n{:process 0, :type :ok, :f :get, :key \"0\", :value \"\"}")
                .unwrap_err()
                .line,
            3
        );
    }
}
