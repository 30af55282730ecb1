//! The bad-input battery (§3, §5 Authorization, §9): undecodable frames, unknown
//! operations, wrong field types, too many bad frames in a row, over-size frames
//! and fields, and other people's conversations, all against one deployment,
//! which must still serve a healthy client afterwards.
//!
//! The battery runs on each topology, its connections spread over the
//! cluster's nodes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use futures::FutureExt;
use koi_client::{Api, CloseInfo, RawConnection, RawEvent, Transport, text_send};
use koi_proto::frame::Op;
use koi_proto::{Empty, Frame, History, Kicked, Read, Recall, Send, Typing, binary};

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, http, next_msg, on_each_topology, register_login, unique,
};

on_each_topology!(bad_input_battery);

/// The longest any single expected frame or close may take to arrive.
const WAIT: Duration = Duration::from_secs(5);
/// The node's `max_frame_bytes` (the default).
const MAX_FRAME: usize = 65_536;
/// The node's `max_bad_frames` (the default).
const MAX_BAD: usize = 10;

fn ping() -> Op {
    Op::Ping(Empty {})
}

/// A raw connection of a new user, authenticated.
async fn authed_raw(koi: &Koi, transport: Transport) -> (String, RawConnection) {
    let name = unique("bad");
    let token = register_login(koi, &name).await;
    let mut raw = koi.raw(transport).await;
    raw.auth(&token).await.expect("auth");
    (name, raw)
}

/// The next frame, which must come within [`WAIT`] and decode.
async fn next_frame(raw: &mut RawConnection, what: &str) -> Frame {
    match raw.recv_timeout(WAIT).await {
        Some(RawEvent::Frame(frame)) => frame,
        other => panic!(
            "{:?} {what}: expected a frame, got {other:?}",
            raw.transport()
        ),
    }
}

/// Asserts that the next frame is `error {code}` with request id `id`.
async fn expect_error(raw: &mut RawConnection, id: u64, code: &str, what: &str) {
    let frame = next_frame(raw, what).await;
    let transport = raw.transport();
    match &frame.op {
        Some(Op::Error(e)) => {
            assert_eq!(e.code, code, "{transport:?} {what}: {frame:?}");
            assert_eq!(
                frame.id, id,
                "{transport:?} {what}: the error carries the id"
            );
        }
        other => panic!("{transport:?} {what}: expected error {code}, got {other:?}"),
    }
}

/// Asserts that the connection is open and serving: a `ping` with `id` is answered `ok`.
async fn expect_open(raw: &mut RawConnection, id: u64, after: &str) {
    let transport = raw.transport();
    raw.send_op(id, ping())
        .await
        .unwrap_or_else(|e| panic!("{transport:?}: write after {after}: {e}"));
    let frame = next_frame(raw, &format!("ping after {after}")).await;
    assert!(
        frame.id == id && matches!(frame.op, Some(Op::Ok(_))),
        "{transport:?}: the ping after {after} is answered ok, got {frame:?}"
    );
}

/// Reads until the server closes: the frames before the close, and the close.
async fn read_until_closed(raw: &mut RawConnection, what: &str) -> (Vec<Frame>, CloseInfo) {
    let transport = raw.transport();
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, raw.recv()).await {
            Err(_) => {
                panic!("{transport:?} {what}: not closed within {WAIT:?}; frames so far {frames:?}")
            }
            Ok(RawEvent::Frame(frame)) => frames.push(frame),
            Ok(RawEvent::Undecodable { error, bytes }) => panic!(
                "{transport:?} {what}: the server sent an undecodable frame ({error}): {:?}",
                String::from_utf8_lossy(&bytes)
            ),
            Ok(RawEvent::Closed(close)) => return (frames, close),
        }
    }
}

/// A frame the transport carries whole but that is no protobuf `Frame`, or one
/// with no known operation; with the id the error reply must carry.
const BAD_PROTOBUF: [(&[u8], u64, &str); 5] = [
    (&[0xff, 0xff, 0xff, 0xff], 0, "an unterminated varint"),
    (&[0x0f], 0, "an invalid wire type"),
    (b"this is not protobuf", 0, "text"),
    (&[0x08, 0x07], 7, "a frame with an id and no operation"),
    // id 12, then field 99 (no such operation) = 1: an unknown operation.
    (&[0x08, 0x0c, 0x98, 0x06, 0x01], 12, "an unknown operation"),
];

/// WebSocket text that is no JSON frame, with the id the error reply must carry.
const BAD_JSON: [(&str, u64, &str); 12] = [
    ("this is not json", 0, "not JSON"),
    ("", 0, "empty text"),
    ("{\"id\": 3, \"ping\": {}", 0, "truncated JSON"),
    ("[1, 2, 3]", 0, "an array"),
    ("42", 0, "a number"),
    ("null", 0, "null"),
    ("{\"id\":5,\"fly\":{}}", 5, "an unknown operation"),
    (
        "{\"id\":6,\"read\":{\"conv\":\"d:a:b\",\"seq\":\"x\"}}",
        6,
        "a field of the wrong type",
    ),
    (
        "{\"id\":8,\"ping\":3}",
        8,
        "an operation that is not an object",
    ),
    ("{\"id\":9}", 9, "no operation"),
    (
        "{\"id\":11,\"ping\":{},\"sync\":{}}",
        11,
        "two operations in one frame",
    ),
    ("{\"id\":\"ten\",\"ping\":{}}", 0, "an id of the wrong type"),
];

/// A protobuf `ping` frame with request `id`, padded with an unknown field to
/// exactly `total` bytes.
fn padded_protobuf(id: u64, total: usize) -> Vec<u8> {
    let mut out = binary::encode(&Frame {
        id,
        op: Some(ping()),
    });
    // Field 99, length-delimited: tag 0x9a 0x06, a varint length, the bytes.
    for len_bytes in 1..=3 {
        let Some(pad) = total.checked_sub(out.len() + 2 + len_bytes) else {
            continue;
        };
        let mut varint = Vec::new();
        let mut n = pad;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                varint.push(byte);
                break;
            }
            varint.push(byte | 0x80);
        }
        if varint.len() == len_bytes {
            out.extend_from_slice(&[0x9a, 0x06]);
            out.extend_from_slice(&varint);
            out.resize(total, b'p');
            return out;
        }
    }
    panic!("cannot pad to {total} bytes");
}

/// A JSON `ping` frame with request `id`, padded with an unknown field to exactly
/// `total` bytes.
fn padded_json(id: u64, total: usize) -> String {
    let head = format!("{{\"id\":{id},\"ping\":{{}},\"pad\":\"");
    let pad = total - head.len() - 2;
    format!("{head}{}\"}}", "p".repeat(pad))
}

/// Undecodable frames (WebSocket text that is no JSON object, JSON with an
/// unknown operation or fields of the wrong type, WebSocket binary and TCP frames
/// that are no protobuf `Frame`, a protobuf frame with no known operation) each
/// get `error bad_request`, with the frame's id when it could be read, and the
/// connection stays open. Unknown fields are ignored.
async fn undecodable_frames_are_bad_request(koi: &Koi) {
    let mut next_id = 1_000;
    for transport in TRANSPORTS {
        let (_, mut raw) = authed_raw(koi, transport).await;
        if transport.is_ws() {
            for (text, id, what) in BAD_JSON {
                raw.send_text(text).await.expect("write");
                expect_error(&mut raw, id, "bad_request", what).await;
                next_id += 1;
                expect_open(&mut raw, next_id, what).await;
            }
            // Unknown fields, at the top and inside the operation, are ignored.
            for text in [
                "{\"id\":40,\"ping\":{},\"unknown\":[1,{}]}",
                "{\"id\":40,\"ping\":{\"unknown\":\"x\"}}",
            ] {
                raw.send_text(text).await.expect("write");
                let frame = next_frame(&mut raw, text).await;
                assert!(
                    frame.id == 40 && matches!(frame.op, Some(Op::Ok(_))),
                    "unknown fields are ignored: {text} got {frame:?}"
                );
            }
        }
        // WebSocket binary messages and TCP frames carry protobuf.
        for (bytes, id, what) in BAD_PROTOBUF {
            raw.send_binary(bytes.to_vec()).await.expect("write");
            expect_error(&mut raw, id, "bad_request", what).await;
            next_id += 1;
            expect_open(&mut raw, next_id, what).await;
        }
        // A protobuf frame with an unknown field besides its operation is fine.
        raw.send_binary(padded_protobuf(41, 64))
            .await
            .expect("write");
        let frame = next_frame(&mut raw, "protobuf with an unknown field").await;
        assert!(
            frame.id == 41 && matches!(frame.op, Some(Op::Ok(_))),
            "{transport:?}: unknown protobuf fields are ignored, got {frame:?}"
        );
    }
}

/// One undecodable frame: JSON text on WebSocket, a TCP frame that is no protobuf.
async fn send_bad(raw: &mut RawConnection) -> koi_client::Result<()> {
    if raw.transport().is_ws() {
        raw.send_text("not a frame").await
    } else {
        raw.send_binary(vec![0xff, 0xff, 0xff]).await
    }
}

/// `max_bad_frames` (10) bad frames in a row get their `bad_request` each, then
/// `kicked {reason: "bad_frames"}`, then the close; a good frame in between
/// resets the count (9 bad, 1 good, 9 bad: still open).
async fn bad_frames_in_a_row_are_kicked(koi: &Koi) {
    for transport in TRANSPORTS {
        // 9 bad, a good one, 9 bad: never 10 in a row.
        let (_, mut raw) = authed_raw(koi, transport).await;
        for round in 0..2 {
            for _ in 0..MAX_BAD - 1 {
                send_bad(&mut raw).await.expect("write");
            }
            for n in 0..MAX_BAD - 1 {
                expect_error(
                    &mut raw,
                    0,
                    "bad_request",
                    &format!("round {round} bad {n}"),
                )
                .await;
            }
            expect_open(&mut raw, 50 + round, &format!("{} bad frames", MAX_BAD - 1)).await;
        }
        expect_open(&mut raw, 60, "9 bad, 1 good, 9 bad").await;

        // 10 in a row: kicked.
        let (_, mut raw) = authed_raw(koi, transport).await;
        for _ in 0..MAX_BAD {
            send_bad(&mut raw).await.expect("write");
        }
        let (frames, _close) = read_until_closed(&mut raw, "10 bad frames").await;
        let (last, errors) = frames
            .split_last()
            .unwrap_or_else(|| panic!("{transport:?}: nothing before the close"));
        assert!(
            matches!(&last.op, Some(Op::Kicked(Kicked { reason })) if reason == "bad_frames"),
            "{transport:?}: kicked {{bad_frames}} right before the close, got {last:?}"
        );
        assert_eq!(
            errors.len(),
            MAX_BAD,
            "{transport:?}: each bad frame is answered: {errors:?}"
        );
        for frame in errors {
            assert!(
                matches!(&frame.op, Some(Op::Error(e)) if e.code == "bad_request"),
                "{transport:?}: {frame:?}"
            );
        }
    }
}

/// A frame of exactly `max_frame_bytes` is served; a larger one is answered
/// `too_large` and the connection is closed, with WebSocket close code 1009:
/// WebSocket text and binary just over the limit and far over it, TCP length
/// prefixes just over the limit and of 0xFFFFFFFF.
async fn over_size_frames_close_the_connection(koi: &Koi) {
    // At the limit: fine.
    let (_, mut ws) = authed_raw(koi, Transport::WsJson).await;
    ws.send_text(padded_json(70, MAX_FRAME))
        .await
        .expect("write");
    let frame = next_frame(&mut ws, "a text frame of max_frame_bytes").await;
    assert!(
        frame.id == 70 && matches!(frame.op, Some(Op::Ok(_))),
        "a WebSocket frame of exactly max_frame_bytes is served: {frame:?}"
    );
    ws.send_binary(padded_protobuf(71, MAX_FRAME))
        .await
        .expect("write");
    let frame = next_frame(&mut ws, "a binary frame of max_frame_bytes").await;
    assert!(
        frame.id == 71 && matches!(frame.op, Some(Op::Ok(_))),
        "a WebSocket binary frame of exactly max_frame_bytes is served: {frame:?}"
    );
    let (_, mut tcp) = authed_raw(koi, Transport::TcpProtobuf).await;
    tcp.send_binary(padded_protobuf(72, MAX_FRAME))
        .await
        .expect("write");
    let frame = next_frame(&mut tcp, "a TCP frame of max_frame_bytes").await;
    assert!(
        frame.id == 72 && matches!(frame.op, Some(Op::Ok(_))),
        "a TCP frame of exactly max_frame_bytes is served: {frame:?}"
    );

    // Over the limit: too_large, then the close.
    enum Oversize {
        Text(String),
        Binary(Vec<u8>),
        Raw(Vec<u8>),
    }
    let cases = [
        (
            Transport::WsJson,
            Oversize::Text(padded_json(73, MAX_FRAME + 1)),
            "WebSocket text one byte over",
        ),
        (
            Transport::WsJson,
            Oversize::Binary(padded_protobuf(74, MAX_FRAME + 1)),
            "WebSocket binary one byte over",
        ),
        (
            Transport::TcpProtobuf,
            Oversize::Binary(padded_protobuf(76, MAX_FRAME + 1)),
            "a TCP frame one byte over",
        ),
        (
            Transport::TcpProtobuf,
            Oversize::Raw(vec![0xff, 0xff, 0xff, 0xff]),
            "a TCP length prefix of 0xFFFFFFFF",
        ),
        (
            Transport::WsJson,
            Oversize::Text(padded_json(75, 5 * MAX_FRAME)),
            "WebSocket text five times the limit",
        ),
    ];
    for (transport, frame, what) in cases {
        let (_, mut raw) = authed_raw(koi, transport).await;
        let written = match frame {
            Oversize::Text(text) => raw.send_text(text).await,
            Oversize::Binary(bytes) => raw.send_binary(bytes).await,
            Oversize::Raw(bytes) => raw.send_raw(bytes).await,
        };
        // The server may close before it has read everything we wrote.
        if let Err(e) = written {
            assert!(e.is_closed(), "{what}: write failed: {e}");
        }
        let (frames, close) = read_until_closed(&mut raw, what).await;
        assert_eq!(
            frames.len(),
            1,
            "{what}: one reply before the close: {frames:?}"
        );
        assert!(
            matches!(&frames[0].op, Some(Op::Error(e)) if e.code == "too_large"),
            "{what}: answered too_large: {frames:?}"
        );
        if transport.is_ws() {
            assert_eq!(
                close.code,
                Some(1009),
                "{what}: WebSocket close code: {close:?}"
            );
        }
    }
}

/// A field over its own bound in a frame of normal size (`text` over 16 KiB,
/// `meta` over 4 KiB) is answered `too_large`, stores nothing, and the connection
/// stays open; at the bound the message is accepted.
async fn over_size_fields_are_too_large(koi: &Koi) {
    for transport in TRANSPORTS {
        let (me, mut raw) = authed_raw(koi, transport).await;
        let peer = unique("peer");
        register_login(koi, &peer).await;
        let over_text = text_send(&peer, "text-over", &"t".repeat(16 * 1024 + 1));
        let over_meta = Send {
            meta: Some("m".repeat(4 * 1024 + 1)),
            ..text_send(&peer, "meta-over", "hi")
        };
        for (id, send, what) in [
            (80, over_text, "text over 16 KiB"),
            (81, over_meta, "meta over 4 KiB"),
        ] {
            raw.send_op(id, Op::Send(send)).await.expect("write");
            expect_error(&mut raw, id, "too_large", what).await;
            expect_open(&mut raw, id + 10, what).await;
        }
        let at_bound = Send {
            meta: Some("m".repeat(4 * 1024)),
            ..text_send(&peer, "at-bound", &"t".repeat(16 * 1024))
        };
        let ok = raw.request(82, Op::Send(at_bound)).await;
        assert!(
            ok.is_ok(),
            "{transport:?}: text of 16 KiB and meta of 4 KiB are accepted: {ok:?}"
        );
        let conv = if me < peer {
            format!("d:{me}:{peer}")
        } else {
            format!("d:{peer}:{me}")
        };
        let history = raw
            .request(
                83,
                Op::History(History {
                    conv,
                    ..Default::default()
                }),
            )
            .await
            .expect("history");
        match history {
            koi_proto::ok::Body::History(h) => {
                let cmids: Vec<&str> = h.msgs.iter().map(|m| m.client_msg_id.as_str()).collect();
                assert_eq!(
                    cmids,
                    ["at-bound"],
                    "{transport:?}: refused sends stored nothing"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Reading or writing a conversation the caller does not belong to (another
/// pair's direct conversation, another user's system conversation, one's own
/// system conversation for writing) is `forbidden` for every operation, and
/// changes nothing there.
async fn other_peoples_conversations_are_forbidden(koi: &Koi) {
    let (x, x_conn) = koi.user("x", Transport::WsJson).await;
    let (y, _y_conn) = koi.user("y", Transport::TcpProtobuf).await;
    let sent = x_conn
        .send(text_send(&y, "private", "between x and y"))
        .await
        .expect("send");
    let theirs = sent.conv.clone();
    for transport in TRANSPORTS {
        let (me, mut raw) = authed_raw(koi, transport).await;
        let mut id = 100;
        let attempts = [
            (
                Op::History(History {
                    conv: theirs.clone(),
                    ..Default::default()
                }),
                "history of another pair's conversation",
            ),
            (
                Op::Send(text_send(&theirs, "intrude", "let me in")),
                "send into another pair's conversation",
            ),
            (
                Op::Read(Read {
                    conv: theirs.clone(),
                    seq: 1,
                }),
                "read of another pair's conversation",
            ),
            (
                Op::Recall(Recall {
                    conv: theirs.clone(),
                    seq: sent.seq,
                }),
                "recall in another pair's conversation",
            ),
            (
                Op::Typing(Typing {
                    conv: theirs.clone(),
                    user: None,
                }),
                "typing in another pair's conversation",
            ),
            (
                Op::History(History {
                    conv: format!("s:{x}"),
                    ..Default::default()
                }),
                "history of another user's system conversation",
            ),
            (
                Op::Send(text_send(&format!("s:{me}"), "sys", "writing to myself")),
                "send into one's own (read-only) system conversation",
            ),
        ];
        for (op, what) in attempts {
            id += 1;
            raw.send_op(id, op).await.expect("write");
            expect_error(&mut raw, id, "forbidden", what).await;
        }
        expect_open(&mut raw, 200, "forbidden requests").await;
    }
    let history = x_conn
        .history(&theirs, None, None, None)
        .await
        .expect("history");
    assert_eq!(history.len(), 1, "nothing was added: {history:?}");
    assert_eq!(history[0].kind, "text", "nothing was recalled: {history:?}");
    let sync = x_conn.sync().await.expect("sync");
    let summary = sync.iter().find(|c| c.conv == theirs).expect("x's conv");
    assert_eq!(summary.last_seq, 1);
}

/// The battery: every kind of bad input against one deployment, which then still
/// serves a healthy pair of users over both transports, and every node of which
/// answers `/healthz` 200. Each check runs even when an earlier one failed; the
/// failures are listed at the end.
async fn bad_input_battery(topology: Topology) {
    let koi = Koi::start(topology).await;
    type Check<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
    let checks: Vec<(&str, Check)> = vec![
        (
            "undecodable_frames_are_bad_request",
            Box::pin(undecodable_frames_are_bad_request(&koi)),
        ),
        (
            "bad_frames_in_a_row_are_kicked",
            Box::pin(bad_frames_in_a_row_are_kicked(&koi)),
        ),
        (
            "over_size_frames_close_the_connection",
            Box::pin(over_size_frames_close_the_connection(&koi)),
        ),
        (
            "over_size_fields_are_too_large",
            Box::pin(over_size_fields_are_too_large(&koi)),
        ),
        (
            "other_peoples_conversations_are_forbidden",
            Box::pin(other_peoples_conversations_are_forbidden(&koi)),
        ),
    ];
    let mut failed = Vec::new();
    for (name, check) in checks {
        if AssertUnwindSafe(check).catch_unwind().await.is_err() {
            failed.push(name);
        }
    }

    // The node is unharmed.
    for transport in TRANSPORTS {
        let (_, alice) = koi.user("healthy", transport).await;
        let (bob, bob_conn) = koi.user("healthy", transport).await;
        let ok = alice
            .send(text_send(&bob, "after-battery", "all well"))
            .await
            .expect("a healthy send after the battery");
        let msg = next_msg(&bob_conn).await;
        assert_eq!((msg.seq, msg.id.as_str()), (ok.seq, ok.id.as_str()));
        assert_eq!(msg.text.as_deref(), Some("all well"));
    }
    for node in koi.nodes() {
        let health = http()
            .get(format!("{}/healthz", node.base()))
            .send()
            .await
            .expect("GET /healthz");
        assert_eq!(
            health.status(),
            200,
            "/healthz of {} after the battery",
            node.base()
        );
    }

    assert!(
        failed.is_empty(),
        "failed checks (see their panics above): {failed:?}"
    );
}
