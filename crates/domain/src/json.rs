//! A request body read as a JSON object without losing what a `Value` loses:
//! every key in order with repeats kept (a repeated key is refused, not
//! silently resolved to its last value), and every value as its exact text,
//! so numbers are judged by their digits ([`crate::number`]).

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object: its members in document order, each value as its text.
#[derive(Debug, Clone)]
pub struct ObjectText {
    members: Vec<(String, Box<RawValue>)>,
}

/// The body is not JSON, or not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnObject;

impl ObjectText {
    /// Reads `bytes` as one JSON object (whitespace around it allowed).
    /// Any JSON the object holds is accepted here, numbers of any size
    /// included; the rules judge the values.
    /// Errs with [`NotAnObject`] when `bytes` is not UTF-8 JSON, has trailing
    /// data, or is a JSON value other than an object.
    pub fn parse(bytes: &[u8]) -> Result<Self, NotAnObject> {
        serde_json::from_slice::<Members>(bytes)
            .map(|Members(members)| ObjectText { members })
            .map_err(|_| NotAnObject)
    }

    /// The object of a `Value` map (tests, generated docs): numbers keep the
    /// text `serde_json` writes for them.
    pub fn from_map(map: &Map<String, Value>) -> Self {
        let members = map
            .iter()
            .map(|(k, v)| {
                let raw = serde_json::value::to_raw_value(v).expect("a Value serialises");
                (k.clone(), raw)
            })
            .collect();
        ObjectText { members }
    }

    /// The members in document order, repeated keys included.
    pub fn members(&self) -> &[(String, Box<RawValue>)] {
        &self.members
    }

    /// Every value given for `key`, in document order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a RawValue> + 'a {
        self.members
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| &**v)
    }
}

/// How deep [`repeated_key`] looks: serde_json's own recursion limit, past
/// which it refuses to build a `Value` anyway (so such a value is refused as
/// the wrong type, not searched). Without it, a few thousand nested arrays
/// in a small body would overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// The first key that appears twice in one object anywhere inside `value`
/// (objects in arrays included) down to [`MAX_DEPTH`] levels, or `None`.
pub fn repeated_key(value: &RawValue) -> Option<String> {
    repeated_key_within(value, MAX_DEPTH)
}

fn repeated_key_within(value: &RawValue, depth: usize) -> Option<String> {
    let depth = depth.checked_sub(1)?;
    let text = value.get().trim_start();
    if text.starts_with('{') {
        let Members(members) = serde_json::from_str(text).ok()?;
        let mut seen = HashSet::with_capacity(members.len());
        for (key, _) in &members {
            if !seen.insert(key.as_str()) {
                return Some(key.clone());
            }
        }
        members
            .iter()
            .find_map(|(_, v)| repeated_key_within(v, depth))
    } else if text.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(text).ok()?;
        items.iter().find_map(|v| repeated_key_within(v, depth))
    } else {
        None
    }
}

/// The members of an object, repeats kept.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(RawSeed)?;
            members.push((key, value));
        }
        Ok(Members(members))
    }
}

/// `Box<RawValue>` as a seed, so the visitor above stays generic.
struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = Box<RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        <Box<RawValue> as serde::Deserialize>::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_repeats_and_text() {
        let body =
            ObjectText::parse(br#" {"b": 1.0000000000000001, "a": "x", "b": 1E400} "#).unwrap();
        let got: Vec<(&str, &str)> = body
            .members()
            .iter()
            .map(|(k, v)| (k.as_str(), v.get()))
            .collect();
        assert_eq!(
            got,
            [("b", "1.0000000000000001"), ("a", "\"x\""), ("b", "1E400")]
        );
        assert_eq!(body.values("b").count(), 2);
    }

    #[test]
    fn only_objects_are_objects() {
        for text in ["[]", "1", "\"x\"", "null", "", "{", "{}{}", "{\"a\":}"] {
            assert!(ObjectText::parse(text.as_bytes()).is_err(), "{text}");
        }
        assert!(ObjectText::parse(b"{}").unwrap().members().is_empty());
    }

    #[test]
    fn deep_nesting_is_not_searched_past_the_limit_and_never_overflows() {
        for depth in [4_000, 100_000] {
            let text = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            assert_eq!(repeated_key(&raw), None, "depth {depth}");
        }
        // Within the limit a repeat is still found.
        let within = format!(
            "{}{{\"x\":1,\"x\":2}}{}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        let raw: Box<RawValue> = serde_json::from_str(&within).unwrap();
        assert_eq!(repeated_key(&raw).as_deref(), Some("x"));
    }

    #[test]
    fn repeated_keys_are_found_at_any_depth() {
        let raw = |t: &str| RawValue::from_string(t.to_owned()).unwrap();
        assert_eq!(repeated_key(&raw(r#"{"id":1,"id":2}"#)), Some("id".into()));
        assert_eq!(
            repeated_key(&raw(r#"{"a":{"b":[{"c":1,"c":1}]}}"#)),
            Some("c".into())
        );
        assert_eq!(
            repeated_key(&raw(r#"{"\u0061":1,"a":2}"#)),
            Some("a".into()),
            "keys are compared after unescaping"
        );
        assert_eq!(repeated_key(&raw(r#"{"a":{"a":1}}"#)), None);
        assert_eq!(repeated_key(&raw(r#"[{"a":1},{"a":1}]"#)), None);
        assert_eq!(repeated_key(&raw("5")), None);
    }
}
