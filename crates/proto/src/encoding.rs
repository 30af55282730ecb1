use bytes::Bytes;

use crate::{DecodeError, Frame, binary, json};

/// The encoding a connection speaks: JSON text or protobuf binary.
///
/// A WebSocket connection may mix them frame by frame; replies use the encoding of
/// the request, pushes the encoding of the last frame the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON, one frame per WebSocket text message.
    Json,
    /// Protobuf, one frame per WebSocket binary message or length-prefixed TCP frame.
    Protobuf,
}

impl Encoding {
    /// Encodes `frame` in this encoding.
    pub fn encode(self, frame: &Frame) -> Bytes {
        match self {
            Encoding::Json => Bytes::from(json::encode(frame)),
            Encoding::Protobuf => Bytes::from(binary::encode(frame)),
        }
    }

    /// Decodes one frame in this encoding.
    pub fn decode(self, bytes: &[u8]) -> Result<Frame, DecodeError> {
        match self {
            Encoding::Json => json::decode(bytes),
            Encoding::Protobuf => binary::decode(bytes),
        }
    }
}
