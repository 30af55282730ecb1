//! What the screen asks of the server, and what comes back: the state decides,
//! [`super::runner`] does the I/O.

use koi_client::proto::{ConvSummary, Message};

/// A request to make, off the screen's loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Sync,
    /// The latest page of `conv`, or the page before `before`.
    History {
        conv: String,
        before: Option<u64>,
    },
    Read {
        conv: String,
        seq: u64,
    },
    /// A text, to the user `to` (direct) or into `conv`.
    Send {
        conv: String,
        to: Option<String>,
        client_msg_id: String,
        text: String,
        reply_to: Option<u64>,
    },
    Edit {
        conv: String,
        seq: u64,
        text: String,
    },
    React {
        conv: String,
        seq: u64,
        emoji: String,
    },
    Unreact {
        conv: String,
        seq: u64,
        emoji: String,
    },
    /// Who read message `seq` of `conv`.
    ReadBy {
        conv: String,
        seq: u64,
    },
    /// The user is typing in `conv`.
    Typing(String),
    /// Which of these users are online.
    Presence(Vec<String>),
    Search(String),
    /// Whether `user` exists (`/to`).
    CheckUser(String),
    GroupCreate {
        name: String,
        members: Vec<String>,
    },
    GroupJoin(String),
    GroupLeave(String),
    GroupInfo(String),
    File {
        conv: String,
        to: Option<String>,
        path: String,
    },
    Sessions,
    EndSession(String),
    Logout {
        all: bool,
    },
}

/// What a request brought back.
#[derive(Debug, Clone)]
pub enum Outcome {
    Synced(Vec<ConvSummary>),
    History {
        conv: String,
        msgs: Vec<Message>,
    },
    /// The stored message, or the error code of a failed send.
    Sent {
        conv: String,
        client_msg_id: String,
        result: Result<Box<Message>, String>,
    },
    /// An own message was edited: (this connection gets no push of it).
    Edited {
        conv: String,
        seq: u64,
        text: String,
    },
    /// `/to`: the user exists.
    UserExists(String),
    /// A group was created or joined: open it.
    Joined(String),
    /// The user left this group.
    Left(String),
    /// Who of the users asked about are online.
    Online {
        asked: Vec<String>,
        online: Vec<String>,
    },
    /// Lines for the panel.
    Panel(Vec<String>),
    /// One line for the status bar.
    Status(String),
    /// `/logout` succeeded (`all`: every device): leave.
    LoggedOut {
        all: bool,
    },
}
