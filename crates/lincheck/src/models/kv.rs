//! A key-value map of strings with get, put and append (the Porcupine kv histories),
//! partitioned by key. A missing key reads as the empty string.
//!
//! Strings are shared (`Arc<str>`) and carry a polynomial hash that composes under
//! concatenation. A value is a persistent list of the texts written to it, so an append
//! costs one small allocation and no copy or rehash, and cloning a single-key state (the
//! common case once the history is partitioned) costs reference-count increments only.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sansio::mix64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lin::{Model, Operation};

/// Odd multiplier of the polynomial string hash.
const POLY_BASE: u64 = 0x100_0000_01b3;

/// An immutable shared string with a hash that composes under concatenation:
/// `hash(a ++ b) = hash(a) * base^len(b) + hash(b)` (wrapping).
#[derive(Clone)]
pub struct Text {
    text: Arc<str>,
    hash: u64,
    /// `POLY_BASE ^ len` (wrapping).
    power: u64,
}

impl Text {
    pub fn new(text: &str) -> Text {
        let mut hash = 0u64;
        let mut power = 1u64;
        for &byte in text.as_bytes() {
            hash = hash
                .wrapping_mul(POLY_BASE)
                .wrapping_add(u64::from(byte) + 1);
            power = power.wrapping_mul(POLY_BASE);
        }
        Text {
            text: Arc::from(text),
            hash,
            power,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// `self ++ suffix`.
    pub fn concat(&self, suffix: &Text) -> Text {
        let mut joined = String::with_capacity(self.text.len() + suffix.text.len());
        joined.push_str(&self.text);
        joined.push_str(&suffix.text);
        Text {
            text: Arc::from(joined),
            hash: self
                .hash
                .wrapping_mul(suffix.power)
                .wrapping_add(suffix.hash),
            power: self.power.wrapping_mul(suffix.power),
        }
    }

    /// The stable content hash.
    pub fn content_hash(&self) -> u64 {
        self.hash
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Text::new(&text))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvInput {
    Get { key: Text },
    Put { key: Text, value: Text },
    Append { key: Text, value: Text },
}

impl KvInput {
    pub fn key(&self) -> &Text {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOutput {
    /// The value a get returned (`""` for a missing key).
    Value(Text),
    /// A put or append completed.
    Done,
}

/// The value under one key: a persistent list of the pieces written (a put's text, then
/// each appended text), newest last, with the length and composed hash of the whole
/// content. An append allocates one small node; nothing is copied.
#[derive(Clone)]
pub struct Value {
    last: Option<Arc<Piece>>,
    len: usize,
    hash: u64,
    power: u64,
}

struct Piece {
    /// The value before this piece.
    before: Option<Arc<Piece>>,
    text: Text,
}

impl Drop for Piece {
    /// Unlink long chains iteratively, so that dropping a value never recurses deeply.
    fn drop(&mut self) {
        let mut before = self.before.take();
        // Each pass frees one node of a finite chain.
        while let Some(node) = before {
            match Arc::try_unwrap(node) {
                Ok(mut piece) => before = piece.before.take(),
                Err(_) => break,
            }
        }
    }
}

impl Value {
    const EMPTY: Value = Value {
        last: None,
        len: 0,
        hash: 0,
        power: 1,
    };

    fn from_text(text: &Text) -> Value {
        Value::EMPTY.append(text)
    }

    fn append(&self, text: &Text) -> Value {
        if text.is_empty() {
            return self.clone();
        }
        Value {
            last: Some(Arc::new(Piece {
                before: self.last.clone(),
                text: text.clone(),
            })),
            len: self.len + text.text.len(),
            hash: self.hash.wrapping_mul(text.power).wrapping_add(text.hash),
            power: self.power.wrapping_mul(text.power),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces, newest first.
    fn pieces(&self) -> impl Iterator<Item = &Text> {
        std::iter::successors(self.last.as_deref(), |piece| piece.before.as_deref())
            .map(|piece| &piece.text)
    }

    /// Whether the content equals `bytes`, comparing piece by piece from the end.
    fn equals_bytes(&self, bytes: &[u8]) -> bool {
        if self.len != bytes.len() {
            return false;
        }
        let mut end = bytes.len();
        for text in self.pieces() {
            let piece = text.text.as_bytes();
            if piece.len() > end || bytes[end - piece.len()..end] != *piece {
                return false;
            }
            end -= piece.len();
        }
        assert_eq!(end, 0, "value length disagrees with its pieces");
        true
    }

    pub fn equals_text(&self, text: &Text) -> bool {
        self.hash == text.hash && self.equals_bytes(text.text.as_bytes())
    }

    pub fn to_text(&self) -> String {
        let mut pieces: Vec<&str> = self.pieces().map(Text::as_str).collect();
        pieces.reverse();
        pieces.concat()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        if self.len != other.len || self.hash != other.hash {
            return false;
        }
        // Walk both piece lists from the end, comparing the overlapping byte runs.
        let (mut a_node, mut b_node) = (self.last.as_ref(), other.last.as_ref());
        let (mut a_rest, mut b_rest): (&[u8], &[u8]) = (&[], &[]);
        // Each pass loads a piece (at most `len` per side, pieces are non-empty) or empties
        // the rest of one side.
        for _pass in 0..=(4 * self.len + 4) {
            if a_rest.is_empty() && b_rest.is_empty() {
                match (a_node, b_node) {
                    (None, None) => return true,
                    // A shared older part: equal from here on.
                    (Some(a), Some(b)) if Arc::ptr_eq(a, b) => return true,
                    _ => {}
                }
            }
            if a_rest.is_empty() {
                let Some(node) = a_node else { return false };
                a_rest = node.text.text.as_bytes();
                a_node = node.before.as_ref();
                continue;
            }
            if b_rest.is_empty() {
                let Some(node) = b_node else { return false };
                b_rest = node.text.text.as_bytes();
                b_node = node.before.as_ref();
                continue;
            }
            let n = a_rest.len().min(b_rest.len());
            if a_rest[a_rest.len() - n..] != b_rest[b_rest.len() - n..] {
                return false;
            }
            a_rest = &a_rest[..a_rest.len() - n];
            b_rest = &b_rest[..b_rest.len() - n];
        }
        unreachable!("value comparison ends within its bound")
    }
}

impl Eq for Value {}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_text(), f)
    }
}

/// The map, in a canonical form: no entry with an empty value (so "missing" and "empty"
/// are the same state), a single entry inline (no allocation: the common case once the
/// history is partitioned by key), more entries sorted by key.
#[derive(Clone, PartialEq, Eq)]
enum Entries {
    Empty,
    One(Text, Value),
    Many(Arc<[(Text, Value)]>),
}

/// The model state: the map plus an order-independent hash of its entries.
#[derive(Clone)]
pub struct KvState {
    entries: Entries,
    hash: u64,
}

impl KvState {
    fn empty() -> KvState {
        KvState {
            entries: Entries::Empty,
            hash: 0,
        }
    }

    /// The value under `key` (`None` if missing, which reads as empty).
    pub fn get(&self, key: &Text) -> Option<&Value> {
        match &self.entries {
            Entries::Empty => None,
            Entries::One(k, value) => (k == key).then_some(value),
            Entries::Many(entries) => entries
                .binary_search_by(|(k, _)| k.as_str().cmp(key.as_str()))
                .ok()
                .map(|position| &entries[position].1),
        }
    }

    fn entry_hash(key: &Text, value: &Value) -> u64 {
        mix64(key.hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix64(value.hash))
    }

    /// The state with `key` set to `value` (removed when `value` is empty).
    fn with(&self, key: &Text, value: Value) -> KvState {
        let mut hash = self.hash;
        if let Some(old) = self.get(key) {
            hash = hash.wrapping_sub(Self::entry_hash(key, old));
        }
        if !value.is_empty() {
            hash = hash.wrapping_add(Self::entry_hash(key, &value));
        }
        let entries = match &self.entries {
            Entries::Empty if value.is_empty() => Entries::Empty,
            Entries::Empty => Entries::One(key.clone(), value),
            Entries::One(k, _) if k == key && value.is_empty() => Entries::Empty,
            Entries::One(k, _) if k == key => Entries::One(key.clone(), value),
            Entries::One(..) | Entries::Many(_) => {
                let mut pairs: Vec<(Text, Value)> = match &self.entries {
                    Entries::One(k, v) => vec![(k.clone(), v.clone())],
                    Entries::Many(entries) => entries.to_vec(),
                    Entries::Empty => unreachable!(),
                };
                match pairs.binary_search_by(|(k, _)| k.as_str().cmp(key.as_str())) {
                    Ok(found) if value.is_empty() => {
                        pairs.remove(found);
                    }
                    Ok(found) => pairs[found].1 = value,
                    Err(_) if value.is_empty() => {}
                    Err(insert_at) => pairs.insert(insert_at, (key.clone(), value)),
                }
                match pairs.len() {
                    0 => Entries::Empty,
                    1 => {
                        let (k, v) = pairs.pop().expect("one pair");
                        Entries::One(k, v)
                    }
                    _ => Entries::Many(Arc::from(pairs)),
                }
            }
        };
        KvState { entries, hash }
    }

    fn heap_bytes(&self) -> usize {
        match &self.entries {
            Entries::Many(entries) => entries.len() * std::mem::size_of::<(Text, Value)>(),
            _ => 0,
        }
    }
}

impl PartialEq for KvState {
    fn eq(&self, other: &KvState) -> bool {
        self.hash == other.hash && self.entries == other.entries
    }
}

impl Eq for KvState {}

impl fmt::Debug for KvState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entries {
            Entries::Empty => f.debug_map().finish(),
            Entries::One(k, v) => f.debug_map().entry(k, v).finish(),
            Entries::Many(entries) => f
                .debug_map()
                .entries(entries.iter().map(|(k, v)| (k, v)))
                .finish(),
        }
    }
}

/// The key-value model. `partition` splits the history by key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvModel;

impl Model for KvModel {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        KvState::empty()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: &KvOutput) -> Option<KvState> {
        match (input, output) {
            (KvInput::Get { key }, KvOutput::Value(read)) => {
                let matches = match state.get(key) {
                    Some(value) => value.equals_text(read),
                    None => read.is_empty(),
                };
                matches.then(|| state.clone())
            }
            (KvInput::Put { .. } | KvInput::Append { .. }, KvOutput::Done) => {
                self.step_unknown(state, input)
            }
            _ => panic!("kv output {output:?} does not answer input {input:?}"),
        }
    }

    fn step_unknown(&self, state: &KvState, input: &KvInput) -> Option<KvState> {
        match input {
            KvInput::Get { .. } => Some(state.clone()),
            KvInput::Put { key, value } => Some(state.with(key, Value::from_text(value))),
            KvInput::Append { key, value } => {
                if value.is_empty() {
                    return Some(state.clone());
                }
                let joined = match state.get(key) {
                    Some(old) => old.append(value),
                    None => Value::from_text(value),
                };
                Some(state.with(key, joined))
            }
        }
    }

    fn hash_state(&self, state: &KvState) -> u64 {
        state.hash
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn only_grows(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Append { .. })
    }

    /// Appends only extend a value: a get can pass later only if the current value is a
    /// prefix of the value it read.
    fn may_grow_to_allow(&self, state: &KvState, input: &KvInput, output: &KvOutput) -> bool {
        match (input, output) {
            (KvInput::Get { key }, KvOutput::Value(read)) => match state.get(key) {
                None => true,
                Some(value) => {
                    value.len() <= read.text.len()
                        && value.equals_bytes(&read.text.as_bytes()[..value.len()])
                }
            },
            _ => true,
        }
    }

    fn unknown_is_noop(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn partition(&self, history: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, op) in history.iter().enumerate() {
            by_key
                .entry(op.input.key().as_str())
                .or_default()
                .push(index);
        }
        by_key.into_values().collect()
    }

    fn state_heap_bytes(&self, state: &KvState) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(key: &str) -> KvInput {
        KvInput::Get {
            key: Text::new(key),
        }
    }

    #[test]
    fn text_hash_composes() {
        let a = Text::new("x 1 0 y");
        let b = Text::new("x 2 7 y");
        let ab = a.concat(&b);
        assert_eq!(ab.as_str(), "x 1 0 yx 2 7 y");
        assert_eq!(ab, Text::new("x 1 0 yx 2 7 y"));
        assert_eq!(
            ab.content_hash(),
            Text::new("x 1 0 yx 2 7 y").content_hash()
        );
        assert_ne!(a, b);
    }

    #[test]
    fn values_compare_by_content_whatever_their_pieces() {
        let abc = Value::from_text(&Text::new("ab")).append(&Text::new("c"));
        let abc2 = Value::from_text(&Text::new("a")).append(&Text::new("bc"));
        let abc3 = Value::from_text(&Text::new("abc"));
        let abd = Value::from_text(&Text::new("a")).append(&Text::new("bd"));
        assert_eq!(abc, abc2);
        assert_eq!(abc2, abc3);
        assert_ne!(abc, abd);
        assert!(abc.equals_text(&Text::new("abc")));
        assert!(!abc.equals_text(&Text::new("abd")));
        assert_eq!(abc.to_text(), "abc");
        assert_eq!(abc.len(), 3);
        let mut pieces = Value::EMPTY;
        for _ in 0..50 {
            pieces = pieces.append(&Text::new("z"));
        }
        assert_eq!(pieces, Value::from_text(&Text::new(&"z".repeat(50))));
        assert_eq!(Value::from_text(&Text::new(&"z".repeat(50))), pieces);
        assert_ne!(
            pieces,
            Value::from_text(&Text::new(&format!("{}y", "z".repeat(49))))
        );
        let shared = abc.append(&Text::new("x"));
        let shared2 = abc.append(&Text::new("x"));
        assert_eq!(shared, shared2);
        // Dropping a long chain must not recurse.
        let mut long = Value::EMPTY;
        for _ in 0..200_000 {
            long = long.append(&Text::new("z"));
        }
        assert_eq!(long.len(), 200_000);
        drop(long);
    }

    #[test]
    fn multi_key_states_are_canonical() {
        let m = KvModel;
        let put = |k: &str, v: &str| KvInput::Put {
            key: Text::new(k),
            value: Text::new(v),
        };
        let s0 = m.init();
        let ab = m
            .step(
                &m.step(&s0, &put("a", "1"), &KvOutput::Done).unwrap(),
                &put("b", "2"),
                &KvOutput::Done,
            )
            .unwrap();
        let ba = m
            .step(
                &m.step(&s0, &put("b", "2"), &KvOutput::Done).unwrap(),
                &put("a", "1"),
                &KvOutput::Done,
            )
            .unwrap();
        assert_eq!(ab, ba);
        assert_eq!(m.hash_state(&ab), m.hash_state(&ba));
        let abc = m.step(&ab, &put("c", "3"), &KvOutput::Done).unwrap();
        assert!(
            m.step(&abc, &get("b"), &KvOutput::Value(Text::new("2")))
                .is_some()
        );
        assert!(
            m.step(&abc, &get("c"), &KvOutput::Value(Text::new("3")))
                .is_some()
        );
        assert!(
            m.step(&abc, &get("d"), &KvOutput::Value(Text::new("")))
                .is_some()
        );
        let back = m
            .step(
                &m.step(&abc, &put("c", ""), &KvOutput::Done).unwrap(),
                &put("b", ""),
                &KvOutput::Done,
            )
            .unwrap();
        let only_a = m.step(&s0, &put("a", "1"), &KvOutput::Done).unwrap();
        assert_eq!(back, only_a);
        assert_eq!(format!("{back:?}"), "{\"a\": \"1\"}");
    }

    #[test]
    fn steps_and_state_equality() {
        let m = KvModel;
        let s0 = m.init();
        let empty = KvOutput::Value(Text::new(""));
        assert!(m.step(&s0, &get("k"), &empty).is_some());
        let append = |k: &str, v: &str| KvInput::Append {
            key: Text::new(k),
            value: Text::new(v),
        };
        let s1 = m.step(&s0, &append("k", "ab"), &KvOutput::Done).unwrap();
        let s2 = m.step(&s1, &append("k", "c"), &KvOutput::Done).unwrap();
        assert!(
            m.step(&s2, &get("k"), &KvOutput::Value(Text::new("abc")))
                .is_some()
        );
        assert!(
            m.step(&s2, &get("k"), &KvOutput::Value(Text::new("ab")))
                .is_none()
        );
        assert!(m.step(&s2, &get("other"), &empty).is_some());
        let put = KvInput::Put {
            key: Text::new("k"),
            value: Text::new("abc"),
        };
        let s3 = m.step(&s0, &put, &KvOutput::Done).unwrap();
        assert_eq!(s2, s3);
        assert_eq!(m.hash_state(&s2), m.hash_state(&s3));
        let cleared = KvInput::Put {
            key: Text::new("k"),
            value: Text::new(""),
        };
        let s4 = m.step(&s3, &cleared, &KvOutput::Done).unwrap();
        assert_eq!(s4, s0, "an empty value is a missing key");
        let s5 = m.step(&s1, &append("j", "z"), &KvOutput::Done).unwrap();
        let s6 = m.step(
            &m.step(&s0, &append("j", "z"), &KvOutput::Done).unwrap(),
            &append("k", "ab"),
            &KvOutput::Done,
        );
        assert_eq!(Some(s5), s6, "insertion order does not matter");
    }
}
