//! A frame is `{"id": 7, "<op>": {...}}`: the oneof is flattened into the frame,
//! and `id` is left out when it is 0 (pushes).

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::Frame;
use crate::frame::Op;

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

impl<'de> Deserialize<'de> for Frame {
    /// An unknown operation, or one whose fields have the wrong types, leaves `op`
    /// empty while `id` is still read, so the caller can answer with the id.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            id: u64,
            #[serde(flatten)]
            op: Option<Op>,
        }
        let wire = Wire::deserialize(d)?;
        Ok(Frame {
            id: wire.id,
            op: wire.op,
        })
    }
}
