//! Checks of appends that share a batch with different fates: a direct send's
//! block check ([`Store::append_unless_blocked`]), repeats, first messages of
//! conversations, all among fresh appends to existing conversations.

use std::collections::HashMap;
use std::sync::Arc;

use koi_core::ConvId;
use tokio::task::JoinSet;

use super::{create_users, read_all, seqs, text};
use crate::Store;

/// A direct message to someone who blocked its sender is refused and stores
/// nothing; the other direction, other conversations and, after the unblock,
/// the same direction are stored, and seqs stay gapless around the refusals.
pub async fn append_unless_blocked(store: &Arc<dyn Store>) {
    let [a, b, c] = create_users(store, ["unblk.a", "unblk.b", "unblk.c"]).await;
    let ab = ConvId::direct(&a, &b);
    let append = |message| async move {
        store
            .append_unless_blocked(message)
            .await
            .expect("append_unless_blocked")
    };
    let first = append(text(&ab, &a, "before", "k1")).await.expect("stored");
    assert_eq!(first.message.seq, 1);

    store.set_blocked(&b, &a, true).await.expect("block");
    assert!(append(text(&ab, &a, "refused", "k2")).await.is_none());
    // The check comes first, also for a repeat: the caller looks the first
    // reply up itself (`sent_message`).
    assert!(append(text(&ab, &a, "before", "k1")).await.is_none());
    let reply = append(text(&ab, &b, "b may still write", "")).await;
    assert_eq!(reply.expect("stored").message.seq, 2);
    // Not a direct message: nothing to check.
    let system = ConvId::System(b.clone());
    let notice = append(text(
        &system,
        &a,
        "system conversations are not checked",
        "",
    ))
    .await;
    assert!(notice.is_some());

    // Refusals racing with appends that are stored, to this and other
    // conversations: only the refused ones are missing.
    let ac = ConvId::direct(&a, &c);
    let mut tasks = JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        let message = match i % 2 {
            0 => text(&ab, &a, &format!("refused {i}"), &format!("r{i}")),
            _ => text(&ac, &a, &format!("stored {i}"), &format!("s{i}")),
        };
        tasks.spawn(async move { store.append_unless_blocked(message).await });
    }
    let mut stored = 0;
    while let Some(result) = tasks.join_next().await {
        let result = result.expect("task").expect("append_unless_blocked");
        if let Some(appended) = result {
            assert_eq!(appended.message.conv, ac.to_string());
            stored += 1;
        }
    }
    assert_eq!(stored, 20);
    assert_eq!(
        seqs(&read_all(store, &ac).await),
        (1..=20).collect::<Vec<_>>()
    );
    assert_eq!(seqs(&read_all(store, &ab).await), [1, 2]);

    store.set_blocked(&b, &a, false).await.expect("unblock");
    let after = append(text(&ab, &a, "after", "k3")).await.expect("stored");
    assert_eq!(after.message.seq, 3);
}

/// Many appends at once, so that they share batches: fresh messages to
/// existing conversations, repeats of keys stored before and within the
/// burst (in the same or another conversation), and first messages of new
/// conversations. Every fresh message gets the next seq of its conversation,
/// every repeat the first message, and nothing else is stored.
pub async fn mixed_batches(store: &Arc<dyn Store>) {
    let users = create_users(
        store,
        ["mixed.a", "mixed.b", "mixed.c", "mixed.d", "mixed.e"],
    )
    .await;
    let sender = &users[0];
    let convs: Vec<ConvId> = users[1..]
        .iter()
        .map(|peer| ConvId::direct(sender, peer))
        .collect();
    // The first message of each key, by key.
    let mut first = HashMap::new();
    // Two conversations exist before the burst, two start within it.
    for conv in &convs[..2] {
        let key = format!("open-{conv}");
        let opening = store
            .append(text(conv, sender, "opening", &key))
            .await
            .expect("append");
        assert_eq!(opening.message.seq, 1);
        first.insert(key, opening.message);
    }
    let mut tasks = JoinSet::new();
    for i in 0..120 {
        let conv = convs[i % convs.len()].clone();
        // Every fifth repeats its conversation's opening key (which the new
        // conversations' first arrival stores), every seventh one of three
        // keys shared across conversations.
        let key = match i {
            _ if i % 5 == 0 => format!("open-{conv}"),
            _ if i % 7 == 0 => format!("shared-{}", i % 3),
            _ => format!("fresh-{i}"),
        };
        let (store, sender) = (store.clone(), sender.clone());
        tasks.spawn(async move {
            let appended = store
                .append(text(&conv, &sender, &format!("m{i}"), &key))
                .await
                .expect("append");
            (key, appended)
        });
    }
    let mut repeats = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (key, appended) = result.expect("task");
        if appended.duplicate {
            repeats.push((key, appended.message));
        } else if let Some(earlier) = first.insert(key.clone(), appended.message) {
            panic!("key {key} stored twice: {earlier:?}");
        }
    }
    for (key, repeat) in &repeats {
        let stored = &first[key];
        assert_eq!(
            (&repeat.conv, repeat.seq, &repeat.id),
            (&stored.conv, stored.seq, &stored.id)
        );
    }
    let mut stored_count = 0;
    for conv in &convs {
        let stored = read_all(store, conv).await;
        let expected: Vec<u64> = (1..=stored.len() as u64).collect();
        assert_eq!(seqs(&stored), expected, "{conv}: gapless");
        for message in &stored {
            let mine = &first[&message.client_msg_id];
            assert_eq!(
                (&mine.conv, mine.seq, &mine.id, &mine.text),
                (&message.conv, message.seq, &message.id, &message.text)
            );
        }
        stored_count += stored.len();
    }
    assert_eq!(stored_count, first.len(), "only first arrivals are stored");
}
