//! The schema, as an ordered list of migrations.
//!
//! `PRAGMA user_version` records how many steps a database has applied; opening
//! applies the rest, each in its own transaction together with the version bump,
//! so a crash mid-migration leaves the database at a step boundary. Steps are
//! append-only: a released step is never edited, only followed by a new one.

use rusqlite::Connection;

use crate::StoreError;

/// Every migration, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        display_name  TEXT,
        created_ms    INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- One row per conversation that exists: the seq counter lives here so that the
    -- next seq is read and bumped in the same transaction as the insert.
    CREATE TABLE convs (
        id       INTEGER PRIMARY KEY,
        name     TEXT NOT NULL UNIQUE,
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_ts  INTEGER NOT NULL DEFAULT 0
    );

    -- Who lists a direct or system conversation; groups list through membership.
    CREATE TABLE conv_users (
        user TEXT NOT NULL,
        conv INTEGER NOT NULL REFERENCES convs (id),
        PRIMARY KEY (user, conv)
    ) WITHOUT ROWID;

    -- Clustered on (conv, seq) so a history page is one contiguous range scan.
    CREATE TABLE messages (
        conv          INTEGER NOT NULL REFERENCES convs (id),
        seq           INTEGER NOT NULL,
        id            TEXT NOT NULL,
        sender        TEXT NOT NULL,
        kind          TEXT NOT NULL,
        text          TEXT,
        file_id       TEXT,
        file_name     TEXT,
        file_size     INTEGER,
        file_mime     TEXT,
        meta          TEXT,
        ts            INTEGER NOT NULL,
        client_msg_id TEXT NOT NULL,
        PRIMARY KEY (conv, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_client_msg_id
        ON messages (sender, client_msg_id) WHERE client_msg_id <> '';

    -- Keyed by conversation name, so a cursor may be set before the first message.
    CREATE TABLE read_cursors (
        user     TEXT NOT NULL,
        conv     TEXT NOT NULL,
        read_seq INTEGER NOT NULL,
        PRIMARY KEY (user, conv)
    ) WITHOUT ROWID;

    -- `size` is kept in step with group_members so that group() is one row read.
    CREATE TABLE groups (
        id         TEXT PRIMARY KEY,
        conv       INTEGER NOT NULL UNIQUE REFERENCES convs (id),
        name       TEXT NOT NULL,
        owner      TEXT NOT NULL,
        public     INTEGER NOT NULL,
        size       INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- `joined` is the rowid: it only grows, so it orders members by joining time.
    CREATE TABLE group_members (
        joined   INTEGER PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id),
        user     TEXT NOT NULL,
        role     TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        UNIQUE (group_id, user)
    );
    CREATE INDEX group_members_by_join ON group_members (group_id, joined);
    CREATE INDEX group_members_by_user ON group_members (user, joined);

    -- Directed edges: (user, other) is what `user` did about `other`.
    CREATE TABLE contacts (
        user    TEXT NOT NULL,
        other   TEXT NOT NULL,
        added   INTEGER NOT NULL DEFAULT 0,
        blocked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user, other)
    ) WITHOUT ROWID;
    CREATE INDEX contacts_by_other ON contacts (other);

    CREATE TABLE files (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        name       TEXT NOT NULL,
        size       INTEGER NOT NULL,
        mime       TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: an activity counter, so that `conversations` lists newest activity
    // first even when two conversations moved within the same millisecond.
    r#"
    ALTER TABLE convs ADD COLUMN activity INTEGER NOT NULL DEFAULT 0;
    UPDATE convs SET activity = id;
    CREATE INDEX convs_activity ON convs (activity);
    "#,
    // 3: the activity counter is kept by the writer (`activity.rs`); its index
    // cost a page write per append.
    r#"
    DROP INDEX convs_activity;
    "#,
    // 4: the journal (`journal.rs`): messages in commit order, written at its
    // end only, until they move into `messages` (and their conversation's
    // counters into `convs`). No index: what it holds is also in memory, and the
    // store moves all of it when it opens.
    r#"
    CREATE TABLE journal (
        n             INTEGER PRIMARY KEY,
        conv          INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        id            TEXT NOT NULL,
        sender        TEXT NOT NULL,
        kind          TEXT NOT NULL,
        text          TEXT,
        file_id       TEXT,
        file_name     TEXT,
        file_size     INTEGER,
        file_mime     TEXT,
        meta          TEXT,
        ts            INTEGER NOT NULL,
        client_msg_id TEXT NOT NULL,
        activity      INTEGER NOT NULL
    );
    "#,
    // 5: which message carries which file (`files.rs`), written with the
    // message's append and deleted when it is recalled, so that a file is
    // served to the readers of those conversations only; and the indexes the
    // per-user quota and the sweep of unreferenced uploads read.
    r#"
    CREATE TABLE file_refs (
        conv    TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        PRIMARY KEY (conv, seq)
    ) WITHOUT ROWID;
    CREATE INDEX file_refs_by_file ON file_refs (file_id, conv);
    INSERT OR IGNORE INTO file_refs (conv, seq, file_id)
        SELECT c.name, m.seq, m.file_id FROM messages m JOIN convs c ON c.id = m.conv
        WHERE m.file_id IS NOT NULL;
    INSERT OR IGNORE INTO file_refs (conv, seq, file_id)
        SELECT c.name, j.seq, j.file_id FROM journal j JOIN convs c ON c.id = j.conv
        WHERE j.file_id IS NOT NULL;
    CREATE INDEX files_by_owner ON files (owner);
    CREATE INDEX files_by_age ON files (created_ms);
    "#,
    // 6: accounts and sessions (token revocation): an account's standing, and
    // one row per issued login token.
    r#"
    ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN tokens_before INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        user       TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        used_ms    INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        user_agent TEXT NOT NULL,
        revoked    INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions (user, created_ms);
    CREATE INDEX sessions_revoked ON sessions (expires_ms) WHERE revoked = 1;
    "#,
    // 7: the message lifecycle (§11). `extra` holds what a message refers to
    // (its event, reply, mentions); edits and reactions live beside the
    // messages, keyed like them, so that changing a message never touches the
    // journal or `messages`; `hidden_messages` is "delete for me".
    r#"
    ALTER TABLE messages ADD COLUMN extra BLOB;
    ALTER TABLE journal ADD COLUMN extra BLOB;
    CREATE TABLE edits (
        conv      INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        text      TEXT,
        meta      TEXT,
        edited_ts INTEGER NOT NULL,
        PRIMARY KEY (conv, seq)
    ) WITHOUT ROWID;
    CREATE TABLE reactions (
        conv    INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        emoji   TEXT NOT NULL,
        user_id TEXT NOT NULL,
        at      INTEGER NOT NULL,
        PRIMARY KEY (conv, seq, emoji, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE hidden_messages (user TEXT NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user, conv, seq)) WITHOUT ROWID;
    -- Who a message mentions (`all`: everyone), for `sync`'s mention counts.
    CREATE TABLE mentions (
        user_id TEXT NOT NULL,
        conv    INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (user_id, conv, seq)
    ) WITHOUT ROWID;
    "#,
    // 8: profiles, privacy settings and last
    // seen on `users`; a group's description and avatar; each user's settings
    // of their conversations. The avatar indexes let the sweep of
    // unreferenced uploads keep avatars, and file access find them.
    r#"
    ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN last_seen INTEGER;
    ALTER TABLE users ADD COLUMN dm TEXT NOT NULL DEFAULT 'everyone';
    ALTER TABLE users ADD COLUMN presence TEXT NOT NULL DEFAULT 'contacts';
    ALTER TABLE users ADD COLUMN group_add TEXT NOT NULL DEFAULT 'everyone';
    CREATE INDEX users_by_avatar ON users (avatar) WHERE avatar <> '';
    ALTER TABLE groups ADD COLUMN description TEXT NOT NULL DEFAULT '';
    ALTER TABLE groups ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
    CREATE INDEX groups_by_avatar ON groups (avatar) WHERE avatar <> '';
    CREATE TABLE conv_settings (
        user        TEXT NOT NULL,
        conv        TEXT NOT NULL,
        muted_until INTEGER NOT NULL DEFAULT 0,
        pinned      INTEGER NOT NULL DEFAULT 0,
        archived    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user, conv)
    ) WITHOUT ROWID;
    "#,
    // 9: message search (issue #22, `search.rs`). The index holds the tokens
    // `koi_core::search_terms` makes of a message's text, already split, so
    // FTS5's `ascii` tokenizer only cuts at the spaces between them. Its
    // rowid is the message's (conv, seq) (`search::doc`); contentless, it
    // keeps only the columns a search filters on. Messages are indexed when
    // they move from the journal into `messages` (and the ones already there
    // by `search::backfill`, which the `search_backfill` row asks for).
    // `hidden_messages` is "delete for me", shared with the lifecycle branch.
    r#"
    CREATE VIRTUAL TABLE message_search USING fts5 (
        tokens, sender UNINDEXED, id UNINDEXED,
        content = '', contentless_delete = 1, contentless_unindexed = 1,
        tokenize = 'ascii', prefix = '2 3'
    );
    CREATE TABLE search_backfill (pending INTEGER NOT NULL);
    INSERT INTO search_backfill (pending) VALUES (1);
    CREATE TABLE IF NOT EXISTS hidden_messages (
        user TEXT NOT NULL,
        conv INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (user, conv, seq)
    ) WITHOUT ROWID;
    "#,
];

/// Brings the database up to the latest schema.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "the database has schema version {applied}, newer than this build's {}",
            MIGRATIONS.len()
        )));
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied store migration");
    }
    Ok(())
}
