//! The message lifecycle (§11): edits, reactions, hidden messages, read_by.
//!
//! The state lives in tables of its own (see [`crate::lifecycle`]); nothing
//! here touches the append path.

use koi_core::{ConvId, UserId};

use super::connect::{Db, clamp, execute, query, query_one, query_opt, unsigned};
use crate::lifecycle::{
    DELETE_REACTION, EDITS, EMOJI_COUNT, FORGET_EDITS, FORGET_REACTIONS, INSERT_REACTION,
    REACTIONS, UNREAD_CAP, UPSERT_EDIT, too_many_emoji,
};
use crate::{EditRecord, MessageStates, ReadBy, StoreError};

pub(super) async fn edit(
    db: &Db,
    conv: &ConvId,
    seq: u64,
    edit: &EditRecord,
) -> Result<(), StoreError> {
    execute(
        db,
        UPSERT_EDIT,
        &[
            &conv.to_string(),
            &clamp(seq),
            &edit.text,
            &edit.meta,
            &clamp(edit.edited_ts),
        ],
    )
    .await?;
    // Search finds the message by what it says now (only searchable kinds
    // can be edited, so the kind does not change the document).
    execute(
        db,
        "UPDATE messages SET search = $3::text::tsvector \
         WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq = $2",
        &[
            &conv.to_string(),
            &clamp(seq),
            &super::search_index::document("text", edit.text.as_deref()),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn react(
    db: &Db,
    conv: &ConvId,
    seq: u64,
    user: &UserId,
    emoji: &str,
    max_emoji: u32,
) -> Result<bool, StoreError> {
    let name = conv.to_string();
    let row = query_one(db, EMOJI_COUNT, &[&emoji, &name, &clamp(seq)]).await?;
    let (distinct, present): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if present == 0 && distinct >= i64::from(max_emoji) {
        return Err(too_many_emoji(max_emoji));
    }
    let added = execute(
        db,
        INSERT_REACTION,
        &[&clamp(seq), &emoji, &user.as_str(), &name],
    )
    .await?;
    Ok(added > 0)
}

pub(super) async fn unreact(
    db: &Db,
    conv: &ConvId,
    seq: u64,
    user: &UserId,
    emoji: &str,
) -> Result<bool, StoreError> {
    let removed = execute(
        db,
        DELETE_REACTION,
        &[&conv.to_string(), &clamp(seq), &emoji, &user.as_str()],
    )
    .await?;
    Ok(removed > 0)
}

/// What recalling a message drops besides its content: its edit and reactions.
pub(super) async fn forget(db: &Db, conv: &str, seq: u64) -> Result<(), StoreError> {
    execute(db, FORGET_EDITS, &[&conv, &clamp(seq)]).await?;
    execute(db, FORGET_REACTIONS, &[&conv, &clamp(seq)]).await?;
    Ok(())
}

pub(super) async fn message_states(
    db: &Db,
    viewer: &UserId,
    conv: &ConvId,
    first: u64,
    last: u64,
) -> Result<MessageStates, StoreError> {
    let name = conv.to_string();
    let mut states = MessageStates::default();
    for row in query(db, EDITS, &[&name, &clamp(first), &clamp(last)]).await? {
        states.edits.insert(
            unsigned(row.try_get(0)?),
            EditRecord {
                text: row.try_get(1)?,
                meta: row.try_get(2)?,
                edited_ts: unsigned(row.try_get(3)?),
            },
        );
    }
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&viewer.as_str(), &name, &clamp(first), &clamp(last)];
    for row in query(db, REACTIONS, &params).await? {
        let (count, mine): (i64, i64) = (row.try_get(3)?, row.try_get(4)?);
        states.add_reaction(
            unsigned(row.try_get(0)?),
            row.try_get(1)?,
            row.try_get(2)?,
            u32::try_from(count).unwrap_or(u32::MAX),
            mine != 0,
        );
    }
    Ok(states)
}

pub(super) async fn hide(
    db: &Db,
    user: &UserId,
    conv: &ConvId,
    seq: u64,
) -> Result<(), StoreError> {
    execute(
        db,
        "INSERT INTO hidden_messages (user_id, conv, seq) \
         VALUES ($1, (SELECT id FROM convs WHERE name = $2), $3) ON CONFLICT DO NOTHING",
        &[&user.as_str(), &conv.to_string(), &clamp(seq)],
    )
    .await?;
    Ok(())
}

pub(super) async fn hidden(
    db: &Db,
    user: &UserId,
    conv: &ConvId,
    after: u64,
    before: u64,
) -> Result<Vec<u64>, StoreError> {
    let rows = query(
        db,
        "SELECT seq FROM hidden_messages \
         WHERE user_id = $1 AND conv = (SELECT id FROM convs WHERE name = $2) \
         AND seq > $3 AND seq < $4 ORDER BY seq",
        &[
            &user.as_str(),
            &conv.to_string(),
            &clamp(after),
            &clamp(before),
        ],
    )
    .await?;
    rows.iter()
        .map(|row| Ok(unsigned(row.try_get(0)?)))
        .collect()
}

pub(super) async fn read_by(
    db: &Db,
    conv: &ConvId,
    seq: u64,
    except: &UserId,
    limit: u32,
) -> Result<ReadBy, StoreError> {
    let name = conv.to_string();
    match conv {
        ConvId::Group(id) => {
            let row = query_one(
                db,
                "SELECT count(*) FROM group_members g JOIN read_cursors r \
                 ON r.user_id = g.user_id AND r.conv = $1 \
                 WHERE g.group_id = $2 AND g.user_id <> $3 AND r.read_seq >= $4",
                &[&name, &id.as_str(), &except.as_str(), &clamp(seq)],
            )
            .await?;
            let count: i64 = row.try_get(0)?;
            let rows = query(
                db,
                "SELECT g.user_id FROM group_members g JOIN read_cursors r \
                 ON r.user_id = g.user_id AND r.conv = $1 \
                 WHERE g.group_id = $2 AND g.user_id <> $3 AND r.read_seq >= $4 \
                 ORDER BY g.joined LIMIT $5",
                &[
                    &name,
                    &id.as_str(),
                    &except.as_str(),
                    &clamp(seq),
                    &i64::from(limit),
                ],
            )
            .await?;
            Ok(ReadBy {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                users: rows
                    .iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?,
            })
        }
        ConvId::Direct(..) => {
            let Some(peer) = conv.peer_of(except) else {
                return Ok(ReadBy::default());
            };
            let row = query_opt(
                db,
                "SELECT read_seq FROM read_cursors WHERE user_id = $1 AND conv = $2",
                &[&peer.as_str(), &name],
            )
            .await?;
            let cursor: Option<i64> = row.map(|row| row.try_get(0)).transpose()?;
            Ok(match cursor {
                Some(cursor) if cursor >= clamp(seq) => ReadBy {
                    count: 1,
                    users: vec![peer.to_string()]
                        .into_iter()
                        .take(limit as usize)
                        .collect(),
                },
                _ => ReadBy::default(),
            })
        }
        ConvId::System(_) => Ok(ReadBy::default()),
    }
}

/// [`crate::Store::unread_counts`] in one query: each conversation's counts
/// read its unread rows only, and stop at [`UNREAD_CAP`].
pub(super) async fn unread_counts(
    db: &Db,
    user: &UserId,
    convs: &[(ConvId, u64, u64)],
) -> Result<Vec<(u64, u64)>, StoreError> {
    let names: Vec<String> = convs.iter().map(|(c, _, _)| c.to_string()).collect();
    let cursors: Vec<i64> = convs.iter().map(|(_, s, _)| clamp(*s)).collect();
    let ends: Vec<i64> = convs.iter().map(|(_, _, e)| clamp(*e)).collect();
    let rows = query(
        db,
        "SELECT r.i, \
             (SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.conv = c.id \
                  AND m.seq > r.read_seq AND m.seq <= r.up_to AND m.kind <> 'event' LIMIT $4) s), \
             (SELECT count(*) FROM (SELECT DISTINCT x.seq FROM mentions x WHERE x.conv = c.id \
                  AND x.user_id IN ($1, 'all') AND x.seq > r.read_seq AND x.seq <= r.up_to \
                  LIMIT $4) t) \
         FROM unnest($2::text[], $3::bigint[], $5::bigint[]) \
             WITH ORDINALITY AS r(name, read_seq, up_to, i) \
         JOIN convs c ON c.name = r.name",
        &[&user.as_str(), &names, &cursors, &clamp(UNREAD_CAP), &ends],
    )
    .await?;
    let mut counts = vec![(0, 0); convs.len()];
    for row in rows {
        let i: i64 = row.try_get(0)?;
        let (unread, mentions): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
        if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| counts.get_mut(i)) {
            *slot = (unsigned(unread), unsigned(mentions));
        }
    }
    Ok(counts)
}
