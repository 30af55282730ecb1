//! A frame is `{"id": 7, "<op>": {...}}`: the oneof is flattened into the frame,
//! and `id` is left out when it is 0 (pushes).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::frame::Op;
use crate::{Frame, OP_NAMES};

impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(skip_serializing_if = "is_zero")]
            id: u64,
            #[serde(flatten)]
            op: &'a Option<Op>,
        }
        Wire {
            id: self.id,
            op: &self.op,
        }
        .serialize(s)
    }
}

fn is_zero(id: &u64) -> bool {
    *id == 0
}

/// A frame as JSON carries it. An unknown operation, or one whose fields have
/// the wrong types, leaves `op` empty while `id` is still read, so the caller
/// can answer with the id.
#[derive(Deserialize)]
pub(super) struct Wire {
    #[serde(default)]
    pub(super) id: u64,
    /// The first operation key; serde takes its entry out of the object.
    #[serde(flatten)]
    pub(super) op: Option<Op>,
    /// What is left: unknown keys, or more operations (a bad frame).
    #[serde(flatten)]
    pub(super) rest: OtherOps,
}

/// How many operation keys an object holds, read without building its
/// values or allocating its keys.
pub(super) struct OtherOps(pub(super) usize);

impl<'de> Deserialize<'de> for OtherOps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(CountOps)
    }
}

struct CountOps;

impl<'de> Visitor<'de> for CountOps {
    type Value = OtherOps;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a frame object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OtherOps, A::Error> {
        let mut count = 0;
        while let Some(is_op) = map.next_key_seed(IsOp)? {
            map.next_value::<IgnoredAny>()?;
            count += usize::from(is_op);
        }
        Ok(OtherOps(count))
    }
}

/// A key, read as whether it names an operation.
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
    use crate::json::decode;

    /// The spec's "exactly one operation key": a second one, however it is
    /// spelled, is a bad frame answered with the id; unknown keys beside the
    /// operation, and operation names inside it, are fine.
    #[test]
    fn a_frame_holds_exactly_one_operation() {
        for two in [
            r#"{"id": 9, "ping": {}, "sync": {}}"#,
            r#"{"id": 9, "sync": {}, "ping": {}}"#,
            r#"{"id": 9, "ping": {}, "ping": {}}"#,
            r#"{"id": 9, "pi\u006eg": {}, "sync": {}}"#,
        ] {
            let e = decode(two.as_bytes()).expect_err(two);
            assert_eq!(e.id, Some(9), "{two}");
        }
        for one in [
            r#"{"id": 9, "ping": {}, "extra": {"sync": {}}}"#,
            r#"{"id": 9, "send": {"to": "bob", "ok": {}}, "x": 1}"#,
        ] {
            assert!(decode(one.as_bytes()).is_ok(), "{one}");
        }
    }
}
