//! A message's lifecycle state kept beside it (§11): its latest edit and its
//! reactions, read for a page of history in one query each and folded into
//! the page by [`MessageStates::apply`].
//!
//! Both stores keep them in tables of their own keyed like `messages`
//! (`edits`, `reactions`), so that editing or reacting never rewrites a
//! message row (nor, in SQLite, a row still in the journal). The queries here
//! are written once for both engines, with `$N` parameters numbered in order
//! of first appearance (see `message_row`).

use std::collections::BTreeMap;

use koi_proto::{Message, Reaction};

/// A message's text and meta as last edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRecord {
    pub text: Option<String>,
    pub meta: Option<String>,
    pub edited_ts: u64,
}

/// The edits and reactions of a range of one conversation's messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageStates {
    pub edits: BTreeMap<u64, EditRecord>,
    /// Per seq, in the order each emoji was first used.
    pub reactions: BTreeMap<u64, Vec<Reaction>>,
}

/// The outcome of `read_by`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadBy {
    pub count: u32,
    pub users: Vec<String>,
}

/// `unread` and `mentions` in `sync` count up to this many (clients show
/// "999+"): counting stops there, so a long-unread conversation costs no more.
pub const UNREAD_CAP: u64 = 999;

/// Shown per emoji: the first this many users.
pub const REACTION_USERS_SHOWN: usize = 10;

impl MessageStates {
    /// Shows `message` as it is now: edited text and meta, and reactions. A
    /// recalled message keeps neither (recalling deletes them too).
    pub fn apply(&self, message: &mut Message) {
        if message.kind == "recalled" {
            return;
        }
        if let Some(edit) = self.edits.get(&message.seq) {
            message.text = edit.text.clone();
            message.meta = edit.meta.clone();
            message.edited_ts = Some(edit.edited_ts);
        }
        if let Some(reactions) = self.reactions.get(&message.seq) {
            message.reactions = reactions.clone();
        }
    }

    /// Adds one row of [`REACTIONS`]: `user` reacted `emoji` to `seq`, one of
    /// `count`; `mine` tells whether the reader is among them.
    pub(crate) fn add_reaction(
        &mut self,
        seq: u64,
        emoji: String,
        user: String,
        count: u32,
        mine: bool,
    ) {
        let list = self.reactions.entry(seq).or_default();
        match list.last_mut() {
            Some(last) if last.emoji == emoji => last.users.push(user),
            _ => list.push(Reaction {
                emoji,
                count,
                users: vec![user],
                me: mine,
            }),
        }
    }
}

/// `Limit` for a reaction that would be one emoji too many.
pub(crate) fn too_many_emoji(max_emoji: u32) -> crate::StoreError {
    crate::StoreError::Limit(format!(
        "a message has at most {max_emoji} distinct reactions"
    ))
}

/// The edits of `$1` (a conversation's name) with seq in `[$2, $3]`:
/// `seq, text, meta, edited_ts`.
pub(crate) const EDITS: &str = "\
    SELECT seq, text, meta, edited_ts FROM edits \
    WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq >= $2 AND seq <= $3";

/// The reactions to `$2`'s messages with seq in `[$3, $4]`, for reader `$1`:
/// per (seq, emoji) the first [`REACTION_USERS_SHOWN`] users, each row
/// `seq, emoji, user_id, count, mine (0/1)`, ordered by seq, then by when the
/// emoji was first used, then by when each user used it.
pub(crate) const REACTIONS: &str = "\
    SELECT seq, emoji, user_id, n, mine FROM ( \
        SELECT seq, emoji, user_id, \
               CAST(max(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) \
                   OVER (PARTITION BY seq, emoji) AS BIGINT) AS mine, \
               count(*) OVER (PARTITION BY seq, emoji) AS n, \
               min(at) OVER (PARTITION BY seq, emoji) AS first, \
               row_number() OVER (PARTITION BY seq, emoji ORDER BY at, user_id) AS rank \
        FROM reactions \
        WHERE conv = (SELECT id FROM convs WHERE name = $2) AND seq >= $3 AND seq <= $4 \
    ) r WHERE rank <= 10 ORDER BY seq, first, emoji, rank";

/// Records an edit: `$1` the conversation's name, `$2` the seq, `$3` the
/// text, `$4` the meta, `$5` when.
pub(crate) const UPSERT_EDIT: &str = "\
    INSERT INTO edits (conv, seq, text, meta, edited_ts) \
    VALUES ((SELECT id FROM convs WHERE name = $1), $2, $3, $4, $5) \
    ON CONFLICT (conv, seq) DO UPDATE \
    SET text = excluded.text, meta = excluded.meta, edited_ts = excluded.edited_ts";

/// How many distinct emoji message `$3` of conversation `$2` has, and whether
/// `$1` is one of them: `n, present (0/1)`.
pub(crate) const EMOJI_COUNT: &str = "\
    SELECT count(DISTINCT emoji), \
           CAST(coalesce(max(CASE WHEN emoji = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
    FROM reactions WHERE conv = (SELECT id FROM convs WHERE name = $2) AND seq = $3";

/// Adds reaction `$2` by `$3` to message `$1` of conversation `$4`; nothing
/// when it is there already. `at` numbers a message's reactions in the order
/// they came, so the first users shown are the first who reacted.
pub(crate) const INSERT_REACTION: &str = "\
    INSERT INTO reactions (conv, seq, emoji, user_id, at) \
    SELECT c.id, CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS TEXT), \
           coalesce((SELECT max(r.at) FROM reactions r WHERE r.conv = c.id AND r.seq = $1), 0) + 1 \
    FROM convs c WHERE c.name = $4 \
    ON CONFLICT (conv, seq, emoji, user_id) DO NOTHING";

/// Removes reaction `$3` by `$4` from message `$2` of conversation `$1`.
pub(crate) const DELETE_REACTION: &str = "\
    DELETE FROM reactions \
    WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq = $2 AND emoji = $3 \
    AND user_id = $4";

/// Adds a mention of `$1` by message `$3` of conversation `$2`.
pub(crate) const INSERT_MENTION: &str = "\
    INSERT INTO mentions (user_id, conv, seq) \
    VALUES ($1, (SELECT id FROM convs WHERE name = $2), $3) ON CONFLICT DO NOTHING";

/// What recalling message `$2` of conversation `$1` drops besides its content.
pub(crate) const FORGET_EDITS: &str = "\
    DELETE FROM edits WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq = $2";

/// [`FORGET_EDITS`] for reactions.
pub(crate) const FORGET_REACTIONS: &str = "\
    DELETE FROM reactions WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq = $2";

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of one emoji gather in one entry; a recalled message shows none.
    #[test]
    fn rows_fold_into_entries_and_recalled_messages_show_none() {
        let mut states = MessageStates::default();
        states.add_reaction(3, "👍".into(), "ann".into(), 2, true);
        states.add_reaction(3, "👍".into(), "bob".into(), 2, true);
        states.add_reaction(3, "🎉".into(), "bob".into(), 1, false);
        states.edits.insert(
            3,
            EditRecord {
                text: Some("new".into()),
                meta: None,
                edited_ts: 9,
            },
        );
        let mut m = Message {
            seq: 3,
            kind: "text".into(),
            text: Some("old".into()),
            ..Message::default()
        };
        states.apply(&mut m);
        assert_eq!(m.text.as_deref(), Some("new"));
        assert_eq!(m.edited_ts, Some(9));
        assert_eq!(m.reactions.len(), 2);
        assert_eq!(m.reactions[0].users, ["ann", "bob"]);
        assert!(m.reactions[0].me && !m.reactions[1].me);
        let mut recalled = Message {
            seq: 3,
            kind: "recalled".into(),
            ..Message::default()
        };
        states.apply(&mut recalled);
        assert!(recalled.reactions.is_empty() && recalled.edited_ts.is_none());
    }
}
