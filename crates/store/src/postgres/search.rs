//! Searching messages: the GIN-indexed `search` column of `messages`
//! ([`super::search_index`]).

use koi_core::search_terms::Term;
use koi_core::{Search, UserId};
use koi_proto::Message;

use super::connect::{Db, query};
use super::search_index::lexeme;
use crate::StoreError;
use crate::message_row::{self, message_columns};

/// Matches among the conversations `$2` may read now (their direct and
/// system conversations, the groups they are a member of), newest (highest
/// id) first, without the ones they hid.
const SEARCH: &str = concat!(
    "SELECT c.name, ",
    message_columns!(),
    " FROM messages m JOIN convs c ON c.id = m.conv \
     WHERE m.search @@ $1::text::tsquery \
     AND m.conv IN (SELECT conv FROM conv_users WHERE user_id = $2::text \
                    UNION ALL SELECT g.conv FROM group_members gm \
                    JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = $2::text) \
     AND ($3::text IS NULL OR m.sender = $3::text) \
     AND ($4::text IS NULL OR m.id < $4::text) \
     AND ($5::text IS NULL OR c.name = $5::text) \
     AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                     WHERE h.user_id = $2::text AND h.conv = m.conv AND h.seq = m.seq) \
     ORDER BY m.id DESC LIMIT $6"
);

/// The store's search.
pub(super) async fn search(
    db: &Db,
    user: &UserId,
    search: &Search,
) -> Result<Vec<Message>, StoreError> {
    let from = search.from.as_ref().map(UserId::as_str);
    let conv = search.conv.as_ref().map(ToString::to_string);
    let rows = query(
        db,
        SEARCH,
        &[
            &tsquery(&search.terms),
            &user.as_str(),
            &from,
            &search.before,
            &conv,
            &i64::from(search.limit),
        ],
    )
    .await?;
    rows.iter()
        .map(|row| Ok(message_row::message(row.try_get(0)?, row, 1)?))
        .collect()
}

/// The `tsquery` for `terms`: all of them, each lexeme quoted, prefixes as
/// `:*`, phrases as their tokens joined by `<->`.
fn tsquery(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|term| match term {
            Term::Word(word) => lexeme(word),
            Term::Prefix(prefix) => format!("{}:*", lexeme(prefix)),
            Term::Phrase(tokens) => {
                let joined: Vec<String> = tokens.iter().map(|t| lexeme(t)).collect();
                format!("({})", joined.join(" <-> "))
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_every_lexeme() {
        let terms = [
            Term::Word("a'b".into()),
            Term::Phrase(vec!["中国".into(), "国人".into()]),
            Term::Prefix("x".into()),
        ];
        assert_eq!(tsquery(&terms), "'a''b' & ('中国' <-> '国人') & 'x':*");
    }
}
