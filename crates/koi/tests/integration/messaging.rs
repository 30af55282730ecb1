//! Direct messaging (§5): send, push, sync, history, read, typing, recall, signal.
//!
//! Every test runs on each topology, clients spread over the cluster's nodes.

use koi_client::{Api, Transport};
use koi_proto::frame::Op;
use koi_proto::{File, Send};

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, next_msg, next_push, on_each_topology};

on_each_topology!(
    send_pushes_to_every_device_but_the_sender,
    send_is_idempotent_on_client_msg_id,
    a_retry_gets_the_first_reply_even_after_a_block,
    kinds_and_fields_round_trip,
    send_refusals,
    history_ranges,
    sync_read_and_receipts,
    typing_is_relayed_not_stored,
    recall_by_the_sender_within_the_window,
    signal_reaches_every_device,
);

fn text(to: &str, cmid: &str, body: &str) -> Send {
    koi_client::text_send(to, cmid, body)
}

/// A send is acknowledged with its seq, pushed once to the recipient and to the
/// sender's other devices, but not to the sending connection itself.
async fn send_pushes_to_every_device_but_the_sender(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a1) = koi.user("alice", transport).await;
        let a2 = koi
            .connect(
                &crate::harness::login(&koi, &alice).await,
                Transport::WsJson,
            )
            .await;
        let (bob, b1) = koi.user("bob", transport).await;

        let ok = a1.send(text(&bob, "c1", "hello bob")).await.unwrap();
        let conv = format!(
            "d:{}:{}",
            alice.clone().min(bob.clone()),
            alice.clone().max(bob.clone())
        );
        assert_eq!(ok.conv, conv);
        assert_eq!(ok.seq, 1);
        assert!(!ok.id.is_empty() && ok.ts > 0);

        for device in [&b1, &a2] {
            let msg = next_msg(device).await;
            assert_eq!(
                (msg.conv.as_str(), msg.seq, msg.id.as_str()),
                (conv.as_str(), 1, ok.id.as_str())
            );
            assert_eq!(msg.from, alice);
            assert_eq!(msg.kind, "text");
            assert_eq!(msg.text.as_deref(), Some("hello bob"));
            assert_eq!(msg.client_msg_id, "c1");
            assert_eq!(msg.ts, ok.ts);
        }
        // Bob answers; pushes of one conversation arrive in seq order, so the
        // first message push a1 sees being seq 2 proves seq 1 never came to it.
        b1.send(text(&alice, "r1", "hi alice")).await.unwrap();
        let reply = next_msg(&a1).await;
        assert_eq!(
            (reply.seq, reply.from.as_str()),
            (2, bob.as_str()),
            "{transport:?}"
        );
    }
}

/// The same `(sender, client_msg_id)` returns the first reply and stores nothing new.
async fn send_is_idempotent_on_client_msg_id(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let first = a.send(text(&bob, "same", "once")).await.unwrap();
        let again = a.send(text(&bob, "same", "once")).await.unwrap();
        assert_eq!(first, again);
        let next = a.send(text(&bob, "other", "twice")).await.unwrap();
        assert_eq!(next.seq, first.seq + 1);
        let history = b.history(&first.conv, None, None, None).await.unwrap();
        assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(next_msg(&b).await.seq, 1);
        assert_eq!(next_msg(&b).await.seq, 2, "the repeat was not pushed again");
    }
}

/// A retry of an acknowledged send gets the first reply even after the peer
/// blocked the sender; a new send is refused with `blocked`.
async fn a_retry_gets_the_first_reply_even_after_a_block(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let first = a.send(text(&bob, "retry-me", "hi")).await.unwrap();
        b.block(&alice).await.unwrap();
        assert_eq!(a.send(text(&bob, "retry-me", "hi")).await.unwrap(), first);
        assert_eq!(
            a.send(text(&bob, "fresh", "hi")).await.unwrap_err().code(),
            Some("blocked")
        );
        assert_eq!(
            b.history(&first.conv, None, None, None)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// Every kind a client may send round-trips with its fields; server-only kinds
/// and malformed sends are refused.
async fn kinds_and_fields_round_trip(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let emoji = Send {
            kind: "emoji".into(),
            text: Some("🎏".into()),
            ..text(&bob, "e1", "")
        };
        let custom = Send {
            kind: "custom".into(),
            text: None,
            meta: Some(r#"{"card":{"title":"koi"}}"#.into()),
            ..text(&bob, "x1", "")
        };
        a.send(emoji).await.unwrap();
        a.send(custom).await.unwrap();
        let got = [next_msg(&b).await, next_msg(&b).await];
        assert_eq!(
            (got[0].kind.as_str(), got[0].text.as_deref()),
            ("emoji", Some("🎏"))
        );
        assert_eq!(got[1].kind, "custom");
        assert_eq!(got[1].meta.as_deref(), Some(r#"{"card":{"title":"koi"}}"#));
        assert_eq!(got[1].text, None);

        // `file` is optional (§5): a gif may be its link.
        let linked = Send {
            kind: "gif".into(),
            ..text(&bob, "k-gif-link", "https://example.com/koi.gif")
        };
        a.send(linked).await.unwrap();
        let got = next_msg(&b).await;
        assert_eq!(
            (got.kind.as_str(), got.text.as_deref(), got.file),
            ("gif", Some("https://example.com/koi.gif"), None)
        );

        for (kind, body, why) in [
            ("system", "x", "server only"),
            ("recalled", "x", "server only"),
            ("image", "", "nothing to show: no file, text or meta"),
        ] {
            let send = Send {
                kind: kind.into(),
                ..text(&bob, &format!("k-{kind}"), body)
            };
            let err = a.send(send).await.unwrap_err();
            assert_eq!(err.code(), Some("bad_request"), "{kind}: {why}");
        }
        let missing_file = Send {
            kind: "file".into(),
            file: Some(File {
                file_id: "nosuchfile".into(),
                ..Default::default()
            }),
            ..text(&bob, "f-missing", "")
        };
        assert_eq!(
            a.send(missing_file).await.unwrap_err().code(),
            Some("bad_request")
        );
        let both = Send {
            conv: Some(format!(
                "d:{}:{}",
                alice.clone().min(bob.clone()),
                alice.max(bob.clone())
            )),
            ..text(&bob, "both", "x")
        };
        assert_eq!(a.send(both).await.unwrap_err().code(), Some("bad_request"));
        let too_long = text(&bob, "long", &"x".repeat(16 * 1024 + 1));
        assert_eq!(
            a.send(too_long).await.unwrap_err().code(),
            Some("too_large")
        );
        let meta_long = Send {
            meta: Some("m".repeat(4 * 1024 + 1)),
            ..text(&bob, "meta-long", "x")
        };
        assert_eq!(
            a.send(meta_long).await.unwrap_err().code(),
            Some("too_large")
        );
        a.ping()
            .await
            .expect("the connection stays open after field-level refusals");
    }
}

/// Unknown recipients are `not_found`, oneself is `bad_request`, other people's
/// conversations and one's system conversation cannot be written.
async fn send_refusals(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, _b) = koi.user("bob", transport).await;
        let (carol, c) = koi.user("carol", transport).await;
        assert_eq!(
            a.send(text("nobody-here", "n1", "x"))
                .await
                .unwrap_err()
                .code(),
            Some("not_found")
        );
        assert_eq!(
            a.send(text(&alice, "self", "x")).await.unwrap_err().code(),
            Some("bad_request")
        );
        let ok = a.send(text(&bob, "ab", "private")).await.unwrap();
        let send_to_conv = Send {
            to: None,
            conv: Some(ok.conv.clone()),
            ..text("", "c-in", "intruding")
        };
        assert_eq!(
            c.send(send_to_conv).await.unwrap_err().code(),
            Some("forbidden")
        );
        assert_eq!(
            c.history(&ok.conv, None, None, None)
                .await
                .unwrap_err()
                .code(),
            Some("forbidden")
        );
        let system = Send {
            to: None,
            conv: Some(format!("s:{alice}")),
            ..text("", "sys", "x")
        };
        assert_eq!(a.send(system).await.unwrap_err().code(), Some("forbidden"));
        assert!(
            a.history(&format!("s:{alice}"), None, None, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            a.history(&format!("s:{carol}"), None, None, None)
                .await
                .unwrap_err()
                .code(),
            Some("forbidden")
        );
        assert_eq!(
            a.history("g:nosuchgroup", None, None, None)
                .await
                .unwrap_err()
                .code(),
            Some("not_found")
        );
        assert_eq!(
            a.history("nonsense", None, None, None)
                .await
                .unwrap_err()
                .code(),
            Some("bad_request")
        );
    }
}

/// `history` selects by `after`, `before`, both or neither, ascending, and caps
/// `limit` at 200.
async fn history_ranges(topology: Topology) {
    let koi = Koi::start_with(
        topology,
        &[
            "--user-msgs-per-sec",
            "1000000",
            "--msgs-per-sec",
            "100000",
            "--msgs-burst",
            "100000",
        ],
    )
    .await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, _b) = koi.user("bob", transport).await;
        let mut conv = String::new();
        for i in 1..=210 {
            conv = a
                .send(text(&bob, &format!("h{i}"), &format!("m{i}")))
                .await
                .unwrap()
                .conv;
        }
        let seqs = |msgs: Vec<koi_proto::Message>| msgs.iter().map(|m| m.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(a.history(&conv, None, None, Some(3)).await.unwrap()),
            [208, 209, 210]
        );
        assert_eq!(
            seqs(a.history(&conv, Some(2), None, Some(3)).await.unwrap()),
            [3, 4, 5]
        );
        assert_eq!(
            seqs(a.history(&conv, None, Some(5), Some(2)).await.unwrap()),
            [3, 4]
        );
        assert_eq!(
            seqs(a.history(&conv, Some(2), Some(6), Some(10)).await.unwrap()),
            [3, 4, 5]
        );
        assert_eq!(
            seqs(a.history(&conv, Some(2), Some(100), Some(2)).await.unwrap()),
            [3, 4]
        );
        let default = a.history(&conv, None, None, None).await.unwrap();
        assert_eq!(default.len(), 50);
        assert_eq!(default.last().unwrap().text.as_deref(), Some("m210"));
        assert_eq!(
            a.history(&conv, Some(0), None, Some(1000))
                .await
                .unwrap()
                .len(),
            200
        );
        assert!(
            a.history(&conv, Some(210), None, None)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// `sync` lists conversations newest first with their last seq and the user's
/// read cursor; `read` moves the cursor forward only and pushes a receipt to the
/// peer and the reader's other devices.
async fn sync_read_and_receipts(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b1) = koi.user("bob", transport).await;
        let b2 = koi
            .connect(&crate::harness::login(&koi, &bob).await, Transport::WsJson)
            .await;
        let (carol, _c) = koi.user("carol", transport).await;

        let to_bob = a.send(text(&bob, "1", "one")).await.unwrap();
        a.send(text(&bob, "2", "two")).await.unwrap();
        let to_carol = a.send(text(&carol, "3", "three")).await.unwrap();

        let convs = a.sync().await.unwrap();
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[0].conv, to_carol.conv, "newest activity first");
        assert_eq!(convs[0].peer.as_deref(), Some(carol.as_str()));
        // One's own send moves one's read cursor (§11).
        assert_eq!(
            (convs[1].kind.as_str(), convs[1].last_seq, convs[1].read_seq),
            ("direct", 2, 2)
        );

        b1.read(&to_bob.conv, 2).await.unwrap();
        for device in [&a, &b2] {
            let receipt = next_push(device, |op| match op {
                Op::Receipt(r) => Some(r),
                _ => None,
            })
            .await;
            assert_eq!(
                (receipt.conv.as_str(), receipt.user.as_str(), receipt.seq),
                (to_bob.conv.as_str(), bob.as_str(), 2)
            );
        }
        b1.read(&to_bob.conv, 1).await.unwrap();
        let bob_view = b1.sync().await.unwrap();
        let conv = bob_view.iter().find(|c| c.conv == to_bob.conv).unwrap();
        assert_eq!(
            (conv.last_seq, conv.read_seq),
            (2, 2),
            "the cursor never moves back"
        );
        assert_eq!(conv.peer.as_deref(), Some(alice.as_str()));
    }
}

/// `typing` reaches the peer and is never stored.
async fn typing_is_relayed_not_stored(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let conv = a.send(text(&bob, "t0", "hey")).await.unwrap().conv;
        a.typing(&conv).await.unwrap();
        let typing = next_push(&b, |op| match op {
            Op::Typing(t) => Some(t),
            _ => None,
        })
        .await;
        assert_eq!(
            (typing.conv.as_str(), typing.user.as_deref()),
            (conv.as_str(), Some(alice.as_str()))
        );
        assert_eq!(b.history(&conv, None, None, None).await.unwrap().len(), 1);
    }
}

/// Only the sender may recall, within the window; the message becomes `recalled`
/// with no text everywhere, and a `recalled` push goes out.
async fn recall_by_the_sender_within_the_window(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let ok = a.send(text(&bob, "r1", "oops")).await.unwrap();
        assert_eq!(
            b.recall(&ok.conv, ok.seq).await.unwrap_err().code(),
            Some("forbidden")
        );
        assert_eq!(
            a.recall(&ok.conv, 99).await.unwrap_err().code(),
            Some("not_found")
        );
        a.recall(&ok.conv, ok.seq).await.unwrap();
        let recalled = next_push(&b, |op| match op {
            Op::Recalled(r) => Some(r),
            _ => None,
        })
        .await;
        assert_eq!(
            (recalled.conv.as_str(), recalled.seq, recalled.by.as_str()),
            (ok.conv.as_str(), 1, alice.as_str())
        );
        let stored = &b.history(&ok.conv, None, None, None).await.unwrap()[0];
        assert_eq!(stored.kind, "recalled");
        assert_eq!(
            (
                stored.text.as_ref(),
                stored.file.as_ref(),
                stored.meta.as_ref()
            ),
            (None, None, None)
        );
    }

    let strict = Koi::start_with(topology, &["--recall-window-s", "0"]).await;
    let (_alice, a) = strict.user("alice", Transport::WsJson).await;
    let (bob, _b) = strict.user("bob", Transport::WsJson).await;
    let ok = a.send(text(&bob, "late", "too late")).await.unwrap();
    assert_eq!(
        a.recall(&ok.conv, ok.seq).await.unwrap_err().code(),
        Some("forbidden")
    );
}

/// `signal` reaches every online device of the callee and says how many.
async fn signal_reaches_every_device(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b1) = koi.user("bob", transport).await;
        let b2 = koi
            .connect(&crate::harness::login(&koi, &bob).await, Transport::WsJson)
            .await;
        let delivered = a
            .signal(&bob, "call-1", r#"{"type":"offer","sdp":"v=0"}"#)
            .await
            .unwrap();
        assert_eq!(delivered, 2);
        for device in [&b1, &b2] {
            let signal = next_push(device, |op| match op {
                Op::Signal(s) => Some(s),
                _ => None,
            })
            .await;
            assert_eq!(signal.from.as_deref(), Some(alice.as_str()));
            assert_eq!(signal.call, "call-1");
            assert!(signal.data.contains("offer"));
        }
        let carol = crate::harness::unique("carol");
        crate::harness::register_login(&koi, &carol).await;
        assert_eq!(
            a.signal(&carol, "c", "x").await.unwrap(),
            0,
            "nobody online"
        );
        assert_eq!(
            a.signal("nobody-there", "c", "x").await.unwrap_err().code(),
            Some("not_found")
        );
    }
}
