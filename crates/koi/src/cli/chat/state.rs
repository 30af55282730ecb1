//! Everything the screen shows, and how typed lines, commands and keys change
//! it (the server's side: `incoming.rs`). No I/O: changes that need the server
//! return [`Effect`]s.

use std::collections::HashSet;

use super::clock::Clock;
use super::command::{Command, HELP, Input};
use super::conversation::{Conversation, Pending, Place};
use super::editor::Editor;
use super::effect::Effect;
use crate::cli::client_msg_id;

pub struct Chat {
    pub me: String,
    pub clock: Clock,
    /// Newest activity first.
    pub convs: Vec<Conversation>,
    /// The open conversation's id.
    pub current: Option<String>,
    pub editor: Editor,
    /// Lines scrolled up from the bottom of the open conversation.
    pub scroll: usize,
    /// Set by the view when `scroll` reached the oldest line loaded.
    pub at_top: bool,
    /// The message area's height, as last drawn.
    pub page: usize,
    /// One line under the messages: errors, confirmations.
    pub status: String,
    /// Shown over the messages until Esc (help, sessions, a choice).
    pub panel: Vec<String>,
    /// `/group NAME` matched several: their conversations, numbered from 1.
    pub choice: Vec<String>,
    /// `/group NAME` found nothing: looked up again once `sync` answers.
    pub group_wanted: Option<String>,
    pub connected: bool,
    pub quit: bool,
    /// Printed once the terminal is restored.
    pub farewell: Option<String>,
    /// Ctrl-L: repaint everything.
    pub redraw: bool,
    /// Direct peers with a connection, as `presence` tells.
    pub online: HashSet<String>,
    /// Who is typing where, until when (ms).
    pub typing: Vec<Typing>,
    /// When the user's typing was last told, and in which conversation.
    typing_told: Option<(String, u64)>,
}

/// Someone typing in a conversation: shown until `until` (ms) unless they
/// type again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    pub conv: String,
    pub user: String,
    pub until: u64,
}

/// How long a `typing` push is shown (ms); clients repeat it while typing.
pub(super) const TYPING_SHOWN_MS: u64 = 5_000;

/// How often one's own typing is told, at most (ms).
const TYPING_EVERY_MS: u64 = 3_000;

impl Chat {
    pub fn new(me: &str, clock: Clock) -> Chat {
        Chat {
            me: me.to_owned(),
            clock,
            convs: Vec::new(),
            current: None,
            editor: Editor::default(),
            scroll: 0,
            at_top: false,
            page: 0,
            status: "choose a conversation: Tab, /to USER, /group NAME (/help)".to_owned(),
            panel: Vec::new(),
            choice: Vec::new(),
            group_wanted: None,
            connected: true,
            quit: false,
            farewell: None,
            redraw: false,
            online: HashSet::new(),
            typing: Vec::new(),
            typing_told: None,
        }
    }

    /// Who is typing in `conv` at `now` (ms).
    pub fn typing_in(&self, conv: &str, now: u64) -> Vec<&str> {
        self.typing
            .iter()
            .filter(|t| t.conv == conv && t.until > now)
            .map(|t| t.user.as_str())
            .collect()
    }

    /// A key typed text into the line: tells the open conversation, at most
    /// every few seconds (not for `/commands`).
    pub fn typed(&mut self, now: u64) -> Vec<Effect> {
        if self.editor.text().starts_with('/') {
            return Vec::new();
        }
        let Some(conv) = self.open_conv() else {
            return Vec::new();
        };
        if conv.place == Place::System {
            return Vec::new();
        }
        let id = conv.conv.clone();
        match &self.typing_told {
            Some((told, at)) if *told == id && now < at + TYPING_EVERY_MS => Vec::new(),
            _ => {
                self.typing_told = Some((id.clone(), now));
                vec![Effect::Typing(id)]
            }
        }
    }

    pub fn conv(&self, id: &str) -> Option<&Conversation> {
        self.convs.iter().find(|c| c.conv == id)
    }

    pub(super) fn conv_mut(&mut self, id: &str) -> &mut Conversation {
        let at = match self.convs.iter().position(|c| c.conv == id) {
            Some(at) => at,
            None => {
                self.convs.push(Conversation::new(id, &self.me));
                self.convs.len() - 1
            }
        };
        &mut self.convs[at]
    }

    pub fn open_conv(&self) -> Option<&Conversation> {
        self.current.as_deref().and_then(|id| self.conv(id))
    }

    /// The prompt before the typed line.
    pub fn prompt(&self) -> String {
        if !self.choice.is_empty() {
            return format!("choose 1-{} › ", self.choice.len());
        }
        self.open_conv()
            .map(Conversation::prompt)
            .unwrap_or_else(|| "› ".to_owned())
    }

    pub(super) fn sort(&mut self) {
        self.convs.sort_by_key(|c| std::cmp::Reverse(c.last_ts));
    }

    /// Opens `id`: loads its messages if needed and marks them read.
    pub fn open(&mut self, id: &str) -> Vec<Effect> {
        self.current = Some(id.to_owned());
        self.scroll = 0;
        self.panel.clear();
        self.choice.clear();
        let conv = self.conv_mut(id);
        let mut effects = Vec::new();
        if !conv.loaded {
            effects.push(Effect::History {
                conv: id.to_owned(),
                before: None,
            });
        }
        let behind = conv.read_seq < conv.last_seq;
        conv.read_to(conv.last_seq);
        if behind {
            effects.push(Effect::Read {
                conv: id.to_owned(),
                seq: conv.last_seq,
            });
        }
        self.status = "Tab: the next conversation · PageUp: older · /help".to_owned();
        effects
    }

    /// Tab, Ctrl-N (`step` 1) or Shift-Tab, Ctrl-P (`step` -1).
    pub fn switch(&mut self, step: isize) -> Vec<Effect> {
        if self.convs.is_empty() {
            self.status = "no conversations yet: /to USER or /group NAME".to_owned();
            return Vec::new();
        }
        let len = self.convs.len() as isize;
        let next = match self
            .current
            .as_deref()
            .and_then(|id| self.convs.iter().position(|c| c.conv == id))
        {
            Some(at) => (at as isize + step).rem_euclid(len),
            None if step > 0 => 0,
            None => len - 1,
        };
        let id = self.convs[next as usize].conv.clone();
        self.open(&id)
    }

    /// Enter: the typed line.
    pub fn submit(&mut self) -> Vec<Effect> {
        let line = self.editor.take();
        if !self.choice.is_empty() {
            return self.choose(line.trim());
        }
        self.panel.clear();
        match super::command::parse(&line) {
            Ok(None) => Vec::new(),
            Ok(Some(Input::Text(text))) => self.send(text),
            Ok(Some(Input::Command(command))) => self.command(command),
            Err(usage) => {
                self.status = usage.0;
                Vec::new()
            }
        }
    }

    fn choose(&mut self, answer: &str) -> Vec<Effect> {
        let picked = answer
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.choice.get(i).cloned());
        match picked {
            Some(id) => self.open(&id),
            None => {
                self.status = format!("type a number from 1 to {} (Esc: none)", self.choice.len());
                Vec::new()
            }
        }
    }

    /// Esc: closes the panel and forgets a choice.
    pub fn dismiss(&mut self) {
        self.panel.clear();
        self.choice.clear();
    }

    /// Where the open conversation sends: the peer (direct) or the conversation.
    fn target(&mut self) -> Option<(String, Option<String>)> {
        let Some(conv) = self.open_conv() else {
            self.status = "choose someone first: /to USER, /group NAME or Tab".to_owned();
            return None;
        };
        let to = match &conv.place {
            Place::Direct { peer } => Some(peer.clone()),
            Place::Group { .. } => None,
            Place::System => {
                self.status = "the system conversation is read-only".to_owned();
                return None;
            }
        };
        Some((conv.conv.clone(), to))
    }

    fn send(&mut self, text: String) -> Vec<Effect> {
        self.send_reply(text, None)
    }

    fn send_reply(&mut self, text: String, reply_to: Option<u64>) -> Vec<Effect> {
        let Some((conv, to)) = self.target() else {
            return Vec::new();
        };
        let id = client_msg_id();
        self.conv_mut(&conv).pending.push(Pending {
            client_msg_id: id.clone(),
            text: text.clone(),
            ts: now_ms(),
            failed: None,
        });
        self.scroll = 0;
        vec![Effect::Send {
            conv,
            to,
            client_msg_id: id,
            text,
            reply_to,
        }]
    }

    fn command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::To(user) => self.open_user(user),
            Command::Group(name) => self.group(&name, true),
            Command::GroupCreate { name, members } => vec![Effect::GroupCreate { name, members }],
            Command::GroupJoin(id) => vec![Effect::GroupJoin(id)],
            Command::GroupLeave => self
                .open_group("leave")
                .map(Effect::GroupLeave)
                .into_iter()
                .collect(),
            Command::GroupInfo => self
                .open_group("info")
                .map(Effect::GroupInfo)
                .into_iter()
                .collect(),
            Command::File(path) => match self.target() {
                Some((conv, to)) => vec![Effect::File { conv, to, path }],
                None => Vec::new(),
            },
            Command::Edit { seq, text } => {
                self.on_message(seq, true, |conv, seq| Effect::Edit { conv, seq, text })
            }
            Command::React { emoji, seq } => {
                self.on_message(seq, false, |conv, seq| Effect::React { conv, seq, emoji })
            }
            Command::Unreact { emoji, seq } => {
                self.on_message(seq, false, |conv, seq| Effect::Unreact { conv, seq, emoji })
            }
            Command::ReadBy(seq) => {
                self.on_message(seq, true, |conv, seq| Effect::ReadBy { conv, seq })
            }
            Command::Reply { seq, text } => self.send_reply(text, Some(seq)),
            Command::Search(words) => vec![Effect::Search(words)],
            Command::Sessions => vec![Effect::Sessions],
            Command::EndSession(id) => vec![Effect::EndSession(id)],
            Command::Logout { all } => vec![Effect::Logout { all }],
            Command::Help => {
                self.panel = HELP.iter().map(|l| (*l).to_owned()).collect();
                Vec::new()
            }
            Command::Quit => {
                self.quit = true;
                Vec::new()
            }
        }
    }

    fn open_user(&mut self, user: String) -> Vec<Effect> {
        if user == self.me {
            self.status = "that is you: write to someone else".to_owned();
            return Vec::new();
        }
        let known = self
            .convs
            .iter()
            .find(|c| matches!(&c.place, Place::Direct { peer } if *peer == user));
        if let Some(conv) = known.map(|c| c.conv.clone()) {
            return self.open(&conv);
        }
        self.status = format!("looking for {user}…");
        vec![Effect::CheckUser(user)]
    }

    /// An effect on message `seq` of the open conversation, or on its latest
    /// (own, with `mine`) message.
    fn on_message(
        &mut self,
        seq: Option<u64>,
        mine: bool,
        effect: impl FnOnce(String, u64) -> Effect,
    ) -> Vec<Effect> {
        let Some(conv) = self.open_conv() else {
            self.status = "open a conversation first".to_owned();
            return Vec::new();
        };
        match seq.or_else(|| conv.latest(&self.me, mine)) {
            Some(seq) => vec![effect(conv.conv.clone(), seq)],
            None => {
                self.status = "no message to do that to here".to_owned();
                Vec::new()
            }
        }
    }

    /// The open conversation, when it is a group; else says so for `/group WHAT`.
    fn open_group(&mut self, what: &str) -> Option<String> {
        match self.current.as_deref() {
            Some(id) if id.starts_with("g:") => Some(id.to_owned()),
            _ => {
                self.status = format!("/group {what} is about the open group: open one first");
                None
            }
        }
    }

    /// `/group NAME`: your groups named NAME (case-insensitive), or `g:ID`.
    /// With `refresh`, a name not found is looked up again after a `sync` (a
    /// group one was added to shows in `sync` before its first message).
    pub(super) fn group(&mut self, name: &str, refresh: bool) -> Vec<Effect> {
        let matches: Vec<String> = self
            .convs
            .iter()
            .filter(|c| match &c.place {
                Place::Group { name: n } => n.eq_ignore_ascii_case(name) || c.conv == name,
                _ => false,
            })
            .map(|c| c.conv.clone())
            .collect();
        match matches.as_slice() {
            [] if refresh => {
                self.status = format!("looking for the group {name}…");
                self.group_wanted = Some(name.to_owned());
                vec![Effect::Sync]
            }
            [] => {
                self.status =
                    format!("you are in no group named {name} (/group join ID to join one)");
                Vec::new()
            }
            [one] => {
                let one = one.clone();
                self.open(&one)
            }
            several => {
                self.panel = vec![format!("{} groups are named {name}:", several.len())];
                for (n, id) in several.iter().enumerate() {
                    let unread = self.conv(id).map_or(0, Conversation::unread);
                    self.panel
                        .push(format!("  {}) #{name} ({id}, {unread} unread)", n + 1));
                }
                self.panel.push("type its number (Esc: none)".to_owned());
                self.choice = several.to_vec();
                Vec::new()
            }
        }
    }

    /// PageUp / the wheel: older lines; at the top, older messages.
    pub fn scroll_up(&mut self, lines: usize) -> Vec<Effect> {
        if self.at_top {
            if let Some(conv) = self.open_conv()
                && let Some(before) = conv.older_than()
            {
                return vec![Effect::History {
                    conv: conv.conv.clone(),
                    before: Some(before),
                }];
            }
            return Vec::new();
        }
        self.scroll += lines;
        Vec::new()
    }

    pub fn scroll_down(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_sub(lines);
        self.at_top = false;
    }
}

/// Now, in milliseconds since the epoch.
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
