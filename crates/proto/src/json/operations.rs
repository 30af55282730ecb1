//! Counting a frame's operation keys: a frame holds exactly one (spec §3),
//! while deserializing it would quietly take the first of several.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::OP_NAMES;

/// How many of the top-level keys of the JSON object `bytes` name an
/// operation; 0 when it is not an object. The values are skipped, not built.
pub(super) fn count(bytes: &[u8]) -> usize {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(CountOps).unwrap_or(0)
}

struct CountOps;

impl<'de> Visitor<'de> for CountOps {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a frame object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut count = 0;
        while let Some(is_op) = map.next_key_seed(IsOp)? {
            map.next_value::<IgnoredAny>()?;
            count += usize::from(is_op);
        }
        Ok(count)
    }
}

/// A key, read as whether it names an operation (without allocating it).
struct IsOp;

impl<'de> DeserializeSeed<'de> for IsOp {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsOp {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(OP_NAMES.contains(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_operation_keys_only_at_the_top() {
        assert_eq!(count(br#"{"id": 1, "ping": {}}"#), 1);
        assert_eq!(count(br#"{"id": 1, "ping": {}, "sync": {}}"#), 2);
        assert_eq!(count(br#"{"send": {"to": "bob", "ok": {}}, "x": 1}"#), 1);
        assert_eq!(count(br#"{"pi\u006eg": {}, "sync": {}}"#), 2);
        assert_eq!(count(b"[1, 2]"), 0);
    }

    /// The spec's "exactly one operation key": two are a bad frame, answered
    /// with the id; one, with unknown keys beside it, is fine.
    #[test]
    fn a_frame_with_two_operations_is_refused_with_its_id() {
        let e = crate::json::decode(br#"{"id": 9, "ping": {}, "sync": {}}"#).unwrap_err();
        assert_eq!(e.id, Some(9));
        assert!(crate::json::decode(br#"{"id": 9, "ping": {}, "extra": {}}"#).is_ok());
    }
}
