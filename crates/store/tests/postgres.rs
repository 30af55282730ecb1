//! The PostgreSQL store against the shared contract, on an ephemeral server
//! (`koi_store::testing`), plus what only a shared server shows: two nodes
//! writing one conversation, nodes migrating at once, a server crash and
//! restart under a connected store, and the admin-first hand-off.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use koi_core::{ConvId, HistoryRange, UserId};
use koi_proto::Message;
use koi_store::postgres::PostgresStore;
use koi_store::testing::PgServer;
use koi_store::{Appended, Committed, NewMessage, NewUser, Store, StoreError};
use tokio::task::JoinSet;

fn user(name: &str) -> UserId {
    UserId::parse(name).expect("valid user name")
}

fn text(conv: &ConvId, from: &str, body: &str, client_msg_id: &str) -> NewMessage {
    NewMessage {
        conv: conv.clone(),
        from: from.into(),
        kind: "text".into(),
        text: Some(body.into()),
        file: None,
        meta: None,
        client_msg_id: client_msg_id.into(),
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

/// A fresh server with one database; the server stops when dropped.
async fn server_with_database(database: &str) -> (PgServer, String) {
    let started = Instant::now();
    let server = PgServer::start()
        .await
        .unwrap_or_else(|e| panic!("cannot start an ephemeral PostgreSQL server: {e}"));
    let url = server
        .create_database(database)
        .await
        .expect("create the database");
    println!("postgres up in {:?} at {url}", started.elapsed());
    (server, url)
}

async fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect(url).await.expect("connect")
}

/// The whole conversation, in pages.
async fn read_all(store: &dyn Store, conv: &ConvId) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.seq);
        let page = store
            .history(conv, HistoryRange::After { after, limit: 200 })
            .await
            .expect("history");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_contract() {
    let (_server, url) = server_with_database("contract").await;
    let store = connect(&url).await;
    let started = Instant::now();
    koi_store::contract::run_all(Arc::new(store)).await;
    println!("contract suite in {:?}", started.elapsed());
}

/// A message hidden by "delete for me" is not found by search (issue #22).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_skips_hidden_messages() {
    let (_server, url) = server_with_database("hidden").await;
    let store: Arc<dyn Store> = Arc::new(connect(&url).await);
    let hide = |user: String, conv: String, seq: u64| {
        let url = url.clone();
        async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            let connection = tokio::spawn(connection);
            client
                .execute(
                    "INSERT INTO hidden_messages (user_id, conv, seq) \
                     SELECT $1, id, $3 FROM convs WHERE name = $2",
                    &[&user, &conv, &(seq as i64)],
                )
                .await
                .expect("hide");
            drop(client);
            let _ = connection.await;
        }
    };
    koi_store::contract::search_hidden(&store, hide).await;
}

/// Collects what a store's commit listener is given.
fn listen(store: &PostgresStore) -> Arc<Mutex<Vec<Committed>>> {
    let seen: Arc<Mutex<Vec<Committed>>> = Arc::default();
    let sink = seen.clone();
    store.set_commit_listener(Arc::new(move |batch: Vec<Committed>| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batch);
    }));
    seen
}

/// Two stores ("nodes") on one database, ten tasks each appending fifty
/// messages to one conversation: seqs are exactly 1..=1000, each task's rise,
/// each node's listener sees its own messages in seq order, together exactly
/// once each. Then concurrent repeats of one key from both nodes store once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_one_conversation() {
    let (_server, url) = server_with_database("two_nodes").await;
    let nodes = [Arc::new(connect(&url).await), Arc::new(connect(&url).await)];
    create_user(&*nodes[0], "ann").await;
    create_user(&*nodes[1], "bob").await;
    let seen = [listen(&nodes[0]), listen(&nodes[1])];
    let conv = ConvId::direct(&user("ann"), &user("bob"));

    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        for task in 0..10 {
            let (node, conv) = (node.clone(), conv.clone());
            let from = if task % 2 == 0 { "ann" } else { "bob" };
            tasks.spawn(async move {
                let mut mine = Vec::new();
                for i in 0..50 {
                    let body = format!("n{n}-t{task}-m{i}");
                    let appended = node
                        .append(text(&conv, from, &body, ""))
                        .await
                        .expect("append");
                    assert!(!appended.duplicate);
                    mine.push(appended.message.seq);
                }
                mine
            });
        }
    }
    let mut all = Vec::new();
    while let Some(mine) = tasks.join_next().await {
        let mine = mine.expect("append task");
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "a task's seqs rise: {mine:?}"
        );
        all.extend(mine);
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u64>>(),
        "gapless across nodes"
    );
    for node in &nodes {
        assert_eq!(node.last_seq(&conv).await.expect("last_seq"), 1000);
    }
    let stored = read_all(&*nodes[1], &conv).await;
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=1000).collect::<Vec<u64>>()
    );
    assert!(
        stored.windows(2).all(|w| w[0].ts <= w[1].ts),
        "ts never decreases with seq"
    );
    let mut announced = Vec::new();
    for seen in &seen {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let seqs: Vec<u64> = seen.iter().map(|c| c.message.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a node announces in commit (= seq) order"
        );
        announced.extend(seen.into_iter().map(|c| Arc::unwrap_or_clone(c.message)));
    }
    announced.sort_by_key(|m| m.seq);
    assert_eq!(announced, stored, "each message announced once, as stored");
    for node in &nodes {
        let stats = node.stats();
        println!("node: {} jobs in {} commits", stats.jobs, stats.commits);
    }
    println!("2 nodes x 10 tasks x 50 appends in {elapsed:?}");

    // Repeats of one key from both nodes at once: one message per key.
    let before = nodes[0].last_seq(&conv).await.expect("last_seq");
    let mut tasks = JoinSet::new();
    for key in 0..10 {
        for node in &nodes {
            for _ in 0..5 {
                let (node, conv) = (node.clone(), conv.clone());
                tasks.spawn(async move {
                    let message = text(&conv, "ann", &format!("key {key}"), &format!("k{key}"));
                    (key, node.append(message).await.expect("append"))
                });
            }
        }
    }
    let mut by_key: Vec<Vec<Appended>> = vec![Vec::new(); 10];
    while let Some(done) = tasks.join_next().await {
        let (key, appended) = done.expect("append task");
        by_key[key].push(appended);
    }
    for (key, results) in by_key.iter().enumerate() {
        let fresh = results.iter().filter(|r| !r.duplicate).count();
        assert_eq!(fresh, 1, "key {key}: exactly one append stores");
        assert!(
            results.iter().all(|r| r.message == results[0].message),
            "key {key}: every repeat returns the stored message"
        );
    }
    assert_eq!(
        nodes[1].last_seq(&conv).await.expect("last_seq"),
        before + 10,
        "repeats consume no seq"
    );
    let stored = read_all(&*nodes[0], &conv).await;
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=before + 10).collect::<Vec<u64>>(),
        "still gapless"
    );
}

/// Two nodes appending to five conversations at once, each task going round
/// them: a batch holds the counter rows of several conversations until it
/// commits, so batches locking them in different orders would deadlock. They
/// lock in key order, so none does, and every conversation is gapless.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_many_conversations_without_deadlock() {
    let (server, url) = server_with_database("many_convs").await;
    let nodes = [Arc::new(connect(&url).await), Arc::new(connect(&url).await)];
    let convs: Vec<ConvId> = (0..5)
        .map(|i| ConvId::System(user(&format!("round{i}"))))
        .collect();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        for task in 0..10 {
            let (node, convs) = (node.clone(), convs.clone());
            tasks.spawn(async move {
                for i in 0..50 {
                    // Node 0 goes round one way, node 1 the other.
                    let k = if n == 0 { task + i } else { 50 + task - i };
                    let conv = &convs[k % convs.len()];
                    node.append(text(conv, "system", &format!("n{n}-t{task}-m{i}"), ""))
                        .await
                        .expect("append");
                }
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("append task");
    }
    println!(
        "2 nodes x 10 tasks x 50 appends over 5 conversations in {:?}",
        started.elapsed()
    );
    let mut total = 0;
    for conv in &convs {
        let stored = read_all(&*nodes[0], conv).await;
        let last = nodes[1].last_seq(conv).await.expect("last_seq");
        assert_eq!(
            stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=last).collect::<Vec<u64>>(),
            "{conv} is gapless"
        );
        total += stored.len();
    }
    assert_eq!(total, 1000);
    let log = server.log();
    assert!(
        !log.contains("deadlock detected"),
        "batches deadlocked:\n{log}"
    );
}

/// A repeat of a key that another node is storing right now is found by the
/// insert, which waits for the other transaction: once that commits, the append
/// returns the other node's message and undoes everything it did (the seq it
/// took, the conversation it created). A raw transaction plays the other node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_racing_on_another_node() {
    let (_server, url) = server_with_database("race").await;
    let store = Arc::new(connect(&url).await);
    create_user(&*store, "ann").await;
    create_user(&*store, "bob").await;
    let system = ConvId::System(user("ann"));
    store
        .append(text(&system, "system", "welcome", ""))
        .await
        .expect("append");
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);

    // The same conversation: the racing append must not consume a seq.
    let other = client.transaction().await.expect("begin");
    let row = other
        .query_one(
            "UPDATE convs SET last_seq = last_seq + 1 WHERE name = $1 RETURNING id, last_seq",
            &[&system.to_string()],
        )
        .await
        .expect("bump");
    let (conv_id, seq): (i64, i64) = (row.get(0), row.get(1));
    other
        .execute(
            "INSERT INTO messages (conv, seq, id, sender, kind, text, ts, client_msg_id) \
             VALUES ($1, $2, 'other-node', 'ann', 'text', 'first', 1, 'race-1')",
            &[&conv_id, &seq],
        )
        .await
        .expect("insert");
    let racing = tokio::spawn({
        let (store, system) = (store.clone(), system.clone());
        async move { store.append(text(&system, "ann", "second", "race-1")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the append waits for the other node");
    other.commit().await.expect("commit");
    let appended = racing.await.expect("task").expect("append");
    assert!(appended.duplicate, "{appended:?}");
    assert_eq!(
        (appended.message.id.as_str(), appended.message.seq),
        ("other-node", 2)
    );
    assert_eq!(store.last_seq(&system).await.expect("last_seq"), 2);
    let next = store
        .append(text(&system, "system", "next", ""))
        .await
        .expect("append");
    assert_eq!(next.message.seq, 3, "the repeat took no seq");

    // A new conversation: the racing append must not leave it behind.
    let direct = ConvId::direct(&user("ann"), &user("bob"));
    let other = client.transaction().await.expect("begin");
    other
        .execute(
            "INSERT INTO messages (conv, seq, id, sender, kind, text, ts, client_msg_id) \
             VALUES ($1, 99, 'other-node-2', 'ann', 'text', 'first', 1, 'race-2')",
            &[&conv_id],
        )
        .await
        .expect("insert");
    let racing = tokio::spawn({
        let (store, direct) = (store.clone(), direct.clone());
        async move { store.append(text(&direct, "ann", "hi bob", "race-2")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the append waits for the other node");
    other.commit().await.expect("commit");
    let appended = racing.await.expect("task").expect("append");
    assert!(appended.duplicate);
    assert_eq!(appended.message.id, "other-node-2");
    assert_eq!(store.last_seq(&direct).await.expect("last_seq"), 0);
    let listed = store
        .conversations(&user("bob"))
        .await
        .expect("conversations");
    assert!(listed.is_empty(), "no conversation left behind: {listed:?}");
}

/// Concurrent appends on one node share transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits() {
    let (_server, url) = server_with_database("group_commit").await;
    let store = Arc::new(connect(&url).await);
    let before = store.stats();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..1000 {
        let store = store.clone();
        tasks.spawn(async move {
            let conv = ConvId::System(user(&format!("u{}", i % 10)));
            store
                .append(text(&conv, "system", "burst", ""))
                .await
                .expect("append");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("append task");
    }
    let after = store.stats();
    let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
    println!(
        "{jobs} appends in {commits} commits, {:?}",
        started.elapsed()
    );
    assert_eq!(jobs, 1000);
    assert!(
        commits < jobs,
        "1000 concurrent appends took {commits} commits"
    );
    for u in 0..10 {
        let conv = ConvId::System(user(&format!("u{u}")));
        assert_eq!(store.last_seq(&conv).await.expect("last_seq"), 100);
    }
}

/// Batches of appends where some open a conversation (no counter row yet, so
/// the batched statement cannot store them) among appends to conversations
/// that exist: a statement that cannot store its whole batch stores none of
/// it (the guard `koi_all_stored`), so every message is stored and announced
/// exactly once, gapless, also without an idempotency key to catch a repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_opening_conversations_store_each_message_once() {
    const ROUNDS: usize = 6;
    const TASKS: usize = 64;
    let (_server, url) = server_with_database("opening").await;
    let store = Arc::new(connect(&url).await);
    let seen = listen(&store);
    let existing: Vec<ConvId> = (0..8)
        .map(|i| ConvId::System(user(&format!("old{i}"))))
        .collect();
    for conv in &existing {
        store
            .append(text(conv, "system", "first", ""))
            .await
            .expect("append");
    }
    for round in 0..ROUNDS {
        let mut tasks = JoinSet::new();
        for i in 0..TASKS {
            let store = store.clone();
            let conv = match i % 8 {
                0 => ConvId::System(user(&format!("new{round}x{i}"))),
                k => existing[k].clone(),
            };
            tasks.spawn(async move { store.append(text(&conv, "system", "burst", "")).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("append task").expect("append");
        }
    }
    let per_existing = 1 + ROUNDS * TASKS / 8;
    for conv in &existing[1..] {
        let stored = read_all(&*store, conv).await;
        assert_eq!(
            stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=per_existing as u64).collect::<Vec<_>>(),
            "{conv}: each message stored once, gapless"
        );
        assert_eq!(
            store.last_seq(conv).await.expect("last_seq"),
            per_existing as u64
        );
    }
    for round in 0..ROUNDS {
        for i in (0..TASKS).step_by(8) {
            let conv = ConvId::System(user(&format!("new{round}x{i}")));
            assert_eq!(read_all(&*store, &conv).await.len(), 1, "{conv}");
        }
    }
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let announced: HashSet<(String, u64)> = seen
        .iter()
        .map(|c| (c.message.conv.clone(), c.message.seq))
        .collect();
    assert_eq!(announced.len(), seen.len(), "a message was announced twice");
    assert_eq!(
        seen.len(),
        existing.len() + ROUNDS * TASKS,
        "every append announced"
    );
}

/// Nodes starting at once on an empty database: one migrates, the others wait
/// for it; every one comes up and the steps are recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    let (_server, url) = server_with_database("migrations").await;
    let mut starts = JoinSet::new();
    for _ in 0..4 {
        let url = url.clone();
        starts.spawn(async move { PostgresStore::connect(&url).await });
    }
    let mut stores = Vec::new();
    while let Some(started) = starts.join_next().await {
        stores.push(started.expect("task").expect("connect"));
    }
    create_user(&stores[0], "early").await;
    assert_eq!(
        stores[3]
            .users_exist(&[user("early")])
            .await
            .expect("users_exist"),
        [true]
    );
    let again = connect(&url).await;
    assert_eq!(
        again
            .password_hash(&user("early"))
            .await
            .expect("hash")
            .as_deref(),
        Some("hash-early")
    );

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT version FROM koi_schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("migrations");
    let versions: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
    // Every step once, in order: 1, 2, ... up to the latest (which grows
    // with the schema, so it is not spelled out here).
    assert!(versions.len() >= 3, "the migrations ran: {versions:?}");
    let expected: Vec<i32> = (1..=versions.len() as i32).collect();
    assert_eq!(versions, expected, "each step recorded once, in order");
}

/// The server crashes under a connected store: requests fail `Unavailable`
/// (none hangs, none succeeds falsely); once it is back, the same store serves
/// again, seqs continue, and every acknowledged append survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_crash_and_restart() {
    let (mut server, url) = server_with_database("restart").await;
    let store = Arc::new(connect(&url).await);
    create_user(&*store, "cat").await;
    let conv = ConvId::System(user("cat"));
    for i in 1..=3 {
        let appended = store
            .append(text(&conv, "system", &format!("before {i}"), ""))
            .await
            .expect("append");
        assert_eq!(appended.message.seq, i);
    }

    server.crash().expect("crash the server");
    let started = Instant::now();
    let failed = store.append(text(&conv, "system", "while down", "")).await;
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "an append while the server is down: {failed:?}"
    );
    let read = store.last_seq(&conv).await;
    assert!(
        matches!(read, Err(StoreError::Unavailable(_))),
        "a read while the server is down: {read:?}"
    );
    println!("failures reported in {:?}", started.elapsed());

    let started = Instant::now();
    server.restart().await.expect("restart the server");
    println!("restarted in {:?}", started.elapsed());
    let appended = store
        .append(text(&conv, "system", "after", ""))
        .await
        .expect("the same store appends again");
    assert_eq!(appended.message.seq, 4, "seq continues");
    assert_eq!(store.last_seq(&conv).await.expect("last_seq"), 4);

    // Now crash while appends are in flight, from several tasks.
    let acked: Arc<Mutex<Vec<Message>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for task in 0..8 {
        let (store, conv, acked, stop) = (store.clone(), conv.clone(), acked.clone(), stop.clone());
        tasks.spawn(async move {
            let (mut ok, mut unavailable) = (0, 0);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let message = text(
                    &conv,
                    "cat",
                    &format!("t{task}-{i}"),
                    &format!("t{task}-{i}"),
                );
                match store.append(message).await {
                    Ok(appended) => {
                        ok += 1;
                        acked
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(appended.message);
                    }
                    Err(StoreError::Unavailable(_)) => {
                        unavailable += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("an append failed otherwise than Unavailable: {e:?}"),
                }
            }
            (ok, unavailable)
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked_before_crash = acked.lock().unwrap_or_else(PoisonError::into_inner).len();
    server.crash().expect("crash the server");
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().await.expect("restart the server");
    // Keep going until appends succeed again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed_at = loop {
        let count = acked.lock().unwrap_or_else(PoisonError::into_inner).len();
        if count > acked_before_crash + 50 {
            break count;
        }
        assert!(Instant::now() < deadline, "appends did not resume");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut unavailable) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (o, u) = done.expect("append task");
        ok += o;
        unavailable += u;
    }
    println!(
        "in flight: {ok} acknowledged ({acked_before_crash} before the crash, \
         {resumed_at} when checked), {unavailable} unavailable"
    );
    assert!(unavailable > 0, "the crash was noticed");

    let stored = read_all(&*store, &conv).await;
    let last = store.last_seq(&conv).await.expect("last_seq");
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=last).collect::<Vec<u64>>(),
        "gapless after the crash"
    );
    let acked = acked.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let stored_set: HashSet<(u64, String)> = stored.iter().map(|m| (m.seq, m.id.clone())).collect();
    for message in &acked {
        assert!(
            stored_set.contains(&(message.seq, message.id.clone())),
            "acknowledged seq {} was lost",
            message.seq
        );
    }
}

/// A file kept through one node's store is fetched, byte for byte, by another
/// node's: several chunks, an empty file, and an unknown id.
#[tokio::test]
async fn file_content_reaches_every_node() {
    use koi_store::FileContent;

    let (_server, url) = server_with_database("content").await;
    let (a, b) = (connect(&url).await.content(), connect(&url).await.content());
    let dir = tempfile::tempdir().expect("temp dir");
    // Two and a half chunks, with a pattern that shows misplaced chunks.
    let bytes: Vec<u8> = (0..(5 * 1024 * 1024 / 2))
        .map(|i| (i % 251) as u8)
        .collect();
    for (id, content) in [("big", bytes.as_slice()), ("empty", &[][..])] {
        let upload = dir.path().join(format!("{id}-upload"));
        std::fs::write(&upload, content).expect("write upload");
        a.keep(id, &upload).await.expect("keep");

        let copy = dir.path().join(format!("{id}-copy"));
        assert!(b.fetch(id, &copy).await.expect("fetch"), "{id} found");
        assert_eq!(std::fs::read(&copy).expect("read copy"), content, "{id}");
        assert!(
            b.fetch(id, &copy).await.expect("fetch again"),
            "{id} still there"
        );
    }
    let missing = dir.path().join("missing");
    assert!(!b.fetch("nosuchfile", &missing).await.expect("fetch"));
    assert!(
        !missing.exists(),
        "nothing is left behind for an unknown file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|name| name.contains("fetch-"))
        .collect();
    assert!(leftovers.is_empty(), "no part files left: {leftovers:?}");
}
