//! Checks of reading and recalling messages.

use std::sync::Arc;

use koi_core::{ConvId, HistoryRange};
use koi_proto::File;

use super::{create_users, seqs, text, unique, user_id};
use crate::{Store, StoreError};

/// The four history shapes, ascending by seq: Latest the newest `limit`, After
/// the lowest above, Before the highest below, Between the lowest strictly
/// inside. Every field round-trips; an unknown conversation has no history.
pub async fn history_shapes(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["hist.a", "hist.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let mut sent = Vec::new();
    for i in 1..=10 {
        let mut message = text(
            &conv,
            if i % 2 == 0 { &b } else { &a },
            &format!("m{i}"),
            &format!("h{i}"),
        );
        if i == 3 {
            message.kind = "file".into();
            message.text = None;
            message.file = Some(sample_file());
            message.meta = Some(r#"{"w":1}"#.into());
        }
        sent.push(store.append(message).await.expect("append").message);
    }
    // All four shapes, through the constructor that maps request bounds onto them.
    type Case = (Option<u64>, Option<u64>, u32, &'static [u64]);
    let cases: [Case; 11] = [
        (None, None, 3, &[8, 9, 10]),
        (None, None, 100, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        (Some(2), None, 3, &[3, 4, 5]),
        (Some(9), None, 5, &[10]),
        (Some(10), None, 5, &[]),
        (None, Some(5), 3, &[2, 3, 4]),
        (None, Some(3), 10, &[1, 2]),
        (None, Some(1), 10, &[]),
        (Some(2), Some(9), 3, &[3, 4, 5]),
        (Some(2), Some(6), 10, &[3, 4, 5]),
        (Some(5), Some(6), 10, &[]),
    ];
    for (after, before, limit, expected) in cases {
        let range = HistoryRange::new(after, before, Some(limit));
        let got = store.history(&conv, range).await.expect("history");
        assert_eq!(seqs(&got), expected, "{range:?}");
    }

    let all = store
        .history(&conv, HistoryRange::Latest { limit: 10 })
        .await
        .expect("history");
    assert_eq!(
        all, sent,
        "history returns messages exactly as append stored them"
    );
    assert_eq!(
        all[2].file,
        Some(sample_file()),
        "a file reference round-trips"
    );
    assert_eq!(all[2].conv, conv.to_string());
    let [stranger] = create_users(store, ["hist.c"]).await;
    let empty = store
        .history(
            &ConvId::direct(&a, &stranger),
            HistoryRange::Latest { limit: 10 },
        )
        .await;
    assert!(empty.expect("history of an empty conversation").is_empty());
}

/// message() returns the stored message, `None` for seq 0, a seq past the end,
/// or an unknown conversation.
pub async fn message_lookup(store: &Arc<dyn Store>) {
    let [a] = create_users(store, ["lookup.a"]).await;
    let conv = ConvId::System(a.clone());
    let first = store
        .append(text(&conv, &a, "one", ""))
        .await
        .expect("append")
        .message;
    let second = store
        .append(text(&conv, &a, "two", ""))
        .await
        .expect("append")
        .message;
    assert_eq!(store.message(&conv, 1).await.expect("message"), Some(first));
    assert_eq!(
        store.message(&conv, 2).await.expect("message"),
        Some(second)
    );
    assert_eq!(store.message(&conv, 0).await.expect("message"), None);
    assert_eq!(store.message(&conv, 3).await.expect("message"), None);
    let unknown = ConvId::System(user_id("lookup.nobody"));
    assert_eq!(store.message(&unknown, 1).await.expect("message"), None);
    assert_eq!(
        store.last_seq(&unknown).await.expect("last_seq"),
        0,
        "an unknown conversation is empty"
    );
}

/// recall turns a message into kind `recalled` without text, file or meta and
/// keeps its seq, id, sender and ts; other messages are untouched. A missing
/// message or conversation is `NotFound`.
pub async fn recall(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["recall.a", "recall.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let keep = store
        .append(text(&conv, &a, "keep", ""))
        .await
        .expect("append")
        .message;
    let mut message = text(&conv, &a, "oops", "r1");
    message.file = Some(sample_file());
    message.meta = Some("{}".into());
    let oops = store.append(message).await.expect("append").message;

    store.recall(&conv, oops.seq).await.expect("recall");
    let recalled = store
        .message(&conv, oops.seq)
        .await
        .expect("message")
        .expect("still there");
    assert_eq!(recalled.kind, "recalled");
    assert_eq!(
        (recalled.text, recalled.file, recalled.meta),
        (None, None, None),
        "content cleared"
    );
    assert_eq!(
        (recalled.seq, &recalled.id, &recalled.from, recalled.ts),
        (oops.seq, &oops.id, &oops.from, oops.ts)
    );
    let history = store
        .history(&conv, HistoryRange::Latest { limit: 10 })
        .await
        .expect("history");
    assert_eq!(history[0], keep, "other messages are untouched");
    assert_eq!(history[1].kind, "recalled", "history shows the recall");

    let missing = store.recall(&conv, 99).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "missing seq: {missing:?}"
    );
    let nowhere = store.recall(&ConvId::System(b.clone()), 1).await;
    assert!(
        matches!(nowhere, Err(StoreError::NotFound(_))),
        "missing conversation: {nowhere:?}"
    );
}

/// A file reference unique to this run.
fn sample_file() -> File {
    File {
        file_id: unique("file"),
        name: "cat.png".into(),
        size: 1234,
        mime: "image/png".into(),
    }
}
