//! A conversation as lines: `HH:MM name: text`, own messages marked with
//! where they are (… sending, ✓ sent, ✓✓ read, ✗ failed), never an id.

use koi_client::proto::Message;

use super::clock::Clock;
use super::conversation::Conversation;
use crate::cli::body;

/// Where an own message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Someone else's message.
    None,
    Sending,
    Sent,
    Read,
    Failed,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::None => "",
            Mark::Sending => "…",
            Mark::Sent => "✓",
            Mark::Read => "✓✓",
            Mark::Failed => "✗",
        }
    }
}

/// One message, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `HH:MM`.
    pub time: String,
    pub from: String,
    pub text: String,
    pub mark: Mark,
}

impl Entry {
    /// `HH:MM name: text ✓`.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}: {}", self.time, self.from, self.text);
        if self.mark != Mark::None {
            line.push(' ');
            line.push_str(self.mark.symbol());
        }
        line
    }
}

/// Every loaded message of `conv`, oldest first, then own messages in flight.
pub fn entries(conv: &Conversation, me: &str, clock: Clock) -> Vec<Entry> {
    let stored = conv.msgs.values().map(|m| Entry {
        time: clock.hh_mm(m.ts),
        from: m.from.clone(),
        text: shown(m),
        mark: if m.from != me || m.kind == "recalled" {
            Mark::None
        } else if conv.seen_by_peer(m.seq) {
            Mark::Read
        } else {
            Mark::Sent
        },
    });
    let pending = conv.pending.iter().map(|p| Entry {
        time: clock.hh_mm(p.ts),
        from: me.to_owned(),
        text: match &p.failed {
            Some(code) => format!("{} (not sent: {code})", p.text),
            None => p.text.clone(),
        },
        mark: if p.failed.is_some() {
            Mark::Failed
        } else {
            Mark::Sending
        },
    });
    stored.chain(pending).collect()
}

/// The body, with recalled messages marked.
fn shown(m: &Message) -> String {
    if m.kind == "recalled" {
        return "(recalled)".to_owned();
    }
    let mut text = match m.reply_to {
        Some(seq) => format!("↪#{seq} {}", body(m)),
        None => body(m),
    };
    if m.edited_ts.is_some() {
        text.push_str(" (edited)");
    }
    for r in &m.reactions {
        text.push_str(&format!(" {}{}", r.emoji, r.count));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::chat::conversation::Pending;

    fn msg(seq: u64, from: &str, text: &str) -> Message {
        Message {
            conv: "d:alice:bob".into(),
            seq,
            from: from.into(),
            kind: "text".into(),
            text: Some(text.into()),
            ts: 1_732_363_200_456 + seq * 60_000,
            ..Default::default()
        }
    }

    #[test]
    fn lines_show_time_name_text_and_where_own_messages_are() {
        let mut conv = Conversation::new("d:alice:bob", "alice");
        conv.insert(msg(1, "bob", "hi"));
        conv.insert(msg(2, "alice", "hello"));
        conv.insert(msg(3, "alice", "there"));
        conv.peer_read = 2;
        conv.pending.push(Pending {
            client_msg_id: "c".into(),
            text: "later".into(),
            ts: 1_732_363_200_456,
            failed: None,
        });
        let lines: Vec<String> = entries(&conv, "alice", Clock::default())
            .iter()
            .map(Entry::line)
            .collect();
        assert_eq!(
            lines,
            [
                "12:01 bob: hi",
                "12:02 alice: hello ✓✓",
                "12:03 alice: there ✓",
                "12:00 alice: later …",
            ]
        );
    }

    #[test]
    fn recalled_messages_say_so() {
        let mut conv = Conversation::new("d:alice:bob", "alice");
        conv.insert(msg(1, "alice", "oops"));
        conv.recall(1);
        assert_eq!(
            entries(&conv, "alice", Clock::default())[0].line(),
            "12:01 alice: (recalled)"
        );
    }
}
