//! Checks of the conversation list and read cursors.

use std::sync::Arc;

use koi_core::{ConvId, UserId};
use koi_proto::ConvSummary;

use super::{create_users, group_id, text};
use crate::{NewGroup, NewMessage, Store};

/// conversations() lists, for each user: direct conversations once they have a
/// message (for both users, with `peer`), their system conversation once it has a
/// message, and every group they belong to even without messages (last_seq 0,
/// with `group` and `name`); newest `last_ts` first; `read_seq` is per user.
/// A read cursor alone does not list a conversation.
pub async fn conversation_list(store: &Arc<dyn Store>) {
    let [a, b, c] = create_users(store, ["convs.a", "convs.b", "convs.c"]).await;
    assert!(
        list(store, &a).await.is_empty(),
        "a new user has no conversations"
    );
    store
        .set_read(&a, &ConvId::direct(&a, &c), 3)
        .await
        .expect("set_read");
    assert!(
        list(store, &a).await.is_empty(),
        "a cursor alone lists nothing"
    );

    let gid = group_id("convs-g");
    let group = store
        .create_group(NewGroup {
            id: gid.clone(),
            name: "Convs group".into(),
            owner: a.clone(),
            public: false,
            members: vec![c.clone()],
            max_members: 10,
        })
        .await
        .expect("create_group");
    let group_conv = ConvId::Group(group.id.clone()).to_string();
    for member in [&a, &c] {
        let listed = list(store, member).await;
        assert_eq!(listed.len(), 1, "{member} lists the new group: {listed:?}");
        let summary = &listed[0];
        assert_eq!(
            (summary.conv.as_str(), summary.kind.as_str()),
            (group_conv.as_str(), "group")
        );
        assert_eq!(
            summary.group.as_deref(),
            Some(gid.as_str()),
            "`group` is the bare id"
        );
        assert_eq!(summary.name.as_deref(), Some("Convs group"));
        assert_eq!(
            (summary.last_seq, summary.read_seq, summary.peer.as_ref()),
            (0, 0, None)
        );
        assert!(
            summary.last_ts > 0,
            "an empty group's last_ts is its creation time"
        );
    }
    assert!(
        list(store, &b).await.is_empty(),
        "{b} is in no conversation yet"
    );

    let direct = ConvId::direct(&a, &b);
    let sent = store
        .append(text(&direct, &a, "hi b", ""))
        .await
        .expect("append")
        .message;
    for (me, peer) in [(&a, &b), (&b, &a)] {
        let listed = list(store, me).await;
        let summary = find(&listed, &direct.to_string());
        assert_eq!(summary.kind, "direct");
        assert_eq!(
            summary.peer.as_deref(),
            Some(peer.as_str()),
            "peer is the other user"
        );
        assert_eq!(
            (summary.group.as_ref(), summary.name.as_ref()),
            (None, None)
        );
        assert_eq!((summary.last_seq, summary.last_ts), (1, sent.ts));
    }

    let system = ConvId::System(a.clone());
    // Server pushes come from `system`, which is not a user.
    let push = NewMessage {
        from: "system".into(),
        ..text(&system, &a, "welcome", "")
    };
    let notice = store.append(push).await.expect("append");
    let listed = list(store, &a).await;
    assert_eq!(
        listed.len(),
        3,
        "a lists the group, the direct and the system conversation"
    );
    let summary = find(&listed, &system.to_string());
    assert_eq!(
        (
            summary.kind.as_str(),
            summary.peer.as_ref(),
            summary.group.as_ref()
        ),
        ("system", None, None)
    );
    assert_eq!((summary.last_seq, summary.last_ts), (1, notice.message.ts));
    assert_newest_first(&listed);
    let newest = listed.iter().map(|s| s.last_ts).max();
    assert_eq!(
        Some(summary.last_ts),
        newest,
        "the latest append has the newest last_ts"
    );
    assert_eq!(list(store, &c).await.len(), 1, "c sees only the group");

    let in_group = store
        .append(text(&ConvId::Group(gid.clone()), &c, "hi group", ""))
        .await
        .expect("append to a group");
    for member in [&a, &c] {
        let listed = list(store, member).await;
        let summary = find(&listed, &group_conv);
        assert_eq!(
            (summary.last_seq, summary.last_ts),
            (1, in_group.message.ts)
        );
        assert_eq!(
            listed[0].last_ts, in_group.message.ts,
            "the group is (one of) the newest"
        );
        assert_newest_first(&listed);
    }

    store.set_read(&a, &direct, 1).await.expect("set_read");
    assert_eq!(
        find(&list(store, &a).await, &direct.to_string()).read_seq,
        1
    );
    assert_eq!(
        find(&list(store, &b).await, &direct.to_string()).read_seq,
        0,
        "cursors are per user"
    );
}

/// set_read moves a cursor forward only and returns it after the move; each
/// user has their own cursor per conversation.
pub async fn set_read_only_moves_forward(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["cursor.a", "cursor.b"]).await;
    let conv = ConvId::direct(&a, &b);
    for i in 0..10 {
        store
            .append(text(&conv, &a, &format!("m{i}"), ""))
            .await
            .expect("append");
    }
    assert_eq!(store.set_read(&a, &conv, 5).await.expect("set_read"), 5);
    assert_eq!(
        store.set_read(&a, &conv, 3).await.expect("set_read"),
        5,
        "never backwards"
    );
    assert_eq!(store.set_read(&a, &conv, 5).await.expect("set_read"), 5);
    assert_eq!(store.set_read(&a, &conv, 7).await.expect("set_read"), 7);
    assert_eq!(
        store.set_read(&b, &conv, 2).await.expect("set_read"),
        2,
        "b has its own cursor"
    );
    assert_eq!(find(&list(store, &a).await, &conv.to_string()).read_seq, 7);
    assert_eq!(find(&list(store, &b).await, &conv.to_string()).read_seq, 2);
}

async fn list(store: &Arc<dyn Store>, user: &UserId) -> Vec<ConvSummary> {
    store.conversations(user).await.expect("conversations")
}

fn find<'a>(list: &'a [ConvSummary], conv: &str) -> &'a ConvSummary {
    list.iter()
        .find(|s| s.conv == conv)
        .unwrap_or_else(|| panic!("{conv} missing from {list:?}"))
}

fn assert_newest_first(list: &[ConvSummary]) {
    assert!(
        list.windows(2).all(|w| w[0].last_ts >= w[1].last_ts),
        "newest last_ts first: {list:?}"
    );
}

/// `conversations` lists the most recently active first even when appends come
/// within the same millisecond, as they do for a client writing to two peers.
pub async fn conversation_order_within_a_millisecond(store: &Arc<dyn Store>) {
    let [me, x, y] = create_users(store, ["order.me", "order.x", "order.y"]).await;
    let (to_x, to_y) = (ConvId::direct(&me, &x), ConvId::direct(&me, &y));
    for round in 0..20 {
        let (first, second) = if round % 2 == 0 {
            (&to_x, &to_y)
        } else {
            (&to_y, &to_x)
        };
        store
            .append(text(first, &me, "a", ""))
            .await
            .expect("append");
        store
            .append(text(second, &me, "b", ""))
            .await
            .expect("append");
        let list = store.conversations(&me).await.expect("conversations");
        assert_eq!(
            list[0].conv,
            second.to_string(),
            "round {round}: the latest append first"
        );
        assert_eq!(list[1].conv, first.to_string());
    }
}
