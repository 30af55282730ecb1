//! The bytes that travel on `koi.u.*` and `koi.g.*`: see [`Envelope`].

use bytes::{BufMut, Bytes, BytesMut};

const PUSH: u8 = 1;
const JOINED: u8 = 2;
const LEFT: u8 = 3;
const HAS_EXCEPT: u8 = 1;
const HAS_SKIP: u8 = 2;

/// What travels on `koi.u.*` and `koi.g.*`.
///
/// Every envelope starts with a kind byte and the id of the node that published
/// it; all integers are little-endian, every string is a `u16` length and UTF-8.
///
/// ```text
/// push:    0x01 flags origin [except: u64 if flags & 1] [skip_user if flags & 2] frame
/// joined:  0x02 origin group after_seq: u64
///                                     (on koi.u.<user>: `user` joined `group`
///                                     when its last message was `after_seq`;
///                                     without `after_seq`, as from a node
///                                     before it travelled, it is 0)
/// left:    0x03 origin group          (on koi.u.<user>: `user` left `group`)
/// ```
///
/// `frame` is the rest of the envelope: the push frame's protobuf encoding
/// ([`Push::encoded`](crate::Push::encoded) with [`Encoding::Protobuf`](koi_proto::Encoding)).
/// `except` is a connection id of the origin node (ids are node-local): the
/// origin applies it when it delivers to its own devices, and other nodes
/// ignore it; it travels so that an envelope describes the whole push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// A push for the subject's user, or the subject's group's online members.
    Push {
        origin: String,
        except: Option<u64>,
        skip_user: Option<String>,
        frame: Bytes,
    },
    /// The subject's user joined `group` when its last message was `after_seq`.
    Joined {
        origin: String,
        group: String,
        after_seq: u64,
    },
    /// The subject's user left `group`.
    Left { origin: String, group: String },
}

impl Envelope {
    /// Who published it.
    pub fn origin(&self) -> &str {
        match self {
            Envelope::Push { origin, .. }
            | Envelope::Joined { origin, .. }
            | Envelope::Left { origin, .. } => origin,
        }
    }

    /// The envelope's bytes.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            Envelope::Push {
                origin,
                except,
                skip_user,
                frame,
            } => {
                buf.reserve(16 + origin.len() + frame.len());
                buf.put_u8(PUSH);
                let flags = if except.is_some() { HAS_EXCEPT } else { 0 }
                    | if skip_user.is_some() { HAS_SKIP } else { 0 };
                buf.put_u8(flags);
                put_str(&mut buf, origin);
                if let Some(id) = except {
                    buf.put_u64_le(*id);
                }
                if let Some(user) = skip_user {
                    put_str(&mut buf, user);
                }
                buf.put_slice(frame);
            }
            Envelope::Joined {
                origin,
                group,
                after_seq,
            } => {
                buf.put_u8(JOINED);
                put_str(&mut buf, origin);
                put_str(&mut buf, group);
                buf.put_u64_le(*after_seq);
            }
            Envelope::Left { origin, group } => {
                buf.put_u8(LEFT);
                put_str(&mut buf, origin);
                put_str(&mut buf, group);
            }
        }
        buf.freeze()
    }

    /// Parses an envelope; `None` for anything malformed.
    pub fn decode(bytes: &Bytes) -> Option<Envelope> {
        let mut at = 0;
        let kind = *bytes.first()?;
        at += 1;
        match kind {
            PUSH => {
                let flags = *bytes.get(at)?;
                at += 1;
                let origin = get_str(bytes, &mut at)?;
                let except = if flags & HAS_EXCEPT != 0 {
                    let raw = bytes.get(at..at + 8)?;
                    at += 8;
                    Some(u64::from_le_bytes(raw.try_into().ok()?))
                } else {
                    None
                };
                let skip_user = if flags & HAS_SKIP != 0 {
                    Some(get_str(bytes, &mut at)?)
                } else {
                    None
                };
                Some(Envelope::Push {
                    origin,
                    except,
                    skip_user,
                    frame: bytes.slice(at..),
                })
            }
            JOINED => {
                let origin = get_str(bytes, &mut at)?;
                let group = get_str(bytes, &mut at)?;
                let after_seq = match bytes.len() - at {
                    0 => 0,
                    8 => u64::from_le_bytes(bytes[at..].try_into().ok()?),
                    _ => return None,
                };
                Some(Envelope::Joined {
                    origin,
                    group,
                    after_seq,
                })
            }
            LEFT => {
                let origin = get_str(bytes, &mut at)?;
                let group = get_str(bytes, &mut at)?;
                (at == bytes.len()).then_some(Envelope::Left { origin, group })
            }
            _ => None,
        }
    }
}

fn put_str(buf: &mut BytesMut, s: &str) {
    // Node ids, user names and group ids are far shorter than 64 KiB; a longer
    // one is cut at a character boundary rather than corrupting the envelope.
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.put_u16_le(end as u16);
    buf.put_slice(&s.as_bytes()[..end]);
}

fn get_str(bytes: &[u8], at: &mut usize) -> Option<String> {
    let len = u16::from_le_bytes(bytes.get(*at..*at + 2)?.try_into().ok()?) as usize;
    *at += 2;
    let raw = bytes.get(*at..*at + len)?;
    *at += len;
    String::from_utf8(raw.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let cases = [
            Envelope::Push {
                origin: "koi-a".into(),
                except: Some(u64::MAX - 3),
                skip_user: Some("bob.b".into()),
                frame: Bytes::from_static(b"\x08\x00frame"),
            },
            Envelope::Push {
                origin: "n".into(),
                except: None,
                skip_user: None,
                frame: Bytes::new(),
            },
            Envelope::Joined {
                origin: "koi-b".into(),
                group: "g1".into(),
                after_seq: 1 << 40,
            },
            Envelope::Left {
                origin: "koi-b".into(),
                group: "g2".into(),
            },
        ];
        for case in cases {
            assert_eq!(Envelope::decode(&case.encode()), Some(case));
        }
    }

    #[test]
    fn malformed_envelopes_are_rejected() {
        for bad in [
            &b""[..],
            b"\x09",
            b"\x01",
            b"\x01\x01\x02\x00ab\x01",
            b"\x02\x05\x00ab",
            b"\x02\x01\x00a\x01\x00gX",
            b"\x03\x01\x00a\x01\x00g\x07\x00\x00\x00\x00\x00\x00\x00",
        ] {
            assert_eq!(Envelope::decode(&Bytes::copy_from_slice(bad)), None);
        }
    }

    #[test]
    fn a_joined_notice_without_its_seq_means_every_message() {
        let old = Bytes::from_static(b"\x02\x01\x00a\x02\x00g1");
        assert_eq!(
            Envelope::decode(&old),
            Some(Envelope::Joined {
                origin: "a".into(),
                group: "g1".into(),
                after_seq: 0,
            })
        );
    }
}
