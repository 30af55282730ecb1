//! Contacts (§7): requests and their system messages, the states seen from
//! each side, removal, blocking.
//!
//! Every test runs on each topology, the two sides on different nodes of the
//! cluster.

use koi_client::{Api, Connection};
use koi_proto::frame::Op;
use koi_proto::{Contact, Message};

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, code, next_push, on_each_topology};

on_each_topology!(
    requests_states_and_system_messages,
    remove_a_contact,
    block_and_unblock,
    unknown_users_and_oneself,
);

/// The state `conn`'s user sees for `other`, `None` when not listed.
async fn state(conn: &Connection, other: &str) -> Option<String> {
    let contacts: Vec<Contact> = conn.contacts().await.unwrap();
    let mut found = contacts.iter().filter(|c| c.user == other);
    let first = found.next().map(|c| c.state.clone());
    assert!(found.next().is_none(), "{other} is listed more than once");
    first
}

/// The next `msg` push of `conv` on `conn`.
async fn next_in(conn: &Connection, conv: &str) -> Message {
    next_push(conn, |op| match op {
        Op::Msg(m) if m.conv == conv => Some(m),
        _ => None,
    })
    .await
}

/// Checks a message is a server-made `system` message in `s:<user>`.
fn assert_system(msg: &Message, user: &str) {
    assert_eq!(msg.conv, format!("s:{user}"));
    assert_eq!(msg.from, "system");
    assert_eq!(msg.kind, "system");
    assert!(msg.seq >= 1 && !msg.id.is_empty() && msg.ts > 0, "{msg:?}");
}

/// `contact_add` is a request: the other side gets a `system` message from
/// "system" in `s:<them>` (pushed and in history); the states are
/// `requested` / `incoming` until the other side adds back, then `mutual` on
/// both sides (and the requester gets a system message too). Adding twice
/// changes nothing.
async fn requests_states_and_system_messages(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        assert_eq!(state(&a, &bob).await, None);

        a.contact_add(&bob).await.unwrap();
        let request = next_in(&b, &format!("s:{bob}")).await;
        assert_system(&request, &bob);
        assert_eq!(request.seq, 1, "{transport:?}");
        let history = b
            .history(&format!("s:{bob}"), None, None, None)
            .await
            .unwrap();
        assert_eq!(
            history,
            std::slice::from_ref(&request),
            "the pushed message is stored"
        );
        assert_eq!(state(&a, &bob).await.as_deref(), Some("requested"));
        assert_eq!(state(&b, &alice).await.as_deref(), Some("incoming"));

        a.contact_add(&bob).await.unwrap();
        assert_eq!(state(&a, &bob).await.as_deref(), Some("requested"));

        b.contact_add(&alice).await.unwrap();
        let accepted = next_in(&a, &format!("s:{alice}")).await;
        assert_system(&accepted, &alice);
        assert_eq!(state(&a, &bob).await.as_deref(), Some("mutual"));
        assert_eq!(state(&b, &alice).await.as_deref(), Some("mutual"));
        let contacts = a.contacts().await.unwrap();
        assert_eq!(contacts.len(), 1, "{contacts:?}");
        assert!(contacts[0].online, "bob is connected");

        let sync = b.sync().await.unwrap();
        let system = sync
            .iter()
            .find(|c| c.conv == format!("s:{bob}"))
            .expect("the system conversation is in sync");
        assert_eq!((system.kind.as_str(), system.last_seq), ("system", 1));
    }
}

/// `contact_remove` ends the contact: the remover no longer lists the other
/// user and neither side sees `mutual` any more.
async fn remove_a_contact(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        a.contact_add(&bob).await.unwrap();
        b.contact_add(&alice).await.unwrap();
        assert_eq!(state(&a, &bob).await.as_deref(), Some("mutual"));

        a.contact_remove(&bob).await.unwrap();
        assert_eq!(state(&a, &bob).await, None, "{transport:?}");
        assert_ne!(state(&b, &alice).await.as_deref(), Some("mutual"));

        // A pending request can be withdrawn too.
        let (carol, _c) = koi.user("carol", transport).await;
        a.contact_add(&carol).await.unwrap();
        a.contact_remove(&carol).await.unwrap();
        assert_eq!(state(&a, &carol).await, None);
    }
}

/// `block` shows the user as `blocked` to the blocker and refuses the blocked
/// user's direct messages with `blocked` (the blocker may still write);
/// `unblock` restores them.
async fn block_and_unblock(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let first = b.send_text(&alice, "b1", "hi").await.unwrap();

        a.block(&bob).await.unwrap();
        assert_eq!(state(&a, &bob).await.as_deref(), Some("blocked"));
        assert_eq!(
            code(b.send_text(&alice, "b2", "hello?").await),
            "blocked",
            "{transport:?}"
        );
        assert_eq!(
            code(b.send_text(&first.conv, "b3", "by conv").await),
            "blocked",
            "also when addressed by conversation"
        );
        a.send_text(&bob, "a1", "I can still write").await.unwrap();
        assert_eq!(
            a.history(&first.conv, None, None, None)
                .await
                .unwrap()
                .iter()
                .map(|m| m.client_msg_id.as_str())
                .collect::<Vec<_>>(),
            ["b1", "a1"],
            "the refused messages were not stored"
        );
        b.ping().await.expect("the connection stays open");

        a.unblock(&bob).await.unwrap();
        assert_ne!(state(&a, &bob).await.as_deref(), Some("blocked"));
        let ok = b.send_text(&alice, "b4", "friends again").await.unwrap();
        assert_eq!(ok.seq, 3);
    }
}

/// Naming an unknown user is `not_found`; naming oneself is `bad_request`.
async fn unknown_users_and_oneself(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        assert_eq!(code(a.contact_add("nobody-here").await), "not_found");
        assert_eq!(code(a.contact_remove("nobody-here").await), "not_found");
        assert_eq!(code(a.block("nobody-here").await), "not_found");
        assert_eq!(code(a.contact_add(&alice).await), "bad_request");
        assert_eq!(code(a.block(&alice).await), "bad_request");
        assert!(a.contacts().await.unwrap().is_empty(), "{transport:?}");
    }
}
