//! Blocks and privacy binding everywhere (§13; issue #19 items 6, 12, 15):
//! nobody is added to a group by a user they blocked; online state shows only
//! to mutual contacts and co-members of small groups, never to a blocked user;
//! add/remove-contact cycles do not spam the target.
//!
//! Every test runs on each topology, the users on different nodes of the cluster.

use koi_client::{Api, Connection, Transport};

use crate::harness::{Endpoint, Koi, Topology, code, on_each_topology};

on_each_topology!(
    a_blocked_user_cannot_add_their_blocker_to_a_group,
    online_state_shows_to_contacts_and_small_group_comembers_only,
    contact_add_remove_cycles_notify_the_target_once,
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
