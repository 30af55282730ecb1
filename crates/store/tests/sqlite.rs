//! The SQLite store against the shared contract, plus what only it can show:
//! persistence across reopening, group commit, and the admin-first handoff.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use koi_core::{ConvId, HistoryRange, UserId};
use koi_store::sqlite::{JournalPolicy, SqliteStore};
use koi_store::{NewGroup, NewMessage, NewUser, Store};

fn user(name: &str) -> UserId {
    UserId::parse(name).expect("valid user name")
}

fn text(conv: &ConvId, from: &str, body: &str) -> NewMessage {
    NewMessage {
        conv: conv.clone(),
        from: from.into(),
        kind: "text".into(),
        text: Some(body.into()),
        file: None,
        meta: None,
        client_msg_id: String::new(),
        origin: None,
        extra: Default::default(),
    }
}

async fn create_user(store: &dyn Store, name: &str) {
    let user = NewUser {
        name: user(name),
        password_hash: format!("hash-{name}"),
        display_name: None,
    };
    store.create_user(user).await.expect("create_user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("nested/dir/koi.db")).expect("open");
    koi_store::contract::run_all(Arc::new(store)).await;
}

/// The contract again with every message moved out of the journal at the next
/// commit, so that reads merge messages from both places.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_contract_moving_eagerly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        SqliteStore::open_with(&dir.path().join("koi.db"), JournalPolicy::eager()).expect("open");
    koi_store::contract::run_all(Arc::new(store)).await;
}

/// A message hidden by "delete for me" is not found by search, whether it
/// is still in the journal or moved into `messages` (search, issue #22).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_skips_hidden_messages() {
    for policy in [JournalPolicy::default(), JournalPolicy::eager()] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("koi.db");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(&path, policy).expect("open"));
        let hide = |user: String, conv: String, seq: u64| {
            let path = path.clone();
            async move {
                let conn = rusqlite::Connection::open(&path).expect("a second connection");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                conn.execute(
                    "INSERT INTO hidden_messages (user, conv, seq) \
                     SELECT ?1, id, ?3 FROM convs WHERE name = ?2",
                    rusqlite::params![user, conv, seq as i64],
                )
                .expect("hide");
            }
        };
        koi_store::contract::search_hidden(&store, hide).await;
    }
}

/// Messages the journal still held when the store closed are indexed when
/// the next opening moves them (search, issue #22).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_finds_what_reopening_moved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("koi.db");
    let conv = ConvId::direct(&user("ann"), &user("bob"));
    let policy = JournalPolicy {
        move_age: std::time::Duration::from_secs(3600),
        move_count: 1000,
        ..JournalPolicy::default()
    };
    {
        let store = SqliteStore::open_with(&path, policy).expect("open");
        create_user(&store, "ann").await;
        create_user(&store, "bob").await;
        store
            .append(text(&conv, "ann", "Meet me at the lighthouse"))
            .await
            .expect("append");
        assert_eq!(store.stats().journal, 1, "still in the journal");
    }
    let store = SqliteStore::open_with(&path, policy).expect("reopen");
    assert_eq!(store.stats().journal, 0, "moved on opening");
    let search = koi_core::Search::from_request(&koi_proto::Search {
        q: "LIGHTHO".into(),
        ..Default::default()
    })
    .expect("query");
    let found = store.search(&user("bob"), &search).await.expect("search");
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Everything acknowledged is there after closing and reopening, and seqs
/// continue where they stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("koi.db");
    let conv = ConvId::direct(&user("alice"), &user("bob"));
    {
        let store = SqliteStore::open(&path).expect("open");
        create_user(&store, "alice").await;
        create_user(&store, "bob").await;
        for i in 1..=5 {
            store
                .append(text(&conv, "alice", &format!("m{i}")))
                .await
                .expect("append");
        }
        store
            .set_read(&user("bob"), &conv, 4)
            .await
            .expect("set_read");
        let group = NewGroup {
            id: "g1".into(),
            name: "Group".into(),
            owner: user("alice"),
            public: false,
            members: vec![user("bob")],
            max_members: 10,
        };
        store.create_group(group).await.expect("create_group");
        create_user(&store, "carol").await;
        let (bob, carol) = (user("bob"), user("carol"));
        store.set_blocked(&bob, &carol, true).await.expect("block");
        store.set_blocked(&carol, &bob, true).await.expect("block");
        store
            .set_blocked(&carol, &bob, false)
            .await
            .expect("unblock");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    let (bob, carol) = (user("bob"), user("carol"));
    assert!(
        store.is_blocked(&bob, &carol).await.expect("is_blocked"),
        "a block stays after reopening"
    );
    assert!(
        !store.is_blocked(&carol, &bob).await.expect("is_blocked"),
        "so does an unblock"
    );
    let history = store
        .history(&conv, HistoryRange::Latest { limit: 50 })
        .await
        .expect("history");
    let texts: Vec<_> = history.iter().filter_map(|m| m.text.as_deref()).collect();
    assert_eq!(texts, ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(
        store
            .password_hash(&user("bob"))
            .await
            .expect("hash")
            .as_deref(),
        Some("hash-bob")
    );
    assert_eq!(
        store.group("g1").await.expect("group").map(|g| g.size),
        Some(2)
    );
    let bobs = store
        .conversations(&user("bob"))
        .await
        .expect("conversations");
    let direct = bobs
        .iter()
        .find(|s| s.conv == conv.to_string())
        .expect("direct listed");
    assert_eq!((direct.last_seq, direct.read_seq), (5, 4));

    let next = store
        .append(text(&conv, "bob", "m6"))
        .await
        .expect("append");
    assert_eq!(next.message.seq, 6, "seq continues after reopening");
    assert!(
        next.message.ts >= history[4].ts,
        "ts continues after reopening"
    );
}

/// Concurrent appends share transactions: fewer commits than jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("koi.db")).expect("open"));
    let before = store.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let store = store.clone();
        tasks.spawn(async move {
            let conv = ConvId::System(user(&format!("u{}", i % 10)));
            store
                .append(text(&conv, "system", "burst"))
                .await
                .expect("append");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("append task");
    }
    let after = store.stats();
    let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
    assert_eq!(jobs, 1000);
    println!("{jobs} appends in {commits} commits");
    assert!(
        commits < jobs,
        "1000 concurrent appends took {commits} commits"
    );
    for u in 0..10 {
        let conv = ConvId::System(user(&format!("u{u}")));
        assert_eq!(store.last_seq(&conv).await.expect("last_seq"), 100);
    }
}

/// A write returns only once a sync covers it: writes one after the other
/// each need a sync of their own.
#[tokio::test]
async fn every_write_waits_for_a_sync_that_covers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("koi.db")).expect("open");
    let conv = ConvId::System(user("u1"));
    let before = store.stats();
    for i in 0..20 {
        store
            .append(text(&conv, "system", &format!("m{i}")))
            .await
            .expect("append");
        let now = store.stats();
        assert!(
            now.syncs - before.syncs > i,
            "write {i} returned after {} syncs",
            now.syncs - before.syncs
        );
    }
    let after = store.stats();
    assert!(after.syncs <= after.commits, "{after:?}");
}

fn keyed(conv: &ConvId, from: &str, body: &str, key: &str) -> NewMessage {
    NewMessage {
        client_msg_id: key.into(),
        ..text(conv, from, body)
    }
}

async fn texts(store: &dyn Store, conv: &ConvId, range: HistoryRange) -> Vec<String> {
    let history = store.history(conv, range).await.expect("history");
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seqs, sorted, "history is ascending without repeats");
    history
        .into_iter()
        .map(|m| m.text.unwrap_or_else(|| m.kind.clone()))
        .collect()
}

/// A conversation with some messages moved into `messages` and the newest still
/// in the journal reads as one: every history shape, single messages, repeats
/// and recalls, on both sides of the move, and again after reopening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_read_the_same_before_and_after_moving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("koi.db");
    let conv = ConvId::direct(&user("alice"), &user("bob"));
    let other = ConvId::System(user("bob"));
    // Four messages of a conversation move at a time.
    let policy = JournalPolicy {
        move_count: 4,
        move_age: std::time::Duration::from_secs(3600),
        move_budget: 1000,
    };
    {
        let store = SqliteStore::open_with(&path, policy).expect("open");
        create_user(&store, "alice").await;
        create_user(&store, "bob").await;
        for i in 1..=10 {
            store
                .append(keyed(&conv, "alice", &format!("m{i}"), &format!("k{i}")))
                .await
                .expect("append");
            // Another conversation's commit, after which the due ones move.
            store
                .append(text(&other, "system", "tick"))
                .await
                .expect("append");
        }
        assert!(
            store.stats().journal < 10,
            "some of the 20 messages moved ({} pending)",
            store.stats().journal
        );
        assert!(store.stats().journal > 0, "and some did not");
        check_reads(&store, &conv, 10).await;
        // A repeat is found wherever its first copy is.
        for key in ["k1", "k10"] {
            let again = store
                .append(keyed(&conv, "alice", "again", key))
                .await
                .expect("repeat");
            assert!(again.duplicate, "{key} is a repeat");
            let sent = store
                .sent_message("alice", key)
                .await
                .expect("sent_message")
                .expect("found");
            assert_eq!(sent.seq, again.message.seq);
        }
        // Recall one moved and one pending message.
        store.recall(&conv, 2).await.expect("recall moved");
        store.recall(&conv, 10).await.expect("recall pending");
        assert!(matches!(
            store.recall(&conv, 11).await,
            Err(koi_store::StoreError::NotFound(_))
        ));
        assert_recalled(&store, &conv, &[2, 10]).await;
    }
    // Reopening moves whatever was pending; everything reads the same.
    let store = SqliteStore::open_with(&path, policy).expect("reopen");
    assert_eq!(store.stats().journal, 0);
    check_reads(&store, &conv, 10).await;
    let again = store
        .append(keyed(&conv, "alice", "again", "k10"))
        .await
        .expect("repeat");
    assert!(again.duplicate, "repeats are still found after reopening");
    let next = store
        .append(text(&conv, "bob", "m11"))
        .await
        .expect("append");
    assert_eq!(next.message.seq, 11, "seq continues after reopening");
    assert_recalled(&store, &conv, &[2, 10]).await;
}

/// Each of `seqs` reads as recalled: kind `recalled`, no text.
async fn assert_recalled(store: &SqliteStore, conv: &ConvId, seqs: &[u64]) {
    for &seq in seqs {
        let m = store
            .message(conv, seq)
            .await
            .expect("message")
            .expect("found");
        assert_eq!((m.kind.as_str(), m.text), ("recalled", None), "seq {seq}");
    }
}

/// Every way of reading a conversation of `n` messages agrees on them.
async fn check_reads(store: &SqliteStore, conv: &ConvId, n: u64) {
    let all = texts(store, conv, HistoryRange::Latest { limit: 50 }).await;
    assert_eq!(all.len() as u64, n);
    assert_eq!(
        texts(store, conv, HistoryRange::Latest { limit: 3 }).await,
        all[all.len() - 3..]
    );
    assert_eq!(
        texts(store, conv, HistoryRange::After { after: 3, limit: 4 }).await,
        all[3..7]
    );
    assert_eq!(
        texts(
            store,
            conv,
            HistoryRange::Before {
                before: 9,
                limit: 5
            }
        )
        .await,
        all[3..8]
    );
    assert_eq!(
        texts(
            store,
            conv,
            HistoryRange::Between {
                after: 1,
                before: 10,
                limit: 50
            }
        )
        .await,
        all[1..9]
    );
    for seq in 1..=n {
        let m = store
            .message(conv, seq)
            .await
            .expect("message")
            .expect("found");
        assert_eq!(m.seq, seq);
    }
    assert!(store.message(conv, n + 1).await.expect("message").is_none());
    assert_eq!(store.last_seq(conv).await.expect("last_seq"), n);
}
