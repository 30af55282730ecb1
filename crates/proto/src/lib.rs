//! # Koi wire schema
//!
//! The types generated from `proto/koi.proto` and their two encodings.
//!
//! - [`json`]: one frame per WebSocket text message.
//! - [`binary`]: protobuf, one frame per WebSocket binary message or per
//!   length-prefixed TCP frame.
//! - [`framing`]: the TCP length prefix, sans-IO.
//! - [`Encoding`]: which of the two a connection speaks.

#[allow(clippy::all, missing_docs, unreachable_pub)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/koi.rs"));
}

pub mod binary;
mod decode_error;
mod encoding;
pub mod framing;
pub mod json;
mod op_name;

pub use decode_error::DecodeError;
pub use encoding::Encoding;
pub use generated::*;
pub use op_name::{OP_NAMES, op_name};
