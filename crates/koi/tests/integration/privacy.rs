//! Blocks and privacy binding everywhere (§13; issue #19 items 6, 12, 15;
//! issue #23): nobody is added to a group by a user they blocked; online
//! state shows only to mutual contacts and co-members of small groups, never
//! to a blocked user; add/remove-contact cycles do not spam the target; the
//! `dm`, `group_add` and `presence` settings; a block hides typing.
//!
//! Every test runs on each topology, the users on different nodes of the cluster.

use koi_client::{Api, Connection, Transport};
use koi_proto::SettingsSet;
use koi_proto::frame::Op;

use crate::harness::{Endpoint, Koi, Topology, code, next_push, on_each_topology};
use crate::people::{befriend, person};

on_each_topology!(
    a_blocked_user_cannot_add_their_blocker_to_a_group,
    online_state_shows_to_contacts_and_small_group_comembers_only,
    contact_add_remove_cycles_notify_the_target_once,
    dm_contacts_refuses_a_strangers_first_message,
    group_add_contacts_refuses_a_non_contacts_add,
    presence_nobody_hides_presence_and_last_seen,
    a_block_hides_typing,
);

/// #6: bob blocked xavier; xavier can neither create a group with bob in it
/// nor add bob to a group (`forbidden`), and nothing of it reaches bob; others
/// are added as usual.
async fn a_blocked_user_cannot_add_their_blocker_to_a_group(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, x) = koi.user("xavier", Transport::WsJson).await;
    let (bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    let (carol, _c) = koi.user("carol", Transport::WsJson).await;
    b.block(x.user()).await.unwrap();

    assert_eq!(
        code(
            x.group_create("trap", [carol.as_str(), bob.as_str()], false)
                .await
        ),
        "forbidden"
    );
    let group = x
        .group_create("fine", [carol.as_str()], false)
        .await
        .unwrap();
    assert_eq!(
        code(x.group_add(&group.id, [bob.as_str()]).await),
        "forbidden"
    );
    let info = x.group_info(&group.id).await.unwrap();
    assert!(info.members.iter().all(|m| m.user != bob), "{info:?}");
    assert_eq!(info.members.len(), 2);
    let convs = b.sync().await.unwrap();
    assert!(convs.iter().all(|c| c.kind != "group"), "{convs:?}");

    // Once unblocked, the add goes through.
    b.unblock(x.user()).await.unwrap();
    x.group_add(&group.id, [bob.as_str()]).await.unwrap();
}

/// #12: alice is online. A stranger sees her offline (`presence` and
/// `contacts`); her mutual contact sees her online, and so does a co-member
/// of a small group; once she blocks her contact, that contact sees her
/// offline in both.
async fn online_state_shows_to_contacts_and_small_group_comembers_only(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (_, stranger) = koi.user("stranger", Transport::TcpProtobuf).await;
    let (_, friend) = koi.user("friend", Transport::WsJson).await;
    let (_, mate) = koi.user("mate", Transport::TcpProtobuf).await;

    async fn sees_online(conn: &Connection, user: &str) -> bool {
        !conn.presence([user]).await.unwrap().is_empty()
    }
    assert!(
        !sees_online(&stranger, &alice).await,
        "a stranger sees nothing"
    );
    // A one-sided request shows nothing either.
    stranger.contact_add(&alice).await.unwrap();
    assert!(!sees_online(&stranger, &alice).await);
    let listed = stranger.contacts().await.unwrap();
    assert!(listed.iter().all(|c| !c.online), "{listed:?}");

    friend.contact_add(&alice).await.unwrap();
    a.contact_add(friend.user()).await.unwrap();
    assert!(
        sees_online(&friend, &alice).await,
        "a mutual contact sees her"
    );
    assert!(
        friend
            .contacts()
            .await
            .unwrap()
            .iter()
            .any(|c| c.user == alice && c.online)
    );

    assert!(!sees_online(&mate, &alice).await);
    a.group_create("small", [mate.user()], false).await.unwrap();
    assert!(
        sees_online(&mate, &alice).await,
        "a co-member of a small group sees her"
    );

    a.block(friend.user()).await.unwrap();
    assert!(
        !sees_online(&friend, &alice).await,
        "never to a user she blocked"
    );
    assert!(friend.contacts().await.unwrap().iter().all(|c| !c.online));
}

/// #15: adding, removing and adding again puts one `contact_request` notice
/// in the target's system conversation, not one per cycle.
async fn contact_add_remove_cycles_notify_the_target_once(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, a) = koi.user("cycler", Transport::WsJson).await;
    let (bob, b) = koi.user("target", Transport::TcpProtobuf).await;
    for _ in 0..5 {
        a.contact_add(&bob).await.unwrap();
        a.contact_remove(&bob).await.unwrap();
    }
    a.contact_add(&bob).await.unwrap();
    let notices = b
        .history(&format!("s:{bob}"), None, None, None)
        .await
        .unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .meta
            .as_deref()
            .unwrap_or("")
            .contains("contact_request")
    );
    // The request itself stands.
    let listed = b.contacts().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.user == a.user() && c.state == "incoming")
    );
}

fn setting(dm: Option<&str>, presence: Option<&str>, group_add: Option<&str>) -> SettingsSet {
    SettingsSet {
        dm: dm.map(str::to_owned),
        presence: presence.map(str::to_owned),
        group_add: group_add.map(str::to_owned),
    }
}

/// Bob takes new conversations from his contacts only: a stranger's first
/// message is `forbidden` (by name or by conversation), one from a user bob
/// added goes through, and a conversation bob started goes on both ways,
/// also once the contact is gone.
async fn dm_contacts_refuses_a_strangers_first_message(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (bob, b) = koi.user("bob", Transport::WsJson).await;
    let (alice, a) = koi.user("alice", Transport::TcpProtobuf).await;
    let (carol, c) = koi.user("carol", Transport::WsJson).await;
    b.settings_set(setting(Some("contacts"), None, None))
        .await
        .unwrap();
    assert_eq!(code(a.send_text(&bob, "s1", "hi").await), "forbidden");
    let conv = format!(
        "d:{}:{}",
        alice.clone().min(bob.clone()),
        alice.clone().max(bob.clone())
    );
    assert_eq!(code(a.send_text(&conv, "s2", "hi").await), "forbidden");
    assert!(b.history(&conv, None, None, None).await.unwrap().is_empty());

    // A one-sided request from alice is not enough; bob adding her is.
    a.contact_add(&bob).await.unwrap();
    assert_eq!(code(a.send_text(&bob, "s3", "hi").await), "forbidden");
    b.contact_add(&alice).await.unwrap();
    a.send_text(&bob, "s4", "hi bob").await.unwrap();
    b.contact_remove(&alice).await.unwrap();
    a.send_text(&bob, "s5", "still here").await.unwrap();

    b.send_text(&carol, "b1", "hello stranger").await.unwrap();
    c.send_text(&bob, "c1", "hello yourself").await.unwrap();
}

/// Bob may be added to groups by his contacts only: a stranger's
/// `group_create` with him and `group_add` of him are `forbidden` (and add
/// nobody); once bob added the stranger, both go through.
async fn group_add_contacts_refuses_a_non_contacts_add(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (bob, b) = koi.user("bob", Transport::WsJson).await;
    let (x, xc) = koi.user("xavier", Transport::TcpProtobuf).await;
    let (carol, _c) = koi.user("carol", Transport::WsJson).await;
    b.settings_set(setting(None, None, Some("contacts")))
        .await
        .unwrap();
    assert_eq!(
        code(
            xc.group_create("trap", [carol.as_str(), bob.as_str()], false)
                .await
        ),
        "forbidden"
    );
    let group = xc
        .group_create("fine", [carol.as_str()], false)
        .await
        .unwrap();
    assert_eq!(
        code(xc.group_add(&group.id, [bob.as_str()]).await),
        "forbidden"
    );
    let info = xc.group_info(&group.id).await.unwrap();
    assert!(info.members.iter().all(|m| m.user != bob), "{info:?}");

    b.contact_add(&x).await.unwrap();
    xc.group_add(&group.id, [bob.as_str()]).await.unwrap();
    xc.group_create("welcome", [bob.as_str()], false)
        .await
        .unwrap();
}

/// The next `presence` push on `conn` about `user`: online or not.
async fn next_presence_of(conn: &Connection, user: &str) -> bool {
    next_push(conn, |op| match op {
        Op::Presence(p) if p.user.as_deref() == Some(user) => p.online,
        _ => None,
    })
    .await
}

/// Alice's `last_seen` (durable, when her last connection closed) shows to
/// her mutual contact, not to a stranger. With `presence: nobody` her
/// contact is told she went offline, sees her offline in `presence` and
/// `contacts`, and gets no `last_seen`; back on `contacts`, all shows again.
async fn presence_nobody_hides_presence_and_last_seen(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, token, a1) = person(&koi, "alice", Transport::WsJson).await;
    let (_, _, friend) = person(&koi, "friend", Transport::TcpProtobuf).await;
    let (_, _, stranger) = person(&koi, "stranger", Transport::WsJson).await;
    befriend(&a1, &friend).await;

    a1.close().await;
    assert!(!next_presence_of(&friend, &alice).await);
    let seen = friend.profiles([alice.as_str()]).await.unwrap()[0].last_seen;
    assert!(seen.is_some_and(|ms| ms > 0), "{seen:?}");
    let hidden = stranger.profiles([alice.as_str()]).await.unwrap();
    assert_eq!(hidden[0].last_seen, None, "a stranger sees no last_seen");

    let a2 = koi.connect(&token, Transport::TcpProtobuf).await;
    assert!(next_presence_of(&friend, &alice).await);
    a2.settings_set(setting(None, Some("nobody"), None))
        .await
        .unwrap();
    assert!(!next_presence_of(&friend, &alice).await, "told at once");
    assert!(friend.presence([alice.as_str()]).await.unwrap().is_empty());
    let listed = friend.contacts().await.unwrap();
    assert!(
        listed.iter().all(|c| c.user != alice || !c.online),
        "{listed:?}"
    );
    let profile = &friend.profiles([alice.as_str()]).await.unwrap()[0];
    assert_eq!(profile.last_seen, None);

    a2.settings_set(setting(None, Some("contacts"), None))
        .await
        .unwrap();
    assert!(next_presence_of(&friend, &alice).await);
    let online = friend.presence([alice.as_str()]).await.unwrap();
    assert_eq!(online, std::slice::from_ref(&alice));
    assert!(
        friend.profiles([alice.as_str()]).await.unwrap()[0]
            .last_seen
            .is_some()
    );
}

/// Bob blocked alice: her typing reaches carol in their group but never
/// bob, neither there nor in the direct conversation. Pushes from one
/// sender arrive in order, so bob's next typing-or-message push being her
/// later message proves no typing came before it.
async fn a_block_hides_typing(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    let (_, c) = koi.user("carol", Transport::WsJson).await;
    let group = a
        .group_create("three", [bob.as_str(), c.user()], false)
        .await
        .unwrap();
    let conv = format!("g:{}", group.id);
    b.block(&alice).await.unwrap();

    let direct = format!(
        "d:{}:{}",
        alice.clone().min(bob.clone()),
        alice.clone().max(bob.clone())
    );
    a.typing(&direct).await.unwrap();
    a.typing(&conv).await.unwrap();
    let typing = next_push(&c, |op| match op {
        Op::Typing(t) => Some(t),
        _ => None,
    })
    .await;
    assert_eq!(
        typing.user.as_deref(),
        Some(alice.as_str()),
        "carol sees it"
    );
    a.send_text(&conv, "m1", "hello all").await.unwrap();
    let first = next_push(&b, |op| match op {
        Op::Typing(t) => Some(Err(t)),
        Op::Msg(m) => Some(Ok(m)),
        _ => None,
    })
    .await;
    let msg = first.expect("no typing from alice reaches bob");
    assert_eq!(
        (msg.conv.as_str(), msg.from.as_str()),
        (conv.as_str(), alice.as_str())
    );
}
