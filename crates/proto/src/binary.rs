//! Protobuf encoding of frames.

use prost::Message as _;

use crate::{DecodeError, Frame};

/// Encodes a frame as protobuf.
pub fn encode(frame: &Frame) -> Vec<u8> {
    frame.encode_to_vec()
}

/// Decodes a protobuf frame; a frame without a known operation is an error.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let frame = Frame::decode(bytes)
        .map_err(|e| DecodeError::new(None, format!("not a protobuf frame: {e}")))?;
    if frame.op.is_none() {
        let id = (frame.id != 0).then_some(frame.id);
        return Err(DecodeError::new(id, "frame has no known operation"));
    }
    Ok(frame)
}
