//! Searching messages: the FTS5 index for what is in `messages`, and the
//! pending messages in memory for what is still in the journal.

use std::collections::HashSet;

use koi_core::search_terms::Term;
use koi_core::{Search, UserId};
use koi_proto::Message;
use rusqlite::{Connection, params};

use super::groups;
use super::recent::{Pending, Recent};
use super::search_index;
use crate::StoreError;
use crate::message_row::{message as from_row, message_columns};

/// The conversations `?2` may read now: their direct (and system)
/// conversations, and the groups they are a member of.
macro_rules! readable {
    () => {
        "SELECT conv FROM conv_users WHERE user = ?2 \
         UNION ALL SELECT g.conv FROM group_members gm JOIN groups g ON g.id = gm.group_id \
         WHERE gm.user = ?2"
    };
}

/// Indexed matches, newest (highest id) first.
const INDEXED: &str = concat!(
    "SELECT c.name, ",
    message_columns!(),
    " FROM message_search s \
     JOIN messages m ON m.conv = (s.rowid >> 32) AND m.seq = (s.rowid & 4294967295) \
     JOIN convs c ON c.id = m.conv \
     WHERE message_search MATCH ?1 \
     AND m.conv IN (",
    readable!(),
    ") \
     AND (?3 IS NULL OR s.sender = ?3) \
     AND (?4 IS NULL OR s.id < ?4) \
     AND (?5 IS NULL OR c.name = ?5) \
     AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                     WHERE h.user = ?2 AND h.conv = m.conv AND h.seq = m.seq) \
     ORDER BY s.id DESC LIMIT ?6"
);

/// The store's search: indexed matches merged with pending ones, newest
/// first; a message in both places is taken from `messages`.
pub(super) fn search(
    conn: &Connection,
    recent: &Recent,
    user: &UserId,
    search: &Search,
) -> Result<Vec<Message>, StoreError> {
    let from = search.from.as_ref().map(UserId::as_str);
    let conv = search.conv.as_ref().map(ToString::to_string);
    let mut stmt = conn.prepare_cached(INDEXED)?;
    let rows = stmt.query_map(
        params![
            fts_query(&search.terms),
            user.as_str(),
            from,
            search.before,
            conv,
            search.limit
        ],
        |row| {
            let conv: String = row.get(0)?;
            from_row(conv, row, 1)
        },
    )?;
    let mut found = rows.collect::<Result<Vec<_>, _>>()?;
    let indexed: HashSet<(String, u64)> = found.iter().map(|m| (m.conv.clone(), m.seq)).collect();
    for pending in pending_matches(conn, recent, user, search)? {
        if !indexed.contains(&(pending.conv.clone(), pending.seq)) {
            found.push(pending);
        }
    }
    found.sort_by(|a, b| b.id.cmp(&a.id));
    found.truncate(search.limit as usize);
    Ok(found)
}

/// The messages still in the journal that `user` may read and that match.
fn pending_matches(
    conn: &Connection,
    recent: &Recent,
    user: &UserId,
    search: &Search,
) -> Result<Vec<Message>, StoreError> {
    let groups = groups::conv_names(conn, user)?;
    let conv = search.conv.as_ref().map(ToString::to_string);
    let mut candidates: Vec<Pending> = Vec::new();
    for p in recent.messages_for(user.as_str(), &groups) {
        let m = &p.message;
        if !(conv.as_ref().is_none_or(|c| *c == m.conv)
            && search.from.as_ref().is_none_or(|f| f.as_str() == m.from)
            && search.before.as_ref().is_none_or(|b| m.id < *b))
        {
            continue;
        }
        // An edit of a message still in the journal lives in `edits`.
        let edited = search_index::edited_text(conn, p.conv_id, m.seq)?;
        let text = edited.as_deref().or(m.text.as_deref());
        if search.matches(&m.kind, text) {
            candidates.push(p);
        }
    }
    let mut hidden = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM hidden_messages WHERE user = ?1 AND conv = ?2 AND seq = ?3)",
    )?;
    let mut visible = Vec::with_capacity(candidates.len());
    for p in candidates {
        let is_hidden: bool = hidden.query_row(
            params![user.as_str(), p.conv_id, p.message.seq as i64],
            |row| row.get(0),
        )?;
        if !is_hidden {
            visible.push(Message::clone(&p.message));
        }
    }
    Ok(visible)
}

/// The FTS5 query for `terms`: all of them, each a quoted string (so nothing
/// in it is query syntax), prefixes starred, phrases as their tokens in order.
fn fts_query(terms: &[Term]) -> String {
    let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    terms
        .iter()
        .map(|term| match term {
            Term::Word(word) => quoted(word),
            Term::Prefix(prefix) => format!("{}*", quoted(prefix)),
            Term::Phrase(tokens) => quoted(&tokens.join(" ")),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_every_term() {
        let terms = [
            Term::Word("a\"b".into()),
            Term::Phrase(vec!["中国".into(), "国人".into()]),
            Term::Prefix("x".into()),
        ];
        assert_eq!(fts_query(&terms), r#""a""b" AND "中国 国人" AND "x"*"#);
    }
}
