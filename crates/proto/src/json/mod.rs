//! JSON encoding of frames: `{"id": 7, "send": {...}}`.
//!
//! The shape follows the schema field for field; `ok` is the reply body itself
//! (see [`ok`]) and `signal.data` may be any JSON value (see [`signal`]).

mod frame;
mod ok;
mod signal;

use serde::Deserialize;

use crate::{DecodeError, Frame};

/// Encodes a frame as JSON text.
pub fn encode(frame: &Frame) -> String {
    serde_json::to_string(frame).expect("frames always serialize")
}

/// Decodes a JSON frame. Unknown fields are ignored; an unknown operation, a
/// second operation or a field of the wrong type is an error carrying the
/// frame's `id` when readable.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    match serde_json::from_slice::<frame::Wire>(bytes) {
        Ok(frame::Wire {
            id,
            op: Some(op),
            rest,
        }) => {
            if rest.0 > 0 {
                let id = (id != 0).then_some(id);
                return Err(DecodeError::new(id, "a frame holds exactly one operation"));
            }
            Ok(Frame { id, op: Some(op) })
        }
        Ok(frame) => {
            let id = (frame.id != 0).then_some(frame.id);
            Err(DecodeError::new(
                id,
                "unknown operation, or an operation with fields of the wrong type",
            ))
        }
        Err(e) => {
            #[derive(Deserialize)]
            struct IdOnly {
                id: Option<u64>,
            }
            let id = serde_json::from_slice::<IdOnly>(bytes)
                .ok()
                .and_then(|f| f.id);
            Err(DecodeError::new(id, format!("not a JSON frame: {e}")))
        }
    }
}
