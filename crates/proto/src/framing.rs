//! TCP framing: each frame is a `u32` big-endian length followed by that many bytes.
//!
//! Sans-IO: the reader appends bytes to a buffer and asks [`split`] for whole frames.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

/// Bytes taken by the length prefix.
pub const PREFIX_LEN: usize = 4;

/// A length prefix announcing more than the connection accepts.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("frame of {len} bytes exceeds the limit of {max}")]
pub struct TooLarge {
    /// The announced length.
    pub len: usize,
    /// The connection's limit.
    pub max: usize,
}

/// Takes one whole frame off the front of `buf`, if one is there.
///
/// Refuses a prefix over `max` before its body arrives, so an attacker cannot make
/// the server buffer a huge frame.
pub fn split(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, TooLarge> {
    if buf.len() < PREFIX_LEN {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > max {
        return Err(TooLarge { len, max });
    }
    if buf.len() < PREFIX_LEN + len {
        buf.reserve(PREFIX_LEN + len - buf.len());
        return Ok(None);
    }
    buf.advance(PREFIX_LEN);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Prefixes `body` with its length.
pub fn frame(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX_LEN + body.len());
    out.put_u32(body.len() as u32);
    out.put_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_whole_frames_and_waits_for_partial_ones() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame(b"hello"));
        buf.extend_from_slice(&frame(b"wor")[..5]);
        assert_eq!(split(&mut buf, 100).unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(split(&mut buf, 100).unwrap(), None);
        buf.extend_from_slice(b"or");
        assert_eq!(split(&mut buf, 100).unwrap().unwrap(), &b"wor"[..]);
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_oversize_prefix_before_the_body_arrives() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            split(&mut buf, 65_536),
            Err(TooLarge {
                len: u32::MAX as usize,
                max: 65_536
            })
        );
    }
}
