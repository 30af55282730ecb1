//! Checks of appending: seq assignment, idempotency, the commit listener.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use koi_core::ConvId;
use tokio::task::JoinSet;

use super::{create_users, read_all, seqs, text};
use crate::{Appended, Committed, NewMessage, Store};

/// Twenty tasks appending fifty messages each to one conversation get exactly
/// seqs 1..=1000: no gap, no repeat, each task's own seqs rising; the writer
/// counted them as jobs, in no more commits than jobs. Every message is
/// readable with its text, ids are unique and ts never decreases with seq.
pub async fn gapless_seq_under_concurrency(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["gapless.a", "gapless.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let before = store.writer_stats();
    let mut tasks = JoinSet::new();
    for task in 0..20 {
        let store = store.clone();
        let conv = conv.clone();
        let from = if task % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..50 {
                let appended = store
                    .append(text(&conv, &from, &format!("t{task}-m{i}"), ""))
                    .await
                    .expect("append");
                assert!(!appended.duplicate, "no client_msg_id, yet a duplicate");
                mine.push(appended.message.seq);
            }
            mine
        });
    }
    let mut all = Vec::new();
    let mut finished = 0;
    while let Some(mine) = tasks.join_next().await {
        finished += 1;
        if finished == 20 {
            // Each append was a job of the writer's; concurrent ones share commits.
            let after = store.writer_stats();
            let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
            assert!(jobs >= 1000, "{jobs} writer jobs for 1,000 appends");
            assert!(
                (1..=jobs).contains(&commits),
                "{commits} commits for {jobs} jobs"
            );
        }
        let mine = mine.expect("append task");
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "one task's seqs must rise: {mine:?}"
        );
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u64>>(),
        "seqs must be exactly 1..=1000"
    );
    assert_eq!(store.last_seq(&conv).await.expect("last_seq"), 1000);

    let stored = read_all(store, &conv).await;
    assert_eq!(
        seqs(&stored),
        (1..=1000).collect::<Vec<u64>>(),
        "history must hold every seq"
    );
    let texts: HashSet<String> = stored.iter().filter_map(|m| m.text.clone()).collect();
    let sent: HashSet<String> = (0..20)
        .flat_map(|t| (0..50).map(move |i| format!("t{t}-m{i}")))
        .collect();
    assert_eq!(texts, sent, "every text must be stored exactly once");
    let ids: HashSet<&str> = stored.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), 1000, "message ids must be unique");
    assert!(
        stored.windows(2).all(|w| w[0].ts <= w[1].ts),
        "ts must not decrease with seq"
    );
}

/// A repeated `(from, client_msg_id)` returns the first message flagged as a
/// duplicate and stores nothing; the key is per sender, and an empty key never
/// deduplicates.
pub async fn idempotent_append(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["idem.a", "idem.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let first = store
        .append(text(&conv, &a, "hello", "cm-1"))
        .await
        .expect("append");
    assert!(!first.duplicate);
    let again = store
        .append(text(&conv, &a, "hello, retried", "cm-1"))
        .await
        .expect("repeat");
    assert!(again.duplicate, "a repeat must be flagged");
    assert_eq!(
        again.message, first.message,
        "a repeat returns the first message"
    );
    assert_eq!(
        store.last_seq(&conv).await.expect("last_seq"),
        1,
        "a repeat stores nothing"
    );

    let other_sender = store
        .append(text(&conv, &b, "hi", "cm-1"))
        .await
        .expect("append");
    assert!(!other_sender.duplicate, "the key is per sender");
    assert_eq!(other_sender.message.seq, 2);
    let other_key = store
        .append(text(&conv, &a, "more", "cm-2"))
        .await
        .expect("append");
    assert_eq!((other_key.duplicate, other_key.message.seq), (false, 3));
    for seq in [4, 5] {
        let keyless = store
            .append(text(&conv, &a, "no key", ""))
            .await
            .expect("append");
        assert_eq!(
            (keyless.duplicate, keyless.message.seq),
            (false, seq),
            "empty keys never dedup"
        );
    }
    assert_eq!(read_all(store, &conv).await.len(), 5);

    let found = store
        .sent_message(a.as_str(), "cm-1")
        .await
        .expect("lookup");
    assert_eq!(
        found.as_ref(),
        Some(&first.message),
        "sent_message finds the first send"
    );
    let found = store
        .sent_message(b.as_str(), "cm-1")
        .await
        .expect("lookup");
    assert_eq!(found.map(|m| m.seq), Some(2), "per sender");
    assert_eq!(
        store
            .sent_message(a.as_str(), "nope")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store.sent_message(a.as_str(), "").await.expect("lookup"),
        None,
        "empty keys match nothing"
    );
}

/// Concurrent repeats of one key (a client retrying over several connections)
/// store one message: exactly one caller gets `duplicate: false`, all get the
/// same seq and id. Several keys racing at once each store exactly once.
pub async fn idempotent_append_concurrent(store: &Arc<dyn Store>) {
    let [a] = create_users(store, ["idem-race.a"]).await;
    let conv = ConvId::System(a.clone());
    let mut tasks = JoinSet::new();
    for key in 0..8 {
        for _ in 0..6 {
            let (store, conv, a) = (store.clone(), conv.clone(), a.clone());
            tasks.spawn(async move {
                let appended = store
                    .append(text(
                        &conv,
                        &a,
                        &format!("key {key}"),
                        &format!("race-{key}"),
                    ))
                    .await
                    .expect("append");
                (key, appended)
            });
        }
    }
    let mut by_key: Vec<Vec<Appended>> = vec![Vec::new(); 8];
    while let Some(done) = tasks.join_next().await {
        let (key, appended) = done.expect("append task");
        by_key[key].push(appended);
    }
    for (key, results) in by_key.iter().enumerate() {
        let fresh = results.iter().filter(|r| !r.duplicate).count();
        assert_eq!(fresh, 1, "key {key}: exactly one append may store");
        assert!(
            results.iter().all(|r| r.message == results[0].message),
            "key {key}: every repeat returns the stored message"
        );
    }
    assert_eq!(
        store.last_seq(&conv).await.expect("last_seq"),
        8,
        "one message per key"
    );
}

/// The commit listener gets every new message once, with its origin, before the
/// append returns, in seq order per conversation, also under concurrency; a
/// duplicate is not passed.
pub async fn commit_listener(store: &Arc<dyn Store>) {
    let [a] = create_users(store, ["listener.a"]).await;
    let conv = ConvId::System(a.clone());
    let name = conv.to_string();
    let seen: Arc<Mutex<Vec<Committed>>> = Arc::default();
    let sink = seen.clone();
    store.set_commit_listener(Arc::new(move |batch: Vec<Committed>| {
        let mine = batch.into_iter().filter(|c| c.message.conv == name);
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(mine);
    }));
    let seen_now = || seen.lock().unwrap_or_else(PoisonError::into_inner).clone();

    let mut message = text(&conv, &a, "first", "l1");
    message.origin = Some(7);
    let first = store.append(message.clone()).await.expect("append");
    let expected = vec![Committed {
        message: Arc::new(first.message.clone()),
        origin: Some(7),
    }];
    assert_eq!(
        seen_now(),
        expected,
        "the listener ran before append returned"
    );
    let repeat = store.append(message).await.expect("repeat");
    assert!(repeat.duplicate);
    assert_eq!(
        seen_now(),
        expected,
        "a duplicate is not passed to the listener"
    );

    let mut tasks = JoinSet::new();
    for i in 0..50u64 {
        let (store, conv, a) = (store.clone(), conv.clone(), a.clone());
        tasks.spawn(async move {
            let message = NewMessage {
                origin: Some(i),
                ..text(&conv, &a, "burst", "")
            };
            (i, store.append(message).await.expect("append").message)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (origin, appended) = done.expect("append task");
        let announced = seen_now()
            .iter()
            .any(|c| *c.message == appended && c.origin == Some(origin));
        assert!(
            announced,
            "seq {} must be announced, with its origin, before append returns",
            appended.seq
        );
    }
    let seen = seen_now();
    assert_eq!(
        seqs(
            &seen
                .iter()
                .map(|c| koi_proto::Message::clone(&c.message))
                .collect::<Vec<_>>()
        ),
        (1..=51).collect::<Vec<u64>>()
    );
    store.set_commit_listener(Arc::new(|_: Vec<Committed>| {}));
}
