//! How the server changes the screen's state: pushes, connection events and
//! the replies to [`Effect`]s.

use koi_client::proto::frame::Op;
use koi_client::proto::{ConvSummary, Message};

use super::conversation::{Conversation, Place};
use super::effect::{Effect, Outcome};
use super::state::{Chat, TYPING_SHOWN_MS, Typing};

/// The most users one `presence` request asks about (the protocol's bound).
pub(super) const PRESENCE_QUERY: usize = 1000;
use crate::cli::direct_conv;

impl Chat {
    /// A push from the server.
    pub fn push(&mut self, op: Op) -> Vec<Effect> {
        match op {
            Op::Msg(m) => self.message(m),
            Op::Receipt(r) => {
                let me = self.me.clone();
                let conv = self.conv_mut(&r.conv);
                if r.user == me {
                    conv.read_to(r.seq);
                } else {
                    conv.peer_read = conv.peer_read.max(r.seq);
                }
                Vec::new()
            }
            Op::Recalled(r) => {
                self.conv_mut(&r.conv).recall(r.seq);
                Vec::new()
            }
            Op::Typing(t) => {
                if let Some(user) = t.user.filter(|u| *u != self.me) {
                    let until = super::state::now_ms() + TYPING_SHOWN_MS;
                    self.typing
                        .retain(|x| !(x.conv == t.conv && x.user == user));
                    self.typing.push(Typing {
                        conv: t.conv,
                        user,
                        until,
                    });
                }
                Vec::new()
            }
            Op::Presence(p) => {
                if let (Some(user), Some(online)) = (p.user, p.online) {
                    if online {
                        self.online.insert(user);
                    } else {
                        self.online.remove(&user);
                    }
                }
                Vec::new()
            }
            Op::Kicked(k) => {
                self.status = format!("the server logged this device out: {}", k.reason);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn message(&mut self, m: Message) -> Vec<Effect> {
        let known = self.conv(&m.conv).is_some();
        let open = self.current.as_deref() == Some(m.conv.as_str());
        let mine = m.from == self.me;
        let (id, seq) = (m.conv.clone(), m.seq);
        self.typing.retain(|t| !(t.conv == id && t.user == m.from));
        let conv = self.conv_mut(&id);
        conv.arrived(m, !open && !mine);
        let mut effects = Vec::new();
        if open || mine {
            conv.read_to(seq);
        }
        if open {
            effects.push(Effect::Read { conv: id, seq });
        }
        if !known {
            // A new group is named by `sync`.
            effects.push(Effect::Sync);
        }
        self.sort();
        effects
    }

    /// The client (re)connected: catch up the list.
    pub fn connected(&mut self, reconnect: bool) -> Vec<Effect> {
        self.connected = true;
        if reconnect {
            self.status = "reconnected".to_owned();
        }
        vec![Effect::Sync]
    }

    pub fn disconnected(&mut self, reason: &str, reconnecting: bool) {
        self.connected = false;
        self.status = if reconnecting {
            format!("disconnected ({reason}); reconnecting…")
        } else {
            format!("disconnected for good ({reason}); /quit to leave")
        };
    }

    /// A reply came back.
    pub fn outcome(&mut self, outcome: Outcome) -> Vec<Effect> {
        match outcome {
            Outcome::Synced(summaries) => self.synced(&summaries),
            Outcome::History { conv, msgs } => {
                let conv = self.conv_mut(&conv);
                conv.loaded = true;
                for m in msgs {
                    conv.insert(m);
                }
                Vec::new()
            }
            Outcome::Sent {
                conv,
                client_msg_id,
                result,
            } => self.sent(&conv, &client_msg_id, result),
            Outcome::Edited { conv, seq, text } => {
                self.conv_mut(&conv)
                    .edited(seq, text, super::state::now_ms());
                self.status = format!("#{seq} edited");
                Vec::new()
            }
            Outcome::UserExists(user) => {
                let conv = direct_conv(&self.me, &user);
                self.open(&conv)
            }
            Outcome::Joined(conv) => {
                let mut effects = self.open(&conv);
                effects.push(Effect::Sync);
                effects
            }
            Outcome::Left(conv) => {
                let title = self
                    .conv(&conv)
                    .map_or_else(|| conv.clone(), Conversation::title);
                self.convs.retain(|c| c.conv != conv);
                if self.current.as_deref() == Some(conv.as_str()) {
                    self.current = None;
                }
                self.status = format!("you left {title}");
                Vec::new()
            }
            Outcome::Online { asked, online } => {
                for user in asked {
                    self.online.remove(&user);
                }
                self.online.extend(online);
                Vec::new()
            }
            Outcome::Panel(lines) => {
                self.panel = lines;
                Vec::new()
            }
            Outcome::Status(line) => {
                self.status = line;
                Vec::new()
            }
            Outcome::LoggedOut { all } => {
                self.quit = true;
                self.farewell = Some(
                    if all {
                        "logged out on every device"
                    } else {
                        "logged out"
                    }
                    .to_owned(),
                );
                Vec::new()
            }
        }
    }

    fn synced(&mut self, summaries: &[ConvSummary]) -> Vec<Effect> {
        for s in summaries {
            self.conv_mut(&s.conv).update(s);
        }
        // Groups left (or lost) elsewhere drop out; open or unsaved ones stay.
        self.convs.retain(|c| {
            !c.conv.starts_with("g:")
                || summaries.iter().any(|s| s.conv == c.conv)
                || self.current.as_deref() == Some(c.conv.as_str())
        });
        self.sort();
        // Whether the people one writes with are online (`presence` pushes
        // keep it current from here).
        let peers: Vec<String> = self
            .convs
            .iter()
            .filter_map(|c| match &c.place {
                Place::Direct { peer } => Some(peer.clone()),
                _ => None,
            })
            .collect();
        // A server answers `presence` for at most 1,000 users at a time.
        let mut effects: Vec<Effect> = peers
            .chunks(PRESENCE_QUERY)
            .map(|users| Effect::Presence(users.to_vec()))
            .collect();
        if let Some(name) = self.group_wanted.take() {
            effects.extend(self.group(&name, false));
            return effects;
        }
        // Messages that came while away, in the open conversation.
        match self.open_conv() {
            Some(conv) if conv.read_seq < conv.last_seq || conv.unread() > 0 => {
                let (id, last) = (conv.conv.clone(), conv.last_seq);
                self.conv_mut(&id).read_to(last);
                effects.push(Effect::Read {
                    conv: id,
                    seq: last,
                });
            }
            _ => {}
        }
        effects
    }

    fn sent(
        &mut self,
        conv: &str,
        client_msg_id: &str,
        result: Result<Box<Message>, String>,
    ) -> Vec<Effect> {
        let c = self.conv_mut(conv);
        match result {
            Ok(m) => {
                c.pending.retain(|p| p.client_msg_id != client_msg_id);
                let seq = m.seq;
                c.insert(*m);
                c.read_to(seq);
                self.sort();
                // What one writes is read.
                vec![Effect::Read {
                    conv: conv.to_owned(),
                    seq,
                }]
            }
            Err(code) => {
                if let Some(p) = c
                    .pending
                    .iter_mut()
                    .find(|p| p.client_msg_id == client_msg_id)
                {
                    p.failed = Some(code.clone());
                }
                self.status = format!("not sent: {code}");
                Vec::new()
            }
        }
    }
}
