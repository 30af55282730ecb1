//! Presence (§6, §7): the `presence` query, the pushes to mutual contacts, and
//! `online` in `contacts`.
//!
//! Every test runs on each topology; in the cluster a user's devices and their
//! contacts are on different nodes.

use koi_client::{Api, Connection, Transport};
use koi_proto::Presence;
use koi_proto::frame::Op;

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, login, next_push, on_each_topology, register_login, unique,
};

on_each_topology!(presence_query, presence_pushes_to_mutual_contacts);

/// The next `presence` push on `conn`, as `(user, online)`.
async fn next_presence(conn: &Connection) -> (String, bool) {
    let p: Presence = next_push(conn, |op| match op {
        Op::Presence(p) => Some(p),
        _ => None,
    })
    .await;
    (
        p.user.expect("a presence push names its user"),
        p.online.expect("a presence push says online or not"),
    )
}

/// Makes `x` and `y` mutual contacts.
async fn befriend(x: &Connection, y: &Connection) {
    x.contact_add(y.user()).await.unwrap();
    y.contact_add(x.user()).await.unwrap();
}

/// `presence {users}` answers which of the users have a connection, as far as
/// the asker may see (bob is alice's mutual contact, carol is not): offline
/// and unknown users are left out; a user whose last connection closed is
/// offline again.
async fn presence_query(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let carol = unique("carol");
        register_login(&koi, &carol).await;
        // Online state shows to mutual contacts (and small groups' co-members) only.
        befriend(&a, &b).await;
        let mut online = a
            .presence([alice.as_str(), bob.as_str(), carol.as_str(), "nobody-here"])
            .await
            .unwrap();
        online.sort();
        let mut expected = vec![alice.clone(), bob.clone()];
        expected.sort();
        assert_eq!(online, expected, "{transport:?}");
        assert!(a.presence(Vec::<String>::new()).await.unwrap().is_empty());

        // Bob leaves; as alice's mutual contact she is told, after which the
        // query must agree.
        b.close().await;
        assert_eq!(next_presence(&a).await, (bob.clone(), false));
        assert!(a.presence([bob.as_str()]).await.unwrap().is_empty());
    }
}

/// A user's first device connecting pushes `{user, online: true}` to their
/// mutual contacts — not to one-sided contacts — and `contacts` shows them
/// `online`; a second device pushes nothing; closing one of two devices pushes
/// nothing; the last one leaving pushes `{online: false}` once.
async fn presence_pushes_to_mutual_contacts(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (carol, c) = koi.user("carol", transport).await;
        let bob = unique("bob");
        let bob_token = register_login(&koi, &bob).await;
        let dave = unique("dave");
        let dave_token = register_login(&koi, &dave).await;
        let b1 = koi.connect(&bob_token, transport).await;
        let d1 = koi.connect(&dave_token, Transport::WsJson).await;

        // alice ⇄ bob, alice ⇄ dave, carol ⇄ dave are mutual; carol → bob is
        // only a request.
        befriend(&a, &b1).await;
        befriend(&a, &d1).await;
        befriend(&c, &d1).await;
        c.contact_add(&bob).await.unwrap();
        let seen = a.contacts().await.unwrap();
        assert!(
            seen.iter().all(|x| x.online && x.state == "mutual"),
            "{transport:?}: {seen:?}"
        );

        // Dave leaves: the first presence push alice and carol see is his, so
        // nothing about bob came before.
        d1.close().await;
        assert_eq!(next_presence(&a).await, (dave.clone(), false));
        assert_eq!(next_presence(&c).await, (dave.clone(), false));

        b1.close().await;
        assert_eq!(
            next_presence(&a).await,
            (bob.clone(), false),
            "{transport:?}"
        );
        let seen = a.contacts().await.unwrap();
        let bob_seen = seen.iter().find(|x| x.user == bob).unwrap();
        assert_eq!(
            (bob_seen.state.as_str(), bob_seen.online),
            ("mutual", false)
        );

        let b1 = koi.connect(&bob_token, transport).await;
        assert_eq!(next_presence(&a).await, (bob.clone(), true), "first device");
        assert!(
            a.contacts()
                .await
                .unwrap()
                .iter()
                .any(|x| x.user == bob && x.online)
        );

        // Bob's second device, then dave's first: dave's push being the next
        // one alice sees proves the second device pushed nothing; carol's next
        // being dave's proves she, a one-sided contact of bob, got none of his.
        let b2 = koi
            .connect(&login(&koi, &bob).await, Transport::WsJson)
            .await;
        let d1 = koi.connect(&dave_token, Transport::WsJson).await;
        assert_eq!(
            next_presence(&a).await,
            (dave.clone(), true),
            "{transport:?}: a second device is not announced"
        );
        assert_eq!(
            next_presence(&c).await,
            (dave.clone(), true),
            "{transport:?}: presence goes to mutual contacts only"
        );

        // One device of two leaves: still online, nothing pushed; the last one
        // leaves: one offline push, then dave's (the barrier).
        b2.close().await;
        assert_eq!(
            a.presence([bob.as_str()]).await.unwrap(),
            std::slice::from_ref(&bob)
        );
        b1.close().await;
        assert_eq!(next_presence(&a).await, (bob.clone(), false), "last device");
        d1.close().await;
        assert_eq!(
            next_presence(&a).await,
            (dave.clone(), false),
            "{transport:?}: bob's going offline was pushed once"
        );
        assert_eq!(alice, a.user());
        assert_eq!(carol, c.user());
    }
}
