//! The message lifecycle (§11): extras stored with a message, edits,
//! reactions, hidden messages, read_by, unread and mention counts.

use std::sync::Arc;

use koi_core::{ConvId, HistoryRange, Role};
use koi_proto::{Event, ReplyPreview};

use super::{create_users, group_id, text};
use crate::{EditRecord, MessageExtra, NewGroup, Store, StoreError, UNREAD_CAP};

/// An event, a reply and mentions come back as stored, from `history`,
/// `message` and the commit listener's copy alike.
pub async fn message_extras(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["extra.a", "extra.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let first = store
        .append(text(&conv, &a, "hi", ""))
        .await
        .expect("append");
    let extra = MessageExtra {
        event: Some(Event {
            r#type: "react".into(),
            r#ref: Some(first.message.seq),
            emoji: Some("👍".into()),
            ..Event::default()
        }),
        reply_to: Some(first.message.seq),
        reply_preview: Some(ReplyPreview {
            from: a.to_string(),
            kind: "text".into(),
            text: Some("hi".into()),
        }),
        mentions: vec![a.to_string(), "all".into()],
    };
    let mut message = text(&conv, &b, "re", "");
    message.extra = extra.clone();
    let appended = store.append(message).await.expect("append").message;
    assert_eq!(appended.event, extra.event);
    assert_eq!(appended.mentions, extra.mentions);
    let read = store
        .message(&conv, appended.seq)
        .await
        .expect("message")
        .expect("stored");
    assert_eq!(read, appended, "read back as appended");
    let history = store
        .history(&conv, HistoryRange::Latest { limit: 10 })
        .await
        .expect("history");
    assert_eq!(history[1], appended);
    assert_eq!(history[0].event, None, "a plain message has no extras");
}

/// An edit and reactions show through `message_states`; recall drops both.
pub async fn edits_and_reactions(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["react.a", "react.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let m = store
        .append(text(&conv, &a, "hi", ""))
        .await
        .expect("append")
        .message;
    store
        .edit(
            &conv,
            m.seq,
            EditRecord {
                text: Some("hello".into()),
                meta: None,
                edited_ts: m.ts + 5,
            },
        )
        .await
        .expect("edit");
    assert!(store.react(&conv, m.seq, &b, "👍", 2).await.expect("react"));
    assert!(
        !store
            .react(&conv, m.seq, &b, "👍", 2)
            .await
            .expect("repeat")
    );
    assert!(store.react(&conv, m.seq, &a, "👍", 2).await.expect("react"));
    assert!(store.react(&conv, m.seq, &a, "🎉", 2).await.expect("react"));
    let third = store.react(&conv, m.seq, &b, "🙂", 2).await;
    assert!(matches!(third, Err(StoreError::Limit(_))), "{third:?}");

    let mut shown = m.clone();
    let states = store
        .message_states(&a, &conv, m.seq, m.seq)
        .await
        .expect("states");
    states.apply(&mut shown);
    assert_eq!(
        (shown.text.as_deref(), shown.edited_ts),
        (Some("hello"), Some(m.ts + 5))
    );
    let summary: Vec<_> = shown
        .reactions
        .iter()
        .map(|r| (r.emoji.as_str(), r.count, r.users.clone(), r.me))
        .collect();
    assert_eq!(
        summary,
        [
            ("👍", 2, vec![b.to_string(), a.to_string()], true),
            ("🎉", 1, vec![a.to_string()], true),
        ]
    );
    assert!(
        store
            .unreact(&conv, m.seq, &a, "🎉")
            .await
            .expect("unreact")
    );
    assert!(!store.unreact(&conv, m.seq, &a, "🎉").await.expect("again"));
    let for_b = store
        .message_states(&b, &conv, m.seq, m.seq)
        .await
        .expect("states");
    let reactions = &for_b.reactions[&m.seq];
    assert_eq!((reactions.len(), reactions[0].me), (1, true));

    store.recall(&conv, m.seq).await.expect("recall");
    let after = store
        .message_states(&a, &conv, m.seq, m.seq)
        .await
        .expect("states");
    assert_eq!(after, Default::default(), "recall drops edit and reactions");
}

/// Hidden seqs are the user's own, in the open interval asked.
pub async fn hidden_messages(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["hide.a", "hide.b"]).await;
    let conv = ConvId::direct(&a, &b);
    for i in 0..4 {
        store
            .append(text(&conv, &a, &format!("m{i}"), ""))
            .await
            .expect("append");
    }
    store.hide(&b, &conv, 2).await.expect("hide");
    store.hide(&b, &conv, 2).await.expect("hide again");
    store.hide(&b, &conv, 4).await.expect("hide");
    assert_eq!(
        store.hidden(&b, &conv, 0, u64::MAX).await.expect("hidden"),
        [2, 4]
    );
    assert_eq!(
        store.hidden(&b, &conv, 2, 4).await.expect("hidden"),
        [0u64; 0]
    );
    assert!(
        store
            .hidden(&a, &conv, 0, u64::MAX)
            .await
            .expect("hidden")
            .is_empty()
    );
}

/// `read_by` counts other members at or past a seq; unread and mention
/// counts skip events and stop at the cap.
pub async fn read_by_and_unread(store: &Arc<dyn Store>) {
    let [owner, x, y] = create_users(store, ["rb.o", "rb.x", "rb.y"]).await;
    let id = group_id("readby");
    store
        .create_group(NewGroup {
            id: id.clone(),
            name: "rb".into(),
            owner: owner.clone(),
            public: false,
            members: vec![x.clone(), y.clone()],
            max_members: 10,
        })
        .await
        .expect("group");
    assert_eq!(
        store.member_role(&id, &x).await.expect("role"),
        Some(Role::Member)
    );
    let conv = ConvId::Group(id);
    let m = store
        .append(text(&conv, &owner, "one", ""))
        .await
        .expect("append")
        .message;
    let mut mention = text(&conv, &owner, "two", "");
    mention.extra.mentions = vec![x.to_string()];
    // The append records its mentions.
    store.append(mention).await.expect("append");
    let mut event = text(&conv, &owner, "", "");
    event.kind = "event".into();
    event.text = None;
    store.append(event).await.expect("append");

    store.set_read(&x, &conv, m.seq).await.expect("read");
    let read = store
        .read_by(&conv, m.seq, &owner, 100)
        .await
        .expect("read_by");
    assert_eq!((read.count, read.users), (1, vec![x.to_string()]));
    let none = store.read_by(&conv, m.seq, &x, 100).await.expect("read_by");
    assert_eq!(none.count, 0);

    let counts = store
        .unread_counts(&x, &[(conv.clone(), m.seq, u64::MAX)])
        .await
        .expect("counts");
    assert_eq!(
        counts,
        [(1, 1)],
        "one message after the cursor, mentioning x"
    );
    let counts = store
        .unread_counts(&y, &[(conv.clone(), 0, u64::MAX)])
        .await
        .expect("counts");
    assert_eq!(counts, [(2, 0)], "the event is not counted");
    // Counted up to a bound (the `last_seq` that `sync` reports beside the
    // counts), so a message appended meanwhile is not counted twice.
    let counts = store
        .unread_counts(&x, &[(conv.clone(), 0, m.seq)])
        .await
        .expect("counts");
    assert_eq!(counts, [(1, 0)], "nothing after the bound, nor its mention");
    const { assert!(UNREAD_CAP >= 2) };
}
