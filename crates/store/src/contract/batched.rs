//! Checks of appends that share a batch with different fates: a send's block
//! check, read cursor and mentions ([`Store::append_sent`]), repeats, first
//! messages of conversations, all among fresh appends to existing
//! conversations.

use std::collections::HashMap;
use std::sync::Arc;

use koi_core::{ConvId, UserId};
use tokio::task::JoinSet;

use super::{create_users, read_all, seqs, text};
use crate::{NewMessage, Store};

/// A direct message to someone who blocked its sender is refused and stores
/// nothing; the other direction, other conversations and, after the unblock,
/// the same direction are stored, and seqs stay gapless around the refusals.
pub async fn sent_unless_blocked(store: &Arc<dyn Store>) {
    let [a, b, c] = create_users(store, ["unblk.a", "unblk.b", "unblk.c"]).await;
    let ab = ConvId::direct(&a, &b);
    let append = |message| async move { store.append_sent(message).await.expect("append_sent") };
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
        tasks.spawn(async move { store.append_sent(message).await });
    }
    let mut stored = 0;
    while let Some(result) = tasks.join_next().await {
        let result = result.expect("task").expect("append_sent");
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

/// A send moves its sender's read cursor to it and records whom it mentions,
/// with the message: both are there when the send returns, neither for a
/// send refused by a block or for a repeat, and a plain append (an event)
/// moves no cursor. Under bursts of sends sharing batches — first only fresh
/// sends to existing conversations (PostgreSQL stores those with one
/// statement), then with repeats and a conversation's first message among
/// them — each sender's cursor ends at their last message and every stored
/// message's mentions are counted once.
pub async fn sent_reads_and_mentions(store: &Arc<dyn Store>) {
    let [a, b, c, d] = create_users(store, ["sent.a", "sent.b", "sent.c", "sent.d"]).await;
    let ab = ConvId::direct(&a, &b);
    let ac = ConvId::direct(&a, &c);
    let send =
        |message: NewMessage| async move { store.append_sent(message).await.expect("append_sent") };

    let first = send(mentioning(&ab, &a, "m1", &[&b]))
        .await
        .expect("stored");
    assert_eq!(first.message.seq, 1);
    assert_eq!(cursor(store, &a, &ab).await, 1, "the sender has read it");
    assert_eq!(cursor(store, &b, &ab).await, 0, "the recipient has not");
    assert_eq!(unread(store, &b, &ab).await, (1, 1));

    // An append that is no send (an event) moves no cursor.
    store
        .append(text(&ab, &a, "not a send", ""))
        .await
        .expect("append");
    assert_eq!(cursor(store, &a, &ab).await, 1);

    // A repeat stores nothing more: no second mention, the cursor stays.
    let repeat = send(mentioning(&ab, &a, "m1", &[&b]))
        .await
        .expect("repeat");
    assert!(repeat.duplicate);
    assert_eq!(cursor(store, &a, &ab).await, 1);
    assert_eq!(unread(store, &b, &ab).await, (2, 1));

    // Refused by a block: no message, no cursor, no mention.
    store.set_blocked(&b, &a, true).await.expect("block");
    assert!(send(mentioning(&ab, &a, "m2", &[&b])).await.is_none());
    assert_eq!(cursor(store, &a, &ab).await, 1);
    assert_eq!(unread(store, &b, &ab).await, (2, 1));
    store.set_blocked(&b, &a, false).await.expect("unblock");

    send(mentioning(&ac, &a, "ac-1", &[]))
        .await
        .expect("stored");
    // Fresh sends to existing conversations from both sides of each, every
    // third mentioning the peer.
    let mut burst = Vec::new();
    for i in 0..60 {
        let (conv, from, peer) = match i % 4 {
            0 => (&ab, &a, &b),
            1 => (&ab, &b, &a),
            2 => (&ac, &a, &c),
            _ => (&ac, &c, &a),
        };
        let mentions: &[&UserId] = if i % 3 == 0 { &[peer] } else { &[] };
        burst.push(mentioning(conv, from, &format!("fresh-{i}"), mentions));
    }
    send_all(store, burst).await;
    check_cursors_and_mentions(store, &[(&ab, [&a, &b]), (&ac, [&a, &c])]).await;

    // Repeats of earlier keys and the first message of `ad` among them.
    let ad = ConvId::direct(&a, &d);
    let mut burst = Vec::new();
    for i in 0..60 {
        let (conv, from, peer) = match i % 3 {
            0 => (&ab, &b, &a),
            1 => (&ac, &a, &c),
            _ => (&ad, &a, &d),
        };
        let key = if i % 5 == 0 {
            "m1".to_owned()
        } else {
            format!("mixed-{i}")
        };
        let mentions: &[&UserId] = if i % 2 == 0 { &[peer] } else { &[] };
        burst.push(mentioning(conv, from, &key, mentions));
    }
    send_all(store, burst).await;
    check_cursors_and_mentions(store, &[(&ab, [&a, &b]), (&ac, [&a, &c]), (&ad, [&a, &d])]).await;
}

/// A text message from `from` with key `key`, mentioning `mentions`.
fn mentioning(conv: &ConvId, from: &UserId, key: &str, mentions: &[&UserId]) -> NewMessage {
    let mut message = text(conv, from, &format!("text of {key}"), key);
    message.extra.mentions = mentions.iter().map(|u| u.to_string()).collect();
    message
}

/// Sends `messages` all at once, so that they share batches; none is refused.
async fn send_all(store: &Arc<dyn Store>, messages: Vec<NewMessage>) {
    let mut tasks = JoinSet::new();
    for message in messages {
        let store = store.clone();
        tasks.spawn(async move { store.append_sent(message).await });
    }
    while let Some(result) = tasks.join_next().await {
        result
            .expect("task")
            .expect("append_sent")
            .expect("not refused");
    }
}

/// In each direct conversation, each user's cursor is at their last message
/// (0 without one), and each user's mention count is the number of stored
/// messages mentioning them.
async fn check_cursors_and_mentions(store: &Arc<dyn Store>, convs: &[(&ConvId, [&UserId; 2])]) {
    for (conv, users) in convs {
        let stored = read_all(store, conv).await;
        for user in users {
            let last_sent = stored
                .iter()
                .filter(|m| m.from == user.as_str() && m.kind != "event")
                .filter(|m| m.text.as_deref() != Some("not a send"))
                .map(|m| m.seq)
                .max()
                .unwrap_or(0);
            assert_eq!(
                cursor(store, user, conv).await,
                last_sent,
                "{conv}: {user}'s cursor"
            );
            let mentioned = stored
                .iter()
                .filter(|m| m.mentions.iter().any(|u| u == user.as_str()))
                .count() as u64;
            let (_, mentions) = unread(store, user, conv).await;
            assert_eq!(mentions, mentioned, "{conv}: {user}'s mentions");
        }
    }
}

/// `user`'s read cursor in `conv` as `conversations` lists it (0 when unlisted).
async fn cursor(store: &Arc<dyn Store>, user: &UserId, conv: &ConvId) -> u64 {
    let name = conv.to_string();
    store
        .conversations(user)
        .await
        .expect("conversations")
        .into_iter()
        .find(|summary| summary.conv == name)
        .map_or(0, |summary| summary.read_seq)
}

/// `user`'s unread and mention counts in `conv` from its start.
async fn unread(store: &Arc<dyn Store>, user: &UserId, conv: &ConvId) -> (u64, u64) {
    store
        .unread_counts(user, &[(conv.clone(), 0, u64::MAX)])
        .await
        .expect("unread_counts")[0]
}
