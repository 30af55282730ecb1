//! One conversation as the terminal client knows it: its messages by seq, the
//! read cursors, and the own messages still waiting for their `send` reply.

use std::collections::BTreeMap;

use koi_client::proto::{ConvSummary, Message};

/// What kind of conversation, with what the prompt and the list call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// With `peer`.
    Direct { peer: String },
    /// A group, by its name.
    Group { name: String },
    /// The user's own system conversation (read-only).
    System,
}

/// An own message sent but not (or not successfully) answered yet.
#[derive(Debug, Clone)]
pub struct Pending {
    pub client_msg_id: String,
    pub text: String,
    pub ts: u64,
    /// The error code once the send failed.
    pub failed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Conversation {
    /// `d:a:b`, `g:<id>` or `s:<user>`.
    pub conv: String,
    pub place: Place,
    pub last_seq: u64,
    /// The user's read cursor.
    pub read_seq: u64,
    /// Messages of others after the read cursor, as `sync` counted them and
    /// pushes added to.
    unread: u64,
    /// The other user's read cursor (direct conversations), as receipts tell.
    pub peer_read: u64,
    pub last_ts: u64,
    /// The messages loaded so far, by seq.
    pub msgs: BTreeMap<u64, Message>,
    pub pending: Vec<Pending>,
    /// Whether the latest page of history was fetched.
    pub loaded: bool,
}

impl Conversation {
    /// A conversation known only by its id (a push, or `/to USER`).
    pub fn new(conv: &str, me: &str) -> Conversation {
        let place = if let Some(users) = conv.strip_prefix("d:") {
            let peer = users.split(':').find(|u| *u != me).unwrap_or(me).to_owned();
            Place::Direct { peer }
        } else if conv.starts_with("s:") {
            Place::System
        } else {
            // Named once `sync` answers.
            Place::Group {
                name: conv.trim_start_matches("g:").to_owned(),
            }
        };
        Conversation {
            conv: conv.to_owned(),
            place,
            last_seq: 0,
            read_seq: 0,
            unread: 0,
            peer_read: 0,
            last_ts: 0,
            msgs: BTreeMap::new(),
            pending: Vec::new(),
            loaded: false,
        }
    }

    /// Takes what `sync` says; cursors never go backwards.
    pub fn update(&mut self, summary: &ConvSummary) {
        match (summary.kind.as_str(), &summary.peer, &summary.name) {
            ("direct", Some(peer), _) => self.place = Place::Direct { peer: peer.clone() },
            ("group", _, Some(name)) => self.place = Place::Group { name: name.clone() },
            ("system", ..) => self.place = Place::System,
            _ => {}
        }
        self.last_seq = self.last_seq.max(summary.last_seq);
        self.read_seq = self.read_seq.max(summary.read_seq);
        self.last_ts = self.last_ts.max(summary.last_ts);
        // Without events and one's own messages (§11).
        self.unread = summary.unread;
        if self.read_seq >= self.last_seq {
            self.unread = 0;
        }
    }

    /// Messages not read yet.
    pub fn unread(&self) -> u64 {
        self.unread
    }

    /// Moves the read cursor to `seq` (never back); what it passes is read.
    pub fn read_to(&mut self, seq: u64) {
        self.read_seq = self.read_seq.max(seq);
        self.unread = if self.read_seq >= self.last_seq {
            0
        } else {
            self.unread.min(self.last_seq - self.read_seq)
        };
    }

    /// A pushed message; `counts` when it is someone else's and not seen at
    /// once. A message `sync` already counted is not counted again.
    pub fn arrived(&mut self, m: Message, counts: bool) {
        if counts && m.event.is_none() && m.seq > self.last_seq {
            self.unread += 1;
        }
        self.insert(m);
    }

    /// What the list and the prompt call it: `bob`, `#team`, `system`.
    pub fn title(&self) -> String {
        match &self.place {
            Place::Direct { peer } => peer.clone(),
            Place::Group { name } => format!("#{name}"),
            Place::System => "system".to_owned(),
        }
    }

    /// The prompt: `to bob ›`, `#team ›`.
    pub fn prompt(&self) -> String {
        match &self.place {
            Place::Direct { peer } => format!("to {peer} › "),
            _ => format!("{} › ", self.title()),
        }
    }

    /// A message arrived or was loaded. Events (§11) are not shown: they
    /// change the message they refer to.
    pub fn insert(&mut self, m: Message) {
        self.last_seq = self.last_seq.max(m.seq);
        self.last_ts = self.last_ts.max(m.ts);
        match &m.event {
            Some(event) => self.apply(event, m.ts),
            None => {
                self.msgs.insert(m.seq, m);
            }
        }
    }

    /// Message `seq` now reads `text`.
    pub fn edited(&mut self, seq: u64, text: String, ts: u64) {
        if let Some(m) = self.msgs.get_mut(&seq) {
            m.text = Some(text);
            m.edited_ts = Some(ts);
        }
    }

    /// An event: an edit's new text, a recall.
    fn apply(&mut self, event: &koi_client::proto::Event, ts: u64) {
        let Some(seq) = event.r#ref else { return };
        match event.r#type.as_str() {
            "recall" => self.recall(seq),
            "edit" => {
                if let Some(m) = self.msgs.get_mut(&seq) {
                    if let Some(text) = &event.text {
                        m.text = Some(text.clone());
                    }
                    m.edited_ts = Some(ts);
                }
            }
            _ => {}
        }
    }

    /// The seq of the user's latest message (for `/edit`), or of the latest
    /// message (`mine` false, for `/react`).
    pub fn latest(&self, me: &str, mine: bool) -> Option<u64> {
        self.msgs
            .values()
            .rev()
            .find(|m| m.kind != "recalled" && (!mine || m.from == me))
            .map(|m| m.seq)
    }

    /// The oldest seq loaded, when older messages may exist.
    pub fn older_than(&self) -> Option<u64> {
        self.msgs.keys().next().copied().filter(|&seq| seq > 1)
    }

    /// A message was recalled.
    pub fn recall(&mut self, seq: u64) {
        if let Some(m) = self.msgs.get_mut(&seq) {
            m.kind = "recalled".to_owned();
            m.text = None;
            m.file = None;
        }
    }

    /// Whether the other user has read `seq` (direct conversations only).
    pub fn seen_by_peer(&self, seq: u64) -> bool {
        matches!(self.place, Place::Direct { .. }) && self.peer_read >= seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_is_named_after_the_other_user_or_the_group() {
        let direct = Conversation::new("d:alice:bob", "bob");
        assert_eq!(direct.title(), "alice");
        assert_eq!(direct.prompt(), "to alice › ");
        let mut group = Conversation::new("g:01abc", "bob");
        group.update(&ConvSummary {
            conv: "g:01abc".into(),
            kind: "group".into(),
            group: Some("01abc".into()),
            name: Some("team".into()),
            last_seq: 5,
            read_seq: 2,
            unread: 3,
            last_ts: 1,
            peer: None,
            ..Default::default()
        });
        assert_eq!(group.prompt(), "#team › ");
        assert_eq!(group.unread(), 3);
        assert_eq!(Conversation::new("s:bob", "bob").title(), "system");
    }

    #[test]
    fn receipts_count_in_direct_conversations_only() {
        let mut direct = Conversation::new("d:alice:bob", "bob");
        direct.peer_read = 4;
        assert!(direct.seen_by_peer(4));
        assert!(!direct.seen_by_peer(5));
        let mut group = Conversation::new("g:1", "bob");
        group.peer_read = 9;
        assert!(!group.seen_by_peer(1));
    }
}
