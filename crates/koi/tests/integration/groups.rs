//! Groups (§5, §7): creation, group messages and their fan-out, roles, joining,
//! adding, kicking, leaving, the size bound, typing, sync — and a 1,000-member
//! fan-out.
//!
//! Every test runs on each topology, members spread over the cluster's nodes;
//! `max_group_members` is given to every node.

use std::collections::HashMap;

use futures::StreamExt;
use koi_client::{Api, ClientError, Connection, Transport};
use koi_proto::frame::Op;
use koi_proto::{ConvSummary, Group, Message};
use serde_json::json;

use crate::harness::{
    Endpoint, Koi, PASSWORD, TRANSPORTS, Topology, code, http, login, next_msg, next_push,
    on_each_topology, unique,
};

on_each_topology!(
    create_send_push_and_history,
    group_info_roles_for_members_only,
    join_public_groups_only,
    add_and_kick_by_the_owner_only,
    leave_a_group,
    max_group_members_is_enforced,
    typing_in_a_group,
    sync_lists_groups_before_any_message,
    members_are_distinct_existing_users,
    fan_out_to_a_thousand_members,
    admins_are_made_by_the_owner,
);

/// The conversation of a group.
fn conv(group: &Group) -> String {
    format!("g:{}", group.id)
}

/// A second, WebSocket JSON device of `user`.
async fn device(koi: &Koi, user: &str) -> Connection {
    koi.connect(&login(koi, user).await, Transport::WsJson)
        .await
}

/// The `sync` entry of `conv`, checking it is listed exactly once.
fn listed<'a>(convs: &'a [ConvSummary], conv: &str) -> Option<&'a ConvSummary> {
    let mut found = convs.iter().filter(|c| c.conv == conv);
    let first = found.next();
    assert!(found.next().is_none(), "{conv} is listed more than once");
    first
}

/// The `(user, role)` pairs of a `group_info`, sorted by user.
fn roles(members: &[koi_proto::Member]) -> Vec<(String, String)> {
    let mut roles: Vec<_> = members
        .iter()
        .map(|m| (m.user.clone(), m.role.clone()))
        .collect();
    roles.sort();
    roles
}

/// `group_create` returns the group (bare id, name, creator as owner, public
/// flag, size with the creator and the listed members); its messages get seqs
/// 1, 2, 3, are idempotent on `client_msg_id`, are pushed once and in order to
/// every online member — the sender's other devices included, not the sending
/// connection — and are in every member's history; non-members can neither
/// read nor write the group.
async fn create_send_push_and_history(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a1) = koi.user("alice", transport).await;
        let a2 = device(&koi, &alice).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, c) = koi.user("carol", transport).await;
        let (_dave, d) = koi.user("dave", transport).await;

        let group = a1
            .group_create("  Team Koi ", [bob.as_str(), carol.as_str()], false)
            .await
            .unwrap();
        assert!(!group.id.is_empty() && !group.id.contains(':'), "{group:?}");
        assert_eq!(group.owner, alice);
        assert_eq!((group.public, group.size), (false, 3), "{group:?}");
        assert!(group.name.contains("Team Koi"), "{group:?}");
        let public = a1.group_create("Open", [bob.as_str()], true).await.unwrap();
        assert_eq!(
            (
                public.name.as_str(),
                public.owner.as_str(),
                public.public,
                public.size
            ),
            ("Open", alice.as_str(), true, 2)
        );
        assert_ne!(public.id, group.id);

        let g = conv(&group);
        let mut acks = Vec::new();
        for i in 1..=3 {
            let ok = a1
                .send_text(&g, &format!("g{i}"), &format!("hello team {i}"))
                .await
                .unwrap();
            assert_eq!((ok.conv.as_str(), ok.seq), (g.as_str(), i), "{transport:?}");
            assert!(!ok.id.is_empty() && ok.ts > 0);
            acks.push(ok);
        }
        let again = a1.send_text(&g, "g2", "hello team 2").await.unwrap();
        assert_eq!(
            again, acks[1],
            "the same client_msg_id returns the first reply"
        );

        for member in [&b, &c, &a2] {
            for (i, ack) in acks.iter().enumerate() {
                let msg = next_msg(member).await;
                assert_eq!(
                    (msg.conv.as_str(), msg.seq, msg.id.as_str(), msg.ts),
                    (g.as_str(), ack.seq, ack.id.as_str(), ack.ts),
                    "{transport:?}: pushes arrive once each, in seq order"
                );
                assert_eq!(msg.from, alice);
                assert_eq!(msg.kind, "text");
                assert_eq!(msg.text, Some(format!("hello team {}", i + 1)));
                assert_eq!(msg.client_msg_id, format!("g{}", i + 1));
            }
        }
        // Barrier: bob writes seq 4; the first group push the sending connection
        // sees being seq 4 proves seqs 1..3 (and the repeat) never came to it,
        // and the first push bob's peers see after seq 3 being seq 4 proves the
        // repeated send was not pushed again.
        b.send_text(&g, "b4", "hi all").await.unwrap();
        for conn in [&a1, &a2, &c] {
            let msg = next_msg(conn).await;
            assert_eq!(
                (msg.conv.as_str(), msg.seq, msg.from.as_str()),
                (g.as_str(), 4, bob.as_str()),
                "{transport:?}"
            );
        }

        let history = c.history(&g, None, None, None).await.unwrap();
        assert_eq!(
            history.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(history[0].text.as_deref(), Some("hello team 1"));
        assert_eq!(history[3].from, bob);
        assert_eq!(
            a2.history(&g, Some(3), None, None).await.unwrap()[0].id,
            history[3].id
        );

        assert_eq!(code(d.history(&g, None, None, None).await), "forbidden");
        assert_eq!(code(d.send_text(&g, "d1", "let me in").await), "forbidden");
        assert_eq!(code(d.read(&g, 1).await), "forbidden");
        assert_eq!(code(d.typing(&g).await), "forbidden");
        assert_eq!(
            code(d.history(&conv(&public), None, None, None).await),
            "forbidden",
            "a public group is not readable before joining"
        );
        assert_eq!(
            a1.history(&g, None, None, None).await.unwrap().len(),
            4,
            "the refused writes stored nothing"
        );
    }
}

/// `group_info` lists the group and its members with their roles (the creator
/// is `owner`, the others `member`) to members only: a non-member gets
/// `forbidden`, an unknown group `not_found`. (No operation of the protocol
/// makes an `admin`, so that role cannot be reached from a client.)
async fn group_info_roles_for_members_only(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, _c) = koi.user("carol", transport).await;
        let (_dave, d) = koi.user("dave", transport).await;
        let group = a
            .group_create("roles", [bob.as_str(), carol.as_str()], true)
            .await
            .unwrap();

        for viewer in [&a, &b] {
            let info = viewer.group_info(&group.id).await.unwrap();
            assert_eq!(info.group.as_ref(), Some(&group), "{transport:?}");
            let mut expected = vec![
                (alice.clone(), "owner".to_owned()),
                (bob.clone(), "member".to_owned()),
                (carol.clone(), "member".to_owned()),
            ];
            expected.sort();
            assert_eq!(roles(&info.members), expected);
        }
        assert_eq!(code(d.group_info(&group.id).await), "forbidden");
        assert_eq!(code(d.group_info("nosuchgroup").await), "not_found");
        assert_eq!(code(a.group_info("nosuchgroup").await), "not_found");
    }
}

/// Anyone may `group_join` a public group (and then reads and writes it, and
/// shows in `group_info`); a private group answers `forbidden`; an unknown one
/// `not_found`.
async fn join_public_groups_only(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (dave, d) = koi.user("dave", transport).await;
        let public = a
            .group_create("open", Vec::<String>::new(), true)
            .await
            .unwrap();
        let private = a
            .group_create("closed", Vec::<String>::new(), false)
            .await
            .unwrap();
        assert_eq!(public.size, 1);

        d.group_join(&public.id).await.unwrap();
        let info = d.group_info(&public.id).await.unwrap();
        assert_eq!(info.group.unwrap().size, 2);
        assert!(
            roles(&info.members).contains(&(dave.clone(), "member".to_owned())),
            "{transport:?}"
        );
        // Seq 1 is the `member_added` event of the join (§11).
        let ok = d.send_text(&conv(&public), "j1", "hello").await.unwrap();
        assert_eq!(ok.seq, 2);
        let pushed = next_msg(&a).await;
        assert_eq!((pushed.seq, pushed.from.as_str()), (2, dave.as_str()));

        assert_eq!(code(d.group_join(&private.id).await), "forbidden");
        assert_eq!(
            code(d.history(&conv(&private), None, None, None).await),
            "forbidden"
        );
        assert_eq!(
            a.group_info(&private.id).await.unwrap().members.len(),
            1,
            "the refused join added nobody"
        );
        assert_eq!(code(d.group_join("nosuchgroup").await), "not_found");
    }
}

/// The owner may `group_add` and `group_kick`; a plain member may do neither
/// (`forbidden`). An added user reads, writes and gets pushes; a kicked user
/// loses access (history, send → `forbidden`; the group leaves their `sync`)
/// and gets no more pushes of the group.
async fn add_and_kick_by_the_owner_only(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, c) = koi.user("carol", transport).await;
        let (erin, _e) = koi.user("erin", transport).await;
        let group = a
            .group_create("managed", [bob.as_str()], false)
            .await
            .unwrap();
        let g = conv(&group);

        assert_eq!(
            code(b.group_add(&group.id, [carol.as_str()]).await),
            "forbidden"
        );
        assert_eq!(code(b.group_kick(&group.id, &alice).await), "forbidden");
        assert_eq!(
            code(c.group_add(&group.id, [carol.as_str()]).await),
            "forbidden"
        );
        assert_eq!(code(c.history(&g, None, None, None).await), "forbidden");

        a.group_add(&group.id, [carol.as_str(), erin.as_str()])
            .await
            .unwrap();
        let info = a.group_info(&group.id).await.unwrap();
        assert_eq!(info.group.unwrap().size, 4);
        // Seqs 1 and 2 are the `member_added` events of the add (§11).
        a.send_text(&g, "m1", "welcome").await.unwrap();
        let msg = next_msg(&c).await;
        assert_eq!(
            (msg.conv.as_str(), msg.seq),
            (g.as_str(), 3),
            "{transport:?}"
        );
        c.send_text(&g, "c1", "thanks").await.unwrap();
        assert_eq!(c.history(&g, None, None, None).await.unwrap().len(), 4);
        assert_eq!(next_msg(&b).await.seq, 3);
        assert_eq!(next_msg(&b).await.seq, 4);

        assert_eq!(code(b.group_kick(&group.id, &carol).await), "forbidden");
        a.group_kick(&group.id, &carol).await.unwrap();
        assert_eq!(code(c.history(&g, None, None, None).await), "forbidden");
        assert_eq!(
            code(c.send_text(&g, "c2", "still here?").await),
            "forbidden"
        );
        assert_eq!(code(c.group_info(&group.id).await), "forbidden");
        assert!(
            listed(&c.sync().await.unwrap(), &g).is_none(),
            "a kicked user no longer takes part in the group"
        );
        let info = b.group_info(&group.id).await.unwrap();
        assert_eq!(info.group.unwrap().size, 3);
        assert!(!info.members.iter().any(|m| m.user == carol));

        // Seq 5 is the kick's event; seq 6 is sent while carol is out.
        // Barrier: she is added back (event 7) and seq 8 is sent; pushes of
        // the group arrive in seq order, so her first group message push
        // being seq 8 proves seq 6 never reached her.
        a.send_text(&g, "m3", "carol is gone").await.unwrap();
        assert_eq!(next_msg(&b).await.seq, 6);
        a.group_add(&group.id, [carol.as_str()]).await.unwrap();
        a.send_text(&g, "m4", "carol is back").await.unwrap();
        let msg = next_push(&c, |op| match op {
            Op::Msg(m) if m.conv == g && m.event.is_none() => Some(m),
            _ => None,
        })
        .await;
        assert_eq!(
            (msg.seq, msg.text.as_deref()),
            (8, Some("carol is back")),
            "{transport:?}: the kicked user got no push while out of the group"
        );
    }
}

/// `group_leave` takes the user out: they lose access, get no more pushes,
/// the size drops and the others carry on.
async fn leave_a_group(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let group = a
            .group_create("leavers", [bob.as_str()], true)
            .await
            .unwrap();
        let g = conv(&group);
        a.send_text(&g, "l1", "before").await.unwrap();
        assert_eq!(next_msg(&b).await.seq, 1);

        b.group_leave(&group.id).await.unwrap();
        assert_eq!(code(b.history(&g, None, None, None).await), "forbidden");
        assert_eq!(code(b.send_text(&g, "b1", "gone").await), "forbidden");
        assert!(listed(&b.sync().await.unwrap(), &g).is_none());
        let info = a.group_info(&group.id).await.unwrap();
        assert_eq!(info.group.unwrap().size, 1);
        assert!(!info.members.iter().any(|m| m.user == bob));

        // Barrier as for a kick: seq 2 is the leave's event, seq 3 is sent
        // while bob is out, he joins back (event 4), seq 5.
        a.send_text(&g, "l2", "while away").await.unwrap();
        b.group_join(&group.id).await.unwrap();
        a.send_text(&g, "l3", "after").await.unwrap();
        let msg = next_msg(&b).await;
        assert_eq!(
            (msg.conv.as_str(), msg.seq),
            (g.as_str(), 5),
            "{transport:?}: no push while out of the group"
        );
    }
}

/// `max_group_members` bounds the group, the owner included: creating,
/// adding and joining beyond it are refused and change nothing; room freed by
/// a leave can be used again.
async fn max_group_members_is_enforced(topology: Topology) {
    let koi = Koi::start_with(topology, &["--max-group-members", "3"]).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    let (carol, _c) = koi.user("carol", Transport::WsJson).await;
    let (dave, d) = koi.user("dave", Transport::TcpProtobuf).await;

    let too_many = a
        .group_create("big", [bob.as_str(), carol.as_str(), dave.as_str()], true)
        .await;
    assert!(
        matches!(too_many, Err(ClientError::Server { .. })),
        "4 members over a bound of 3: {too_many:?}"
    );

    let group = a
        .group_create("full", [bob.as_str(), carol.as_str()], true)
        .await
        .unwrap();
    assert_eq!(group.size, 3);
    let refused = a.group_add(&group.id, [dave.as_str()]).await;
    assert!(
        matches!(refused, Err(ClientError::Server { .. })),
        "{refused:?}"
    );
    let refused = d.group_join(&group.id).await;
    assert!(
        matches!(refused, Err(ClientError::Server { .. })),
        "{refused:?}"
    );
    let info = a.group_info(&group.id).await.unwrap();
    assert_eq!(info.group.unwrap().size, 3);
    assert_eq!(info.members.len(), 3);
    assert!(!info.members.iter().any(|m| m.user == dave));
    assert_eq!(
        code(d.history(&conv(&group), None, None, None).await),
        "forbidden"
    );

    b.group_leave(&group.id).await.unwrap();
    d.group_join(&group.id).await.unwrap();
    let info = a.group_info(&group.id).await.unwrap();
    assert_eq!(info.group.unwrap().size, 3);
    let mut users: Vec<_> = info.members.iter().map(|m| m.user.clone()).collect();
    users.sort();
    let mut expected = vec![alice, carol, dave];
    expected.sort();
    assert_eq!(users, expected);
}

/// `typing` in a small group reaches the other online members, with the
/// group's conversation and the typist, and is not stored.
async fn typing_in_a_group(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, c) = koi.user("carol", Transport::WsJson).await;
        let group = a
            .group_create("typists", [bob.as_str(), carol.as_str()], false)
            .await
            .unwrap();
        let g = conv(&group);
        a.typing(&g).await.unwrap();
        for member in [&b, &c] {
            let typing = next_push(member, |op| match op {
                Op::Typing(t) => Some(t),
                _ => None,
            })
            .await;
            assert_eq!(
                (typing.conv.as_str(), typing.user.as_deref()),
                (g.as_str(), Some(alice.as_str())),
                "{transport:?}"
            );
        }
        assert!(b.history(&g, None, None, None).await.unwrap().is_empty());
        let summary = b.sync().await.unwrap();
        assert_eq!(listed(&summary, &g).map(|s| s.last_seq), Some(0));
    }
}

/// `sync` lists a group the user belongs to — kind `group`, the bare group id
/// and its name — even before any message, and exactly once after messages.
async fn sync_lists_groups_before_any_message(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let group = a
            .group_create("quiet room", [bob.as_str()], false)
            .await
            .unwrap();
        let g = conv(&group);
        for member in [&a, &b] {
            let convs = member.sync().await.unwrap();
            let entry = listed(&convs, &g).expect("the new group is listed");
            assert_eq!(entry.kind, "group", "{transport:?}");
            assert_eq!(entry.group.as_deref(), Some(group.id.as_str()));
            assert_eq!(entry.name.as_deref(), Some("quiet room"));
            assert_eq!(entry.peer, None);
            assert_eq!((entry.last_seq, entry.read_seq), (0, 0));
        }
        a.send_text(&g, "s1", "first").await.unwrap();
        b.send_text(&g, "s2", "second").await.unwrap();
        for member in [&a, &b] {
            let convs = member.sync().await.unwrap();
            let entry = listed(&convs, &g).expect("still listed");
            assert_eq!((entry.kind.as_str(), entry.last_seq), ("group", 2));
            assert!(entry.last_ts > 0);
        }
    }
}

/// Members are distinct existing users: repeats (and the creator) count once,
/// an unknown member refuses the whole creation (`not_found`) or addition, and
/// adding a member again changes nothing.
async fn members_are_distinct_existing_users(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, _b) = koi.user("bob", Transport::TcpProtobuf).await;
    let before = a.sync().await.unwrap().len();

    assert_eq!(
        code(
            a.group_create("ghosts", [bob.as_str(), "nobody-here"], false)
                .await
        ),
        "not_found"
    );
    assert_eq!(
        a.sync().await.unwrap().len(),
        before,
        "no group was created"
    );

    let group = a
        .group_create("dups", [bob.as_str(), bob.as_str(), alice.as_str()], false)
        .await
        .unwrap();
    assert_eq!(group.size, 2, "{group:?}");
    let info = a.group_info(&group.id).await.unwrap();
    let mut expected = vec![
        (alice.clone(), "owner".to_owned()),
        (bob.clone(), "member".to_owned()),
    ];
    expected.sort();
    assert_eq!(roles(&info.members), expected);

    a.group_add(&group.id, [bob.as_str()]).await.unwrap();
    assert_eq!(
        code(a.group_add(&group.id, ["nobody-here"]).await),
        "not_found"
    );
    let info = a.group_info(&group.id).await.unwrap();
    assert_eq!(info.group.unwrap().size, 2);
    assert_eq!(roles(&info.members), expected);
}

/// Registers `names` over HTTP, `parallel` at a time, spread over the nodes.
async fn register_all(koi: &Koi, names: &[String], parallel: usize) {
    let client = http();
    futures::stream::iter(names)
        .map(|name| {
            let client = client.clone();
            let url = format!("{}/v1/register", koi.base());
            async move {
                let res = client
                    .post(url)
                    .json(&json!({"username": name, "password": PASSWORD}))
                    .send()
                    .await
                    .expect("register");
                assert_eq!(res.status(), 201, "register {name}");
            }
        })
        .buffer_unordered(parallel)
        .collect::<Vec<()>>()
        .await;
}

/// Fan-out to a large group: 1,000 members, 50 of them online over WebSocket
/// JSON and TCP protobuf. One message reaches each of the 50 connections once
/// (the next push each sees is the second message), in seq order; `typing` is
/// not relayed in a group over 100 members; a member who was offline finds the
/// messages via `sync` (`last_seq`) and `history` on connecting.
async fn fan_out_to_a_thousand_members(topology: Topology) {
    const MEMBERS: usize = 1000;
    const ONLINE: usize = 50;
    let koi = Koi::start(topology).await;
    let names: Vec<String> = (0..MEMBERS).map(|_| unique("fan")).collect();
    register_all(&koi, &names, 16).await;
    let (owner, rest) = names.split_first().unwrap();

    // Tokens for the owner, the 50 online members and the late one.
    let late = &rest[ONLINE];
    let wanted: Vec<&String> = std::iter::once(owner)
        .chain(&rest[..ONLINE])
        .chain(std::iter::once(late))
        .collect();
    let tokens: HashMap<String, String> = futures::stream::iter(wanted)
        .map(|name| {
            let koi = &koi;
            async move { (name.clone(), login(koi, name).await) }
        })
        .buffer_unordered(16)
        .collect()
        .await;

    let sender = koi.connect(&tokens[owner], Transport::WsJson).await;
    let group = sender
        .group_create("everyone", rest.iter().map(String::as_str), false)
        .await
        .unwrap();
    assert_eq!(group.size as usize, MEMBERS);
    let g = conv(&group);

    let online: Vec<Connection> = futures::stream::iter(rest[..ONLINE].iter().enumerate())
        .map(|(i, name)| {
            let transport = TRANSPORTS[i % TRANSPORTS.len()];
            let koi = &koi;
            let token = &tokens[name];
            async move { koi.connect(token, transport).await }
        })
        .buffered(16)
        .collect()
        .await;

    let first = sender
        .send_text(&g, "fan-1", "hello, everyone")
        .await
        .unwrap();
    assert_eq!(first.seq, 1);
    let got: Vec<Message> = futures::future::join_all(online.iter().map(next_msg)).await;
    for (conn, msg) in online.iter().zip(&got) {
        assert_eq!(
            (msg.conv.as_str(), msg.seq, msg.id.as_str()),
            (g.as_str(), 1, first.id.as_str()),
            "{} over {:?}",
            conn.user(),
            conn.transport()
        );
        assert_eq!(msg.text.as_deref(), Some("hello, everyone"));
        assert_eq!(msg.from, *owner);
    }
    let second = sender.send_text(&g, "fan-2", "and again").await.unwrap();
    assert_eq!(second.seq, 2);
    let got: Vec<Message> = futures::future::join_all(online.iter().map(next_msg)).await;
    for (conn, msg) in online.iter().zip(&got) {
        assert_eq!(
            (msg.conv.as_str(), msg.seq, msg.id.as_str()),
            (g.as_str(), 2, second.id.as_str()),
            "{}: the push after seq 1 is seq 2 (no duplicate)",
            conn.user()
        );
    }

    // Typing is relayed in groups of at most 100 members only: in this one the
    // next push each member sees after `typing` is the next message.
    sender.typing(&g).await.unwrap();
    let third = sender.send_text(&g, "fan-3", "typing?").await.unwrap();
    let next: Vec<Option<Op>> =
        futures::future::join_all(online.iter().map(Connection::next_push)).await;
    for (conn, op) in online.iter().zip(next) {
        match op {
            Some(Op::Msg(msg)) => assert_eq!(
                (msg.seq, msg.id.as_str()),
                (3, third.id.as_str()),
                "{}",
                conn.user()
            ),
            other => panic!("{}: expected seq 3, got {other:?}", conn.user()),
        }
    }

    let late_conn = koi.connect(&tokens[late], Transport::TcpProtobuf).await;
    let convs = late_conn.sync().await.unwrap();
    let entry = listed(&convs, &g).expect("the group is in the late member's sync");
    assert_eq!(
        (entry.kind.as_str(), entry.group.as_deref(), entry.last_seq),
        ("group", Some(group.id.as_str()), 3)
    );
    let history = late_conn
        .history(&g, Some(entry.read_seq), None, None)
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|m| (m.seq, m.id.as_str(), m.text.as_deref().unwrap_or("")))
            .collect::<Vec<_>>(),
        [
            (1, first.id.as_str(), "hello, everyone"),
            (2, second.id.as_str(), "and again"),
            (3, third.id.as_str(), "typing?")
        ]
    );
    let info = late_conn.group_info(&group.id).await.unwrap();
    assert_eq!(info.members.len(), MEMBERS, "group_info lists up to 1,000");
}

/// The owner makes members admins (`group_add` with `role`, a Koi extension);
/// an admin adds and kicks members but may neither set roles, nor kick the
/// owner or another admin; the owner may kick an admin.
async fn admins_are_made_by_the_owner(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_owner, o) = koi.user("owner", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, _c) = koi.user("carol", transport).await;
        let (dave, _d) = koi.user("dave", transport).await;
        let (erin, _e) = koi.user("erin", transport).await;
        let group = o
            .group_create(
                "admins",
                [bob.as_str(), carol.as_str(), dave.as_str()],
                false,
            )
            .await
            .unwrap();
        let g = group.id.as_str();

        assert_eq!(
            b.group_set_role(g, [bob.as_str()], "admin")
                .await
                .unwrap_err()
                .code(),
            Some("forbidden")
        );
        assert_eq!(
            o.group_set_role(g, [bob.as_str()], "owner")
                .await
                .unwrap_err()
                .code(),
            Some("bad_request")
        );
        o.group_set_role(g, [bob.as_str(), dave.as_str()], "admin")
            .await
            .unwrap();
        let info = o.group_info(g).await.unwrap();
        let role = |u: &str| {
            info.members
                .iter()
                .find(|m| m.user == u)
                .map(|m| m.role.clone())
        };
        assert_eq!(role(&bob).as_deref(), Some("admin"));
        assert_eq!(role(&carol).as_deref(), Some("member"));

        b.group_add(g, [erin.as_str()])
            .await
            .expect("an admin adds");
        b.group_kick(g, &carol)
            .await
            .expect("an admin kicks a member");
        assert_eq!(
            b.group_kick(g, &dave).await.unwrap_err().code(),
            Some("forbidden"),
            "not another admin"
        );
        assert_eq!(
            b.group_kick(g, o.user()).await.unwrap_err().code(),
            Some("forbidden"),
            "not the owner"
        );
        assert_eq!(
            b.group_set_role(g, [erin.as_str()], "admin")
                .await
                .unwrap_err()
                .code(),
            Some("forbidden")
        );
        o.group_kick(g, &dave)
            .await
            .expect("the owner kicks an admin");
        let members: Vec<String> = o
            .group_info(g)
            .await
            .unwrap()
            .members
            .into_iter()
            .map(|m| m.user)
            .collect();
        assert!(members.contains(&erin) && !members.contains(&carol) && !members.contains(&dave));
    }
}
