//! The schema, as an ordered list of migrations.
//!
//! `koi_schema_migrations` records the steps a database has applied, one row per
//! step. Connecting applies the rest, each in its own transaction together with
//! its row, so a crash mid-migration leaves the database at a step boundary.
//! Several nodes may start at once: they take a session advisory lock first, so
//! one migrates while the others wait and then find nothing left to do. Steps are
//! append-only: a released step is never edited, only followed by a new one.
//!
//! Names and ids are `COLLATE "C"`: they compare and sort by bytes, as in the
//! SQLite store, whatever the database's locale.

use tokio_postgres::Client;

use crate::StoreError;

/// The advisory lock key that serialises migrations ("koi mig" in ASCII).
const MIGRATION_LOCK: i64 = 0x006b_6f69_206d_6967;

/// Every migration, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE users (
        name          TEXT COLLATE "C" PRIMARY KEY,
        password_hash TEXT NOT NULL,
        display_name  TEXT,
        created_ms    BIGINT NOT NULL
    );

    -- One row per conversation that exists. The seq counter lives here: an append
    -- bumps it with an UPDATE, whose row lock serialises the appends to one
    -- conversation across every node until their transaction ends, so seqs are
    -- gapless and rise in commit order.
    CREATE TABLE convs (
        id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name     TEXT COLLATE "C" NOT NULL UNIQUE,
        last_seq BIGINT NOT NULL DEFAULT 0,
        last_ts  BIGINT NOT NULL DEFAULT 0
    );

    -- Who lists a direct or system conversation; groups list through membership.
    CREATE TABLE conv_users (
        user_id TEXT COLLATE "C" NOT NULL,
        conv    BIGINT NOT NULL REFERENCES convs (id),
        PRIMARY KEY (user_id, conv)
    );

    -- The primary key (conv, seq) makes a history page one index range scan.
    CREATE TABLE messages (
        conv          BIGINT NOT NULL REFERENCES convs (id),
        seq           BIGINT NOT NULL,
        id            TEXT COLLATE "C" NOT NULL,
        sender        TEXT COLLATE "C" NOT NULL,
        kind          TEXT NOT NULL,
        text          TEXT,
        file_id       TEXT,
        file_name     TEXT,
        file_size     BIGINT,
        file_mime     TEXT,
        meta          TEXT,
        ts            BIGINT NOT NULL,
        client_msg_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (conv, seq)
    );
    CREATE UNIQUE INDEX messages_client_msg_id
        ON messages (sender, client_msg_id) WHERE client_msg_id <> '';

    -- Keyed by conversation name, so a cursor may be set before the first message.
    CREATE TABLE read_cursors (
        user_id  TEXT COLLATE "C" NOT NULL,
        conv     TEXT COLLATE "C" NOT NULL,
        read_seq BIGINT NOT NULL,
        PRIMARY KEY (user_id, conv)
    );

    -- `size` is kept in step with group_members so that group() is one row read.
    -- Membership changes lock the group's row first, which serialises them.
    CREATE TABLE groups (
        id         TEXT COLLATE "C" PRIMARY KEY,
        conv       BIGINT NOT NULL UNIQUE REFERENCES convs (id),
        name       TEXT NOT NULL,
        owner      TEXT COLLATE "C" NOT NULL,
        public     BOOLEAN NOT NULL,
        size       BIGINT NOT NULL,
        created_ms BIGINT NOT NULL
    );

    -- `joined` only grows, so it orders members by joining time.
    CREATE TABLE group_members (
        joined   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id TEXT COLLATE "C" NOT NULL REFERENCES groups (id),
        user_id  TEXT COLLATE "C" NOT NULL,
        role     TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        UNIQUE (group_id, user_id)
    );
    CREATE INDEX group_members_by_join ON group_members (group_id, joined);
    CREATE INDEX group_members_by_user ON group_members (user_id, joined);

    -- Directed edges: (user_id, other) is what `user_id` did about `other`.
    CREATE TABLE contacts (
        user_id TEXT COLLATE "C" NOT NULL,
        other   TEXT COLLATE "C" NOT NULL,
        added   BOOLEAN NOT NULL DEFAULT false,
        blocked BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (user_id, other)
    );
    CREATE INDEX contacts_by_other ON contacts (other);

    CREATE TABLE files (
        id         TEXT COLLATE "C" PRIMARY KEY,
        owner      TEXT NOT NULL,
        name       TEXT NOT NULL,
        size       BIGINT NOT NULL,
        mime       TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        created_ms BIGINT NOT NULL
    );
    "#,
    // 2: an activity counter, so that `conversations` lists newest activity
    // first even when two conversations moved within the same millisecond.
    r#"
    CREATE SEQUENCE conv_activity;
    ALTER TABLE convs ADD COLUMN activity BIGINT NOT NULL DEFAULT nextval('conv_activity');
    "#,
    // 3: uploaded files' bytes, so that any node can serve a file another node
    // received (see `FileContent`). Chunks keep each row and each read bounded.
    r#"
    CREATE TABLE file_chunks (
        file_id TEXT COLLATE "C" NOT NULL,
        n       INTEGER NOT NULL,
        data    BYTEA NOT NULL,
        PRIMARY KEY (file_id, n)
    );
    "#,
    // 4: a message's file reference is its `file_id` column, written in the
    // append's transaction and cleared by a recall; this index finds the
    // messages carrying a file (for access checks and the sweep of
    // unreferenced uploads). The others serve the per-user quota and the sweep.
    r#"
    CREATE INDEX messages_by_file ON messages (file_id) WHERE file_id IS NOT NULL;
    CREATE INDEX files_by_owner ON files (owner);
    CREATE INDEX files_by_age ON files (created_ms);
    "#,
    // 5: accounts and sessions (token revocation): an account's standing, and
    // one row per issued login token.
    r#"
    ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE users ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE users ADD COLUMN tokens_before BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE sessions (
        id         TEXT COLLATE "C" PRIMARY KEY,
        "user"     TEXT COLLATE "C" NOT NULL,
        created_ms BIGINT NOT NULL,
        used_ms    BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        user_agent TEXT NOT NULL,
        revoked    BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX sessions_by_user ON sessions ("user", created_ms);
    CREATE INDEX sessions_revoked ON sessions (expires_ms) WHERE revoked;
    "#,
    // 6: secrets every node of the cluster must share (the token signing
    // secret when none is configured): made by whichever node starts first.
    r#"
    CREATE TABLE cluster_secrets (
        name  TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL
    );
    "#,
    // 7: the message lifecycle (§11). `extra` holds what a message refers to
    // (its event, reply, mentions); edits and reactions live beside the
    // messages, keyed like them, so that changing a message never rewrites its
    // row; `hidden_messages` is "delete for me".
    r#"
    ALTER TABLE messages ADD COLUMN extra BYTEA;
    CREATE TABLE edits (
        conv      BIGINT NOT NULL,
        seq       BIGINT NOT NULL,
        text      TEXT,
        meta      TEXT,
        edited_ts BIGINT NOT NULL,
        PRIMARY KEY (conv, seq)
    );
    CREATE TABLE reactions (
        conv    BIGINT NOT NULL,
        seq     BIGINT NOT NULL,
        emoji   TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        at      BIGINT NOT NULL,
        PRIMARY KEY (conv, seq, emoji, user_id)
    );
    CREATE TABLE hidden_messages (user_id TEXT COLLATE "C" NOT NULL, conv BIGINT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (user_id, conv, seq));
    -- Who a message mentions (`all`: everyone), for `sync`'s mention counts.
    CREATE TABLE mentions (
        user_id TEXT COLLATE "C" NOT NULL,
        conv    BIGINT NOT NULL,
        seq     BIGINT NOT NULL,
        PRIMARY KEY (user_id, conv, seq)
    );
    "#,
    // 8: profiles, privacy settings and last
    // seen on `users`; a group's description and avatar; each user's settings
    // of their conversations. The avatar indexes let the sweep of
    // unreferenced uploads keep avatars, and file access find them.
    r#"
    ALTER TABLE users ADD COLUMN avatar TEXT COLLATE "C" NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN last_seen BIGINT;
    ALTER TABLE users ADD COLUMN dm TEXT NOT NULL DEFAULT 'everyone';
    ALTER TABLE users ADD COLUMN presence TEXT NOT NULL DEFAULT 'contacts';
    ALTER TABLE users ADD COLUMN group_add TEXT NOT NULL DEFAULT 'everyone';
    CREATE INDEX users_by_avatar ON users (avatar) WHERE avatar <> '';
    ALTER TABLE groups ADD COLUMN description TEXT NOT NULL DEFAULT '';
    ALTER TABLE groups ADD COLUMN avatar TEXT COLLATE "C" NOT NULL DEFAULT '';
    CREATE INDEX groups_by_avatar ON groups (avatar) WHERE avatar <> '';
    CREATE TABLE conv_settings (
        user_id     TEXT COLLATE "C" NOT NULL,
        conv        TEXT COLLATE "C" NOT NULL,
        muted_until BIGINT NOT NULL DEFAULT 0,
        pinned      BOOLEAN NOT NULL DEFAULT false,
        archived    BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (user_id, conv)
    );
    "#,
    // 9: message search (issue #22, `search_index.rs`): a `tsvector` of each
    // searchable message's tokens, written with the message, under a GIN
    // index; the messages stored before are indexed by
    // `search_index::backfill`, which the `search_backfill` row asks for.
    // `hidden_messages` is "delete for me", shared with the lifecycle branch.
    r#"
    ALTER TABLE messages ADD COLUMN search tsvector;
    CREATE INDEX messages_search ON messages USING gin (search);
    CREATE TABLE search_backfill (pending INTEGER NOT NULL);
    INSERT INTO search_backfill (pending) VALUES (1);
    CREATE TABLE IF NOT EXISTS hidden_messages (
        user_id TEXT COLLATE "C" NOT NULL,
        conv BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (user_id, conv, seq)
    );
    "#,
    // 10: no foreign key from `messages` to `convs`. Its check ran once per
    // inserted message (a trigger, a query through SPI and a key-share lock
    // on the counter row the append already holds): about a tenth of
    // PostgreSQL's CPU per message in `scripts/bench-cluster`. Every insert
    // into `messages` takes its `conv` from the counter row it bumps in the
    // same statement, and no conversation is ever deleted.
    r#"
    ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_conv_fkey;
    "#,
    // 11: `koi_all_stored`, the guard of the batched append
    // (`batched_append.rs`): it fails the statement, so that nothing of it
    // is stored, when fewer messages were stored than the batch held. The
    // writer can then run the statement as a transaction of its own, with no
    // BEGIN, savepoint or COMMIT around it.
    r#"
    CREATE FUNCTION koi_all_stored(stored BIGINT, wanted INTEGER) RETURNS BOOLEAN
    LANGUAGE plpgsql AS $$
    BEGIN
        IF stored <> wanted THEN
            RAISE EXCEPTION 'stored % of % messages', stored, wanted USING ERRCODE = 'KOI01';
        END IF;
        RETURN TRUE;
    END $$;
    "#,
];

/// Brings the database up to the latest schema, on a connection of its own.
///
/// The advisory lock is a session lock: should this fail half-way, dropping the
/// connection releases it.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = match apply(client).await {
        Ok(()) => super::search_index::backfill(client).await,
        Err(e) => Err(e),
    };
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result?;
    unlocked?;
    Ok(())
}

/// The steps not applied yet; runs under the migration lock.
async fn apply(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS koi_schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM koi_schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "the database has schema version {applied}, newer than this build's {}",
            MIGRATIONS.len()
        )));
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let tx = client.transaction().await?;
        tx.batch_execute(step).await?;
        tx.execute(
            "INSERT INTO koi_schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied store migration");
    }
    Ok(())
}
