//! The search column of `messages`: a `tsvector` of the tokens
//! `koi_core::search_terms` makes of a message's text, written with the
//! message (in its append's statement), cleared by a recall, rewritten by an
//! edit ([`document`]). The vector is built here as a literal, not by
//! `to_tsvector`, so the words are those of the SQLite store and owe nothing
//! to PostgreSQL's text-search parser or the database's locale.

use koi_core::{search_terms, searchable_text};
use tokio_postgres::Client;

use crate::StoreError;

/// The highest position a `tsvector` holds; later tokens share it.
const MAX_POSITION: usize = 16_383;

/// The `search` column for a message of `kind` with `text`, as a `tsvector`
/// literal (bind it as `$n::text::tsvector`); `None` (NULL) when the message
/// is not searched. The one function to call when a message's text changes
/// (an edit): `UPDATE messages SET search = $n::text::tsvector ...`.
pub(crate) fn document(kind: &str, text: Option<&str>) -> Option<String> {
    let tokens = search_terms::tokens(searchable_text(kind, text)?);
    if tokens.is_empty() {
        return None;
    }
    let entries: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| format!("{}:{}", lexeme(token), (i + 1).min(MAX_POSITION)))
        .collect();
    Some(entries.join(" "))
}

/// A lexeme quoted for `tsvector` and `tsquery` input: nothing in it is syntax.
pub(super) fn lexeme(token: &str) -> String {
    format!("'{}'", token.replace('\\', "\\\\").replace('\'', "''"))
}

/// Fills the search column of every message if the migration that made it
/// asked for it, in one transaction. Runs under the migration lock; a node
/// starting meanwhile waits for the lock and finds nothing left to do.
pub(super) async fn backfill(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    let asked = tx.execute("DELETE FROM search_backfill", &[]).await?;
    if asked == 0 {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT conv, seq, kind, text FROM messages \
             WHERE text IS NOT NULL AND kind NOT IN ('event', 'recalled', 'system')",
            &[],
        )
        .await?;
    let update = tx
        .prepare("UPDATE messages SET search = $3::text::tsvector WHERE conv = $1 AND seq = $2")
        .await?;
    for row in &rows {
        let (conv, seq): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let kind: String = row.try_get(2)?;
        let text: Option<String> = row.try_get(3)?;
        let search = document(&kind, text.as_deref());
        tx.execute(&update, &[&conv, &seq, &search]).await?;
    }
    tx.commit().await?;
    tracing::info!(
        messages = rows.len(),
        "indexed the stored messages for search"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_positioned_quoted_lexemes() {
        assert_eq!(
            document("text", Some("Hi 中国")).as_deref(),
            Some("'hi':1 '中国':2 '国':3")
        );
        assert_eq!(document("recalled", Some("hi")), None);
        assert_eq!(document("text", Some("?!")), None);
        assert_eq!(lexeme("a'b\\"), "'a''b\\\\'");
    }
}
