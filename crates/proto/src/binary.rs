//! Protobuf encoding of frames.

use prost::Message as _;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

use crate::{DecodeError, Frame};

/// Encodes a frame as protobuf.
pub fn encode(frame: &Frame) -> Vec<u8> {
    frame.encode_to_vec()
}

/// Decodes a protobuf frame; a frame without a known operation is an error.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let frame = Frame::decode(bytes)
        .map_err(|e| DecodeError::new(readable_id(bytes), format!("not a protobuf frame: {e}")))?;
    if frame.op.is_none() {
        let id = (frame.id != 0).then_some(frame.id);
        return Err(DecodeError::new(id, "frame has no known operation"));
    }
    Ok(frame)
}

/// The `id` of a frame that does not decode, when the fields up to the fault
/// can be read: its error reply then carries the id, as a JSON frame's would.
/// The last `id` read wins, as in protobuf.
fn readable_id(mut bytes: &[u8]) -> Option<u64> {
    let mut id = None;
    while !bytes.is_empty() {
        let Ok((tag, wire_type)) = decode_key(&mut bytes) else {
            break;
        };
        if tag == 1 && wire_type == WireType::Varint {
            match decode_varint(&mut bytes) {
                Ok(value) => id = Some(value),
                Err(_) => break,
            }
        } else if skip_field(wire_type, tag, &mut bytes, DecodeContext::default()).is_err() {
            break;
        }
    }
    id.filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of_failure(bytes: &[u8]) -> Option<u64> {
        decode(bytes).expect_err("a bad frame").id
    }

    /// A frame that fails to decode still names its id when it can be read,
    /// wherever the fault is; not when the fault comes first.
    #[test]
    fn a_bad_frame_keeps_its_readable_id() {
        // id 24, then `send` holding `to` as a varint.
        assert_eq!(
            id_of_failure(&[0x08, 0x18, 0x32, 0x02, 0x08, 0x05]),
            Some(24)
        );
        // id 25, then bytes that are no field at all.
        assert_eq!(id_of_failure(&[0x08, 0x19, 0xff, 0xff, 0xff]), Some(25));
        // `ping` as a varint, then id 26.
        assert_eq!(id_of_failure(&[0x18, 0x01, 0x08, 0x1a]), Some(26));
        // Junk first: no id can be read.
        assert_eq!(id_of_failure(&[0xff, 0xff, 0xff, 0x08, 0x1a]), None);
    }
}
