//! The message lifecycle (§11): events with their own seq, edit, recall by
//! moderators, delete for me, reactions, replies, mentions, read_by, and
//! `sync`'s unread and mention counts.
//!
//! Every test runs on each topology, clients spread over the cluster's nodes,
//! and over each transport.

use koi_client::{Api, Connection, Transport};
use koi_proto::frame::Op;
use koi_proto::{Group, Message, Send};

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, code, login, next_push, on_each_topology,
};

on_each_topology!(
    edit_by_the_sender_within_the_window,
    recall_appends_an_event_and_moderators_recall_any,
    delete_hides_for_me_only,
    reactions_show_in_history,
    reaction_bounds,
    replies_and_mentions,
    read_by_counts_other_readers,
    sync_counts_unread_and_mentions,
    membership_changes_are_events,
    an_offline_client_catches_up_with_sync_and_history,
);

fn text(to: &str, cmid: &str, body: &str) -> Send {
    koi_client::text_send(to, cmid, body)
}

fn conv(group: &Group) -> String {
    format!("g:{}", group.id)
}

/// The next `msg` push of kind `event` and type `kind` on `conn`.
async fn next_event(conn: &Connection, kind: &str) -> Message {
    next_push(conn, |op| match op {
        Op::Msg(m) if m.event.as_ref().is_some_and(|e| e.r#type == kind) => Some(m),
        _ => None,
    })
    .await
}

/// The message `seq` of a history page.
fn at(history: &[Message], seq: u64) -> &Message {
    history
        .iter()
        .find(|m| m.seq == seq)
        .unwrap_or_else(|| panic!("seq {seq} in {history:?}"))
}

/// The event types of a history page, in seq order.
fn event_types(history: &[Message]) -> Vec<String> {
    history
        .iter()
        .filter_map(|m| m.event.as_ref().map(|e| e.r#type.clone()))
        .collect()
}

/// Each event of `history` as (from, type, user, role).
fn membership_events(history: &[Message]) -> Vec<(String, String, String, Option<String>)> {
    history
        .iter()
        .map(|m| {
            let e = m.event.clone().unwrap();
            (m.from.clone(), e.r#type, e.user.unwrap_or_default(), e.role)
        })
        .collect()
}

/// Only the sender edits, within `edit_window_s`, text or meta, not events;
/// the edit is an event of its own (pushed, with the new text) and `history`
/// shows the edited message with `edited_ts`. A `send` of kind `event` is
/// refused.
async fn edit_by_the_sender_within_the_window(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let ok = a.send(text(&bob, "e1", "helo")).await.unwrap();
        assert_eq!(
            code(b.edit(&ok.conv, ok.seq, Some("no"), None).await),
            "forbidden"
        );
        assert_eq!(
            code(a.edit(&ok.conv, 99, Some("x"), None).await),
            "not_found"
        );
        assert_eq!(
            code(a.edit(&ok.conv, ok.seq, None, None).await),
            "bad_request"
        );
        let too_long = "x".repeat(16 * 1024 + 1);
        assert_eq!(
            code(a.edit(&ok.conv, ok.seq, Some(&too_long), None).await),
            "too_large"
        );

        let event_seq = a.edit(&ok.conv, ok.seq, Some("hello"), None).await.unwrap();
        assert_eq!(event_seq, ok.seq + 1);
        let pushed = next_event(&b, "edit").await;
        assert_eq!((pushed.seq, pushed.kind.as_str()), (event_seq, "event"));
        assert_eq!(pushed.from, alice);
        let event = pushed.event.unwrap();
        assert_eq!(
            (event.r#ref, event.text.as_deref()),
            (Some(ok.seq), Some("hello"))
        );
        // Meta alone keeps the edited text.
        a.edit(&ok.conv, ok.seq, None, Some(r#"{"x":1}"#))
            .await
            .unwrap();

        let history = b.history(&ok.conv, None, None, None).await.unwrap();
        let edited = at(&history, ok.seq);
        assert_eq!(edited.text.as_deref(), Some("hello"), "{transport:?}");
        assert_eq!(edited.meta.as_deref(), Some(r#"{"x":1}"#));
        assert!(edited.edited_ts.is_some_and(|ts| ts >= ok.ts));
        assert_eq!(event_types(&history), ["edit", "edit"]);
        assert_eq!(
            code(a.edit(&ok.conv, event_seq, Some("x"), None).await),
            "forbidden",
            "an event is not edited"
        );
        let event_send = Send {
            kind: "event".into(),
            ..text(&bob, "ev", "x")
        };
        assert_eq!(code(a.send(event_send).await), "bad_request");
        a.recall(&ok.conv, ok.seq).await.unwrap();
        assert_eq!(
            code(a.edit(&ok.conv, ok.seq, Some("back"), None).await),
            "forbidden",
            "a recalled message is not edited"
        );
    }

    let strict = Koi::start_with(topology, &["--edit-window-s", "0"]).await;
    let (_alice, a) = strict.user("alice", Transport::WsJson).await;
    let (bob, _b) = strict.user("bob", Transport::WsJson).await;
    let ok = a.send(text(&bob, "late", "too late")).await.unwrap();
    assert_eq!(
        code(a.edit(&ok.conv, ok.seq, Some("x"), None).await),
        "forbidden"
    );
}

/// Recall appends a `recall` event and keeps the `recalled` push; a group's
/// owner and admins recall anyone's message, members only their own.
async fn recall_appends_an_event_and_moderators_recall_any(topology: Topology) {
    let koi = Koi::start_with(topology, &["--recall-window-s", "0"]).await;
    for transport in TRANSPORTS {
        let (carol, c) = koi.user("carol", transport).await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let group = c.group_create("mods", [&alice, &bob], false).await.unwrap();
        c.group_set_role(&group.id, [&alice], "admin")
            .await
            .unwrap();
        let conv = conv(&group);
        let sent = b.send(text(&conv, "m1", "spam")).await.unwrap();
        let other = b.send(text(&conv, "m2", "more spam")).await.unwrap();
        // The window is 0 s: the sender may no longer, a moderator may.
        assert_eq!(code(b.recall(&conv, sent.seq).await), "forbidden");
        a.recall(&conv, sent.seq).await.unwrap();
        c.recall(&conv, other.seq).await.unwrap();
        let recalled = next_push(&b, |op| match op {
            Op::Recalled(r) if r.seq == sent.seq => Some(r),
            _ => None,
        })
        .await;
        assert_eq!(recalled.by, alice);
        let history = c.history(&conv, None, None, None).await.unwrap();
        assert_eq!(at(&history, sent.seq).kind, "recalled", "{transport:?}");
        assert_eq!(at(&history, other.seq).kind, "recalled");
        let recalls: Vec<_> = history
            .iter()
            .filter_map(|m| Some((m.from.clone(), m.event.as_ref()?)))
            .filter(|(_, e)| e.r#type == "recall")
            .map(|(from, e)| (from, e.r#ref))
            .collect();
        assert_eq!(
            recalls,
            [
                (alice.clone(), Some(sent.seq)),
                (carol.clone(), Some(other.seq))
            ]
        );
    }
}

/// `delete` hides a message from the caller's history on every device (the
/// others get a `deleted` push); the other member still sees it; no event.
async fn delete_hides_for_me_only(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b1) = koi.user("bob", transport).await;
        let b2 = koi
            .connect(&login(&koi, &bob).await, Transport::WsJson)
            .await;
        let mut conv = String::new();
        for i in 1..=3 {
            conv = a
                .send(text(&bob, &format!("d{i}"), "m"))
                .await
                .unwrap()
                .conv;
        }
        b1.delete(&conv, 2).await.unwrap();
        let deleted = next_push(&b2, |op| match op {
            Op::Deleted(d) => Some(d),
            _ => None,
        })
        .await;
        assert_eq!((deleted.conv.as_str(), deleted.seq), (conv.as_str(), 2));
        let seqs = |h: Vec<Message>| h.iter().map(|m| m.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(b2.history(&conv, None, None, None).await.unwrap()),
            [1, 3]
        );
        // A page still holds `limit` messages when some are hidden.
        assert_eq!(
            seqs(b1.history(&conv, None, None, Some(2)).await.unwrap()),
            [1, 3]
        );
        assert_eq!(
            seqs(b1.history(&conv, Some(1), None, Some(1)).await.unwrap()),
            [3]
        );
        assert_eq!(
            seqs(a.history(&conv, None, None, None).await.unwrap()),
            [1, 2, 3]
        );
        assert_eq!(code(b1.delete(&conv, 99).await), "not_found");
        b1.delete(&conv, 2).await.unwrap();
        let synced = b1.sync().await.unwrap();
        assert_eq!(
            synced.iter().find(|c| c.conv == conv).unwrap().last_seq,
            3,
            "{transport:?}: no event"
        );
    }
}

/// Reactions show in `history` per emoji with their count, first users and
/// the reader's `me`; a repeat is a no-op without an event; `unreact` takes
/// one back.
async fn reactions_show_in_history(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let ok = a.send(text(&bob, "r1", "nice")).await.unwrap();
        b.react(&ok.conv, ok.seq, "👍").await.unwrap();
        let event = next_event(&a, "react").await;
        assert_eq!(event.from, bob);
        assert_eq!(event.event.as_ref().unwrap().emoji.as_deref(), Some("👍"));
        a.react(&ok.conv, ok.seq, "👍").await.unwrap();
        b.react(&ok.conv, ok.seq, "🎉").await.unwrap();
        b.react(&ok.conv, ok.seq, "🎉").await.unwrap();

        let history = a.history(&ok.conv, None, None, None).await.unwrap();
        assert_eq!(history.len(), 4, "{transport:?}: one message, three events");
        let reactions = &at(&history, ok.seq).reactions;
        assert_eq!(reactions.len(), 2);
        assert_eq!(
            (
                reactions[0].emoji.as_str(),
                reactions[0].count,
                reactions[0].me
            ),
            ("👍", 2, true)
        );
        assert_eq!(reactions[0].users, [bob.clone(), alice.clone()]);
        assert_eq!(
            (
                reactions[1].emoji.as_str(),
                reactions[1].count,
                reactions[1].me
            ),
            ("🎉", 1, false)
        );
        let seen_by_bob = b.history(&ok.conv, None, None, None).await.unwrap();
        assert!(at(&seen_by_bob, ok.seq).reactions[1].me);

        b.unreact(&ok.conv, ok.seq, "🎉").await.unwrap();
        b.unreact(&ok.conv, ok.seq, "🎉").await.unwrap();
        let history = a.history(&ok.conv, None, None, None).await.unwrap();
        assert_eq!(at(&history, ok.seq).reactions.len(), 1);
        assert_eq!(
            event_types(&history),
            ["react", "react", "react", "unreact"]
        );
    }
}

/// Bad reactions: an empty or over-long emoji, a 21st distinct emoji, a
/// missing message, a recalled one, a conversation that is not the caller's.
async fn reaction_bounds(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (_carol, c) = koi.user("carol", transport).await;
        let ok = a.send(text(&bob, "b1", "x")).await.unwrap();
        assert_eq!(code(b.react(&ok.conv, ok.seq, "").await), "bad_request");
        assert_eq!(
            code(b.react(&ok.conv, ok.seq, &"x".repeat(33)).await),
            "too_large"
        );
        b.react(&ok.conv, ok.seq, &"x".repeat(32)).await.unwrap();
        for i in 1..20 {
            b.react(&ok.conv, ok.seq, &format!("e{i}")).await.unwrap();
        }
        assert_eq!(code(a.react(&ok.conv, ok.seq, "e21").await), "too_large");
        a.react(&ok.conv, ok.seq, "e1").await.unwrap();
        assert_eq!(code(b.react(&ok.conv, 99, "e1").await), "not_found");
        assert_eq!(code(c.react(&ok.conv, ok.seq, "e1").await), "forbidden");
        a.recall(&ok.conv, ok.seq).await.unwrap();
        assert_eq!(code(b.react(&ok.conv, ok.seq, "e1").await), "forbidden");
        let history = a
            .history(&ok.conv, None, Some(ok.seq + 1), None)
            .await
            .unwrap();
        assert!(history[0].reactions.is_empty(), "{transport:?}: recalled");
    }
}

/// `reply_to` stores a preview of the original (cut to 200 characters,
/// emptied once it is recalled) and must name a seq of the same conversation;
/// mentions name members, `all` only from the owner or admins.
async fn replies_and_mentions(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_carol, c) = koi.user("carol", transport).await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (dave, _d) = koi.user("dave", transport).await;
        let group = c
            .group_create("replies", [&alice, &bob], false)
            .await
            .unwrap();
        let conv = conv(&group);
        let long = "é".repeat(300);
        let original = a.send(text(&conv, "o1", &long)).await.unwrap();
        let reply = Send {
            reply_to: Some(original.seq),
            mentions: vec![alice.clone()],
            ..text(&conv, "r1", "indeed")
        };
        let answered = b.send(reply.clone()).await.unwrap();
        let history = c.history(&conv, None, None, None).await.unwrap();
        let stored = at(&history, answered.seq);
        assert_eq!(stored.reply_to, Some(original.seq));
        assert_eq!(stored.mentions, std::slice::from_ref(&alice));
        let preview = stored.reply_preview.as_ref().unwrap();
        assert_eq!(
            (preview.from.as_str(), preview.kind.as_str()),
            (alice.as_str(), "text")
        );
        assert_eq!(preview.text.as_deref().unwrap().chars().count(), 200);

        // A seq of another conversation (the direct one has 3 messages).
        for i in 0..3 {
            b.send(text(&alice, &format!("dm{i}"), "hi")).await.unwrap();
        }
        let elsewhere = Send {
            reply_to: Some(3),
            ..text(&conv, "r2", "?")
        };
        assert_eq!(code(b.send(elsewhere).await), "not_found", "{transport:?}");
        let outsider = Send {
            mentions: vec![dave.clone()],
            ..text(&conv, "r3", "hey")
        };
        assert_eq!(code(b.send(outsider).await), "bad_request");
        let too_many = Send {
            mentions: (0..51).map(|i| format!("user{i}")).collect(),
            ..text(&conv, "r4", "hey")
        };
        assert_eq!(
            code(b.send(too_many).await),
            "too_large",
            "§9: a field over its bound"
        );
        let everyone = |cmid: &str| Send {
            mentions: vec!["all".into()],
            ..text(&conv, cmid, "hear ye")
        };
        assert_eq!(code(b.send(everyone("r5")).await), "forbidden");
        c.send(everyone("r6")).await.unwrap();

        a.recall(&conv, original.seq).await.unwrap();
        let history = c.history(&conv, None, None, None).await.unwrap();
        let preview = at(&history, answered.seq).reply_preview.clone().unwrap();
        assert_eq!((preview.kind.as_str(), preview.text), ("recalled", None));
    }
}

/// `read_by` counts the other members whose cursor is at or past a message;
/// a sender's own send moves their cursor.
async fn read_by_counts_other_readers(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (carol, c) = koi.user("carol", transport).await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let group = c
            .group_create("readers", [&alice, &bob], false)
            .await
            .unwrap();
        let conv = conv(&group);
        let sent = c.send(text(&conv, "s1", "read me")).await.unwrap();
        let none = c.read_by(&conv, sent.seq).await.unwrap();
        assert_eq!((none.count, none.users.len()), (0, 0));
        a.read(&conv, sent.seq).await.unwrap();
        let one = c.read_by(&conv, sent.seq).await.unwrap();
        assert_eq!((one.count, one.users), (1, vec![alice.clone()]));
        b.read(&conv, sent.seq).await.unwrap();
        let by_alice = a.read_by(&conv, sent.seq).await.unwrap();
        assert_eq!(
            by_alice.count, 2,
            "{transport:?}: carol (by sending) and bob"
        );
        assert!(by_alice.users.contains(&carol) && by_alice.users.contains(&bob));
        assert_eq!(code(a.read_by(&conv, 99).await), "not_found");

        let direct = a.send(text(&bob, "d1", "psst")).await.unwrap();
        assert_eq!(a.read_by(&direct.conv, direct.seq).await.unwrap().count, 0);
        b.read(&direct.conv, direct.seq).await.unwrap();
        let read = a.read_by(&direct.conv, direct.seq).await.unwrap();
        assert_eq!((read.count, read.users), (1, vec![bob.clone()]));
    }
}

/// `sync` counts unread messages (not events, not one's own) and unread
/// messages that mention the reader or `all` (once when they name both);
/// reading clears both.
async fn sync_counts_unread_and_mentions(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_carol, c) = koi.user("carol", transport).await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let group = c
            .group_create("counts", [&alice, &bob], false)
            .await
            .unwrap();
        let conv = conv(&group);
        c.send(text(&conv, "u1", "one")).await.unwrap();
        let mention = Send {
            mentions: vec![bob.clone()],
            ..text(&conv, "u2", "two")
        };
        let last = c.send(mention).await.unwrap();
        // Naming bob and `all` is one mention of bob.
        let all = Send {
            mentions: vec!["all".into(), bob.clone()],
            ..text(&conv, "u3", "three")
        };
        let last_all = c.send(all).await.unwrap();
        c.react(&conv, last.seq, "👍").await.unwrap();

        let entry = |convs: Vec<koi_proto::ConvSummary>| {
            convs.into_iter().find(|s| s.conv == conv).unwrap()
        };
        let bobs = entry(b.sync().await.unwrap());
        assert_eq!((bobs.unread, bobs.mentions), (3, 2), "{transport:?}");
        let alices = entry(a.sync().await.unwrap());
        assert_eq!((alices.unread, alices.mentions), (3, 1));
        let carols = entry(c.sync().await.unwrap());
        assert_eq!((carols.unread, carols.read_seq), (0, last_all.seq));
        b.read(&conv, last_all.seq).await.unwrap();
        let bobs = entry(b.sync().await.unwrap());
        assert_eq!((bobs.unread, bobs.mentions), (0, 0));
    }
}

/// Joining, adding, setting a role, kicking and leaving each append an event
/// naming the member concerned; an owner who leaves hands the group to an
/// admin with a `role_changed` event from `system`.
async fn membership_changes_are_events(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (carol, c) = koi.user("carol", transport).await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (dave, d) = koi.user("dave", transport).await;
        let group = c.group_create("events", [&alice], true).await.unwrap();
        let conv = conv(&group);
        c.group_add(&group.id, [&bob]).await.unwrap();
        c.group_set_role(&group.id, [&bob], "admin").await.unwrap();
        d.group_join(&group.id).await.unwrap();
        c.group_kick(&group.id, &bob).await.unwrap();
        // The kicked member hears of it too, though no longer a member.
        let kicked = crate::harness::next_push(&b, |op| match op {
            koi_proto::frame::Op::Msg(m)
                if m.event
                    .as_ref()
                    .is_some_and(|e| e.r#type == "member_kicked") =>
            {
                Some(m)
            }
            _ => None,
        })
        .await;
        assert_eq!(kicked.conv, conv, "{transport:?}");
        assert_eq!(kicked.event.and_then(|e| e.user), Some(bob.clone()));
        a.group_leave(&group.id).await.unwrap();
        let history = c.history(&conv, None, None, None).await.unwrap();
        let events = membership_events(&history);
        assert_eq!(
            events,
            [
                (carol.clone(), "member_added".into(), bob.clone(), None),
                (
                    carol.clone(),
                    "role_changed".into(),
                    bob.clone(),
                    Some("admin".into())
                ),
                (dave.clone(), "member_added".into(), dave.clone(), None),
                (carol.clone(), "member_kicked".into(), bob.clone(), None),
                (alice.clone(), "member_left".into(), alice.clone(), None),
            ],
            "{transport:?}"
        );

        // The owner leaves: the group passes to its admin, and that is a
        // change of role too, made by the server.
        c.group_set_role(&group.id, [&dave], "admin").await.unwrap();
        let before = d.history(&conv, None, None, None).await.unwrap().len();
        c.group_leave(&group.id).await.unwrap();
        let history = d.history(&conv, None, None, None).await.unwrap();
        let events = membership_events(&history[before..]);
        assert_eq!(
            events,
            [
                (carol.clone(), "member_left".into(), carol.clone(), None),
                (
                    "system".into(),
                    "role_changed".into(),
                    dave.clone(),
                    Some("owner".into())
                ),
            ],
            "{transport:?}"
        );
        let info = d.group_info(&group.id).await.unwrap();
        assert_eq!(info.group.unwrap().owner, dave, "{transport:?}");
    }
}

/// The must-show scenario: a client offline while a message is edited,
/// reacted to and another recalled catches up on all three with `sync` and
/// `history` alone.
async fn an_offline_client_catches_up_with_sync_and_history(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let first = a.send(text(&bob, "c1", "draft")).await.unwrap();
        let second = a.send(text(&bob, "c2", "regret")).await.unwrap();
        b.read(&first.conv, second.seq).await.unwrap();
        drop(b);

        a.edit(&first.conv, first.seq, Some("final"), None)
            .await
            .unwrap();
        a.react(&first.conv, first.seq, "❤️").await.unwrap();
        a.recall(&first.conv, second.seq).await.unwrap();

        let b = koi.connect(&login(&koi, &bob).await, transport).await;
        let synced = b.sync().await.unwrap();
        let entry = synced.iter().find(|s| s.conv == first.conv).unwrap();
        assert_eq!((entry.last_seq, entry.read_seq), (5, second.seq));
        assert_eq!(entry.unread, 0, "events are not unread");
        let missed = b
            .history(&first.conv, Some(entry.read_seq), None, None)
            .await
            .unwrap();
        assert_eq!(
            event_types(&missed),
            ["edit", "react", "recall"],
            "{transport:?}"
        );
        let refs: Vec<_> = missed
            .iter()
            .map(|m| m.event.as_ref().unwrap().r#ref)
            .collect();
        assert_eq!(refs, [Some(first.seq), Some(first.seq), Some(second.seq)]);
        let now = b
            .history(&first.conv, None, Some(entry.read_seq + 1), None)
            .await
            .unwrap();
        let edited = at(&now, first.seq);
        assert_eq!(edited.text.as_deref(), Some("final"));
        assert!(edited.edited_ts.is_some());
        assert_eq!(edited.reactions[0].emoji, "❤️");
        assert_eq!(at(&now, second.seq).kind, "recalled");
    }
}
