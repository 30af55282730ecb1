use std::sync::OnceLock;

use bytes::Bytes;
use koi_proto::{DecodeError, Encoding, Frame, frame::Op};

use crate::backlog::Backlog;
use crate::taken::Taken;

/// A push frame, encoded lazily and at most once per encoding, however many
/// connections it is written to.
#[derive(Debug)]
pub struct Push {
    frame: Frame,
    json: OnceLock<Bytes>,
    protobuf: OnceLock<Bytes>,
    /// Connections that took it from their queues.
    taken: Taken,
    /// A group's delivery of it goes in paced turns (see [`crate::hub::FANOUT_TURN`])
    /// while nothing waits in this backlog.
    paced: Option<Backlog>,
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
            taken: Taken::default(),
            paced: None,
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
            taken: Taken::default(),
            paced: None,
        })
    }

    /// The push as a frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The conversation and seq of a `msg` push.
    pub fn msg_place(&self) -> Option<(&str, u64)> {
        match &self.frame.op {
            Some(Op::Msg(message)) => Some((message.conv.as_str(), message.seq)),
            _ => None,
        }
    }

    /// The seq of the message it carries, if it is a `msg` push.
    pub fn msg_seq(&self) -> Option<u64> {
        match &self.frame.op {
            Some(Op::Msg(message)) => Some(message.seq),
            _ => None,
        }
    }

    /// The push's bytes in `encoding`, encoded on first use.
    pub fn encoded(&self, encoding: Encoding) -> Bytes {
        let cell = match encoding {
            Encoding::Json => &self.json,
            Encoding::Protobuf => &self.protobuf,
        };
        cell.get_or_init(|| encoding.encode(&self.frame)).clone()
    }

    /// The same push, delivered to a group in paced turns: other work on the
    /// node waits behind one turn of it, not behind all of it. For a push with
    /// nothing behind it in `behind`, its fan-out queue; once pushes queue up
    /// there, the rest of it goes out at once, as pushes that queue up deliver
    /// faster unpaced.
    pub fn paced(self, behind: Backlog) -> Self {
        Self {
            paced: Some(behind),
            ..self
        }
    }

    /// Whether a group's delivery of it goes in paced turns, now: it was made
    /// paced and nothing has queued up behind it since.
    pub(crate) fn is_paced(&self) -> bool {
        self.paced.as_ref().is_some_and(Backlog::is_empty)
    }

    /// A connection took it from its queue. Counted for a paced push only,
    /// the one whose delivery waits on the count: others skip the shared
    /// counter, which every receiving connection would touch.
    pub(crate) fn was_taken(&self) {
        if self.paced.is_some() {
            self.taken.one();
        }
    }

    /// How many connections took it from their queues (if it is paced).
    pub(crate) fn taken(&self) -> &Taken {
        &self.taken
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::Kicked;

    use super::*;

    #[test]
    fn a_paced_push_is_paced_only_while_nothing_waits_behind_it() {
        let op = || Op::Kicked(Kicked { reason: "x".into() });
        assert!(!Push::new(op()).is_paced());
        let backlog = Backlog::default();
        let push = Push::new(op()).paced(backlog.clone());
        assert!(push.is_paced());
        backlog.queued();
        assert!(!push.is_paced(), "a push queued behind it");
        backlog.taken();
        assert!(push.is_paced());
    }
}
