use std::sync::OnceLock;

use bytes::Bytes;
use koi_proto::{DecodeError, Encoding, Frame, frame::Op};

/// A push frame, encoded lazily and at most once per encoding, however many
/// connections it is written to.
#[derive(Debug)]
pub struct Push {
    frame: Frame,
    json: OnceLock<Bytes>,
    protobuf: OnceLock<Bytes>,
}

impl Push {
    /// A push carrying `op` (pushes have no id).
    pub fn new(op: Op) -> Self {
        Self {
            frame: Frame {
                id: 0,
                op: Some(op),
            },
            json: OnceLock::new(),
            protobuf: OnceLock::new(),
        }
    }

    /// A push received as protobuf bytes (from another node): decoded once, and
    /// the bytes kept as its protobuf encoding so they are not encoded again.
    pub fn from_protobuf(bytes: Bytes) -> Result<Self, DecodeError> {
        let frame = koi_proto::binary::decode(&bytes)?;
        Ok(Self {
            frame,
            json: OnceLock::new(),
            protobuf: OnceLock::from(bytes),
        })
    }

    /// The push as a frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The push's bytes in `encoding`, encoded on first use.
    pub fn encoded(&self, encoding: Encoding) -> Bytes {
        let cell = match encoding {
            Encoding::Json => &self.json,
            Encoding::Protobuf => &self.protobuf,
        };
        cell.get_or_init(|| encoding.encode(&self.frame)).clone()
    }
}
