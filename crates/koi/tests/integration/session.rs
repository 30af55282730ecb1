//! Sessions (§2, §4, §9): `auth` and its reply, what happens before `auth`, the
//! auth timeout, the heartbeat, many devices per user, the per-connection rate
//! limit, slow consumers, and refused tokens.
//!
//! Every test runs on each topology, clients spread over the cluster's nodes;
//! the limits a test sets (heartbeat, auth timeout, rate, outbound queue, token
//! secret) are given to every node.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use koi_client::{Api, CloseInfo, RawConnection, RawEvent, Transport, text_send};
use koi_proto::frame::Op;
use koi_proto::{Auth, Empty, Frame, Kicked, SendOk};
use serde_json::json;

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, next_msg, on_each_topology, register_login, unique,
};

on_each_topology!(
    auth_reply_has_user_session_heartbeat_and_server_time,
    first_frame_other_than_auth_is_unauthorized_then_closed,
    no_auth_within_the_auth_timeout_closes_the_connection,
    pre_auth_refusals_are_encoded_for_the_transport,
    silent_connection_is_closed_after_three_heartbeats,
    pinging_connection_outlives_the_heartbeat_window,
    every_device_of_a_user_gets_each_message,
    frames_over_the_rate_are_rate_limited,
    slow_consumer_is_kicked_and_nothing_acknowledged_is_lost,
    auth_with_a_bad_token_is_unauthorized_then_closed,
);

/// The longest any single expected frame or close may take to arrive.
const WAIT: Duration = Duration::from_secs(5);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

fn ping() -> Op {
    Op::Ping(Empty {})
}

/// What a raw connection read until the server closed it.
#[derive(Debug)]
struct Ended {
    frames: Vec<Frame>,
    /// Frames that did not decode in the transport's encoding (their errors).
    undecodable: Vec<String>,
    close: CloseInfo,
    /// From the call to the close.
    after: Duration,
}

/// Reads everything until the server closes the connection; panics when it has
/// not closed within `within`.
async fn read_until_closed(raw: &mut RawConnection, within: Duration) -> Ended {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + within;
    let mut frames = Vec::new();
    let mut undecodable = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, raw.recv()).await {
            Err(_) => panic!(
                "{:?}: the server did not close the connection within {within:?}; read {} frames, last {:?}",
                raw.transport(),
                frames.len(),
                frames.last()
            ),
            Ok(RawEvent::Frame(frame)) => frames.push(frame),
            Ok(RawEvent::Undecodable { error, bytes }) => {
                undecodable.push(format!("{error}: {:?}", String::from_utf8_lossy(&bytes)))
            }
            Ok(RawEvent::Closed(close)) => {
                return Ended {
                    frames,
                    undecodable,
                    close,
                    after: started.elapsed(),
                };
            }
        }
    }
}

/// The next frame, which must come within [`WAIT`] and decode.
async fn next_frame(raw: &mut RawConnection) -> Frame {
    match raw.recv_timeout(WAIT).await {
        Some(RawEvent::Frame(frame)) => frame,
        other => panic!("{:?}: expected a frame, got {other:?}", raw.transport()),
    }
}

/// The error code of an `error` frame.
fn error_code(frame: &Frame) -> Option<&str> {
    match &frame.op {
        Some(Op::Error(e)) => Some(e.code.as_str()),
        _ => None,
    }
}

/// Asserts that the connection was refused with exactly one `error unauthorized`
/// carrying `id`, and then closed.
async fn assert_refused_then_closed(raw: &mut RawConnection, id: u64, what: &str) {
    let transport = raw.transport();
    let ended = read_until_closed(raw, WAIT).await;
    assert!(
        ended.undecodable.is_empty(),
        "{transport:?} {what}: undecodable frames {:?}",
        ended.undecodable
    );
    assert_eq!(
        ended.frames.len(),
        1,
        "{transport:?} {what}: exactly one reply before the close, got {:?}",
        ended.frames
    );
    let frame = &ended.frames[0];
    assert_eq!(
        frame.id, id,
        "{transport:?} {what}: the reply carries the id"
    );
    assert_eq!(
        error_code(frame),
        Some("unauthorized"),
        "{transport:?} {what}: {frame:?}"
    );
}

/// A raw connection of a new user, authenticated.
async fn authed_raw(koi: &Koi, prefix: &str, transport: Transport) -> (String, RawConnection) {
    let name = unique(prefix);
    let token = register_login(koi, &name).await;
    let mut raw = koi.raw(transport).await;
    let auth = raw.auth(&token).await.expect("auth");
    assert_eq!(auth.user, name);
    (name, raw)
}

/// An HS256 token with these claims, signed with `secret`.
fn jwt(secret: &str, sub: &str, exp: u64) -> String {
    let claims = json!({"sub": sub, "exp": exp, "iat": now_ms() / 1000});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

fn direct(a: &str, b: &str) -> String {
    if a < b {
        format!("d:{a}:{b}")
    } else {
        format!("d:{b}:{a}")
    }
}

/// The `auth` reply names the user, gives a session id distinct per connection,
/// the configured heartbeat and the server's clock in milliseconds.
async fn auth_reply_has_user_session_heartbeat_and_server_time(topology: Topology) {
    let koi = Koi::start_with(topology, &["--heartbeat-s", "7"]).await;
    for transport in TRANSPORTS {
        let name = unique("auth");
        let token = register_login(&koi, &name).await;
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let mut raw = koi.raw(transport).await;
            let before = now_ms();
            let auth = raw.auth(&token).await.expect("auth");
            let after = now_ms();
            assert_eq!(auth.user, name, "{transport:?}");
            assert!(!auth.session.is_empty(), "{transport:?}: a session id");
            assert_eq!(auth.heartbeat_s, 7, "{transport:?}: --heartbeat-s 7");
            assert!(
                auth.server_time + 2_000 >= before && auth.server_time <= after + 2_000,
                "{transport:?}: server_time {} is milliseconds close to now ({before}..{after})",
                auth.server_time
            );
            sessions.push(auth.session);
            // The session is usable at once.
            raw.request(2, ping()).await.expect("ping after auth");
        }
        assert_ne!(
            sessions[0], sessions[1],
            "{transport:?}: each connection has its own session"
        );
    }
}

/// Any first frame other than `auth` (a `ping`, a `send`, an unknown-but-valid
/// request) is answered `unauthorized` with the frame's id and the connection
/// is closed; the refused `send` stores nothing.
async fn first_frame_other_than_auth_is_unauthorized_then_closed(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (bob, bob_conn) = koi.user("bob", Transport::WsJson).await;
    for transport in TRANSPORTS {
        let (intruder, _) = koi.user("intruder", transport).await;
        let requests = [
            (3, ping(), "ping"),
            (4, Op::Send(text_send(&bob, "pre-auth", "sneaky")), "send"),
            (5, Op::Sync(Empty {}), "sync"),
        ];
        for (id, op, what) in requests {
            let mut raw = koi.raw(transport).await;
            raw.send_op(id, op).await.expect("write");
            assert_refused_then_closed(&mut raw, id, what).await;
        }
        // Nothing was stored by the refused send, whoever might have sent it.
        let history = bob_conn
            .history(&direct(&bob, &intruder), None, None, None)
            .await
            .expect("history");
        assert!(history.is_empty(), "{transport:?}: {history:?}");
    }
    let sync = bob_conn.sync().await.expect("sync");
    assert!(
        sync.iter().all(|c| c.kind != "direct"),
        "no pre-auth send reached bob: {sync:?}"
    );
}

/// A connection that does not authenticate within the auth timeout is closed by
/// the server, not before the timeout; a connection that did authenticate in time
/// is not affected by it.
async fn no_auth_within_the_auth_timeout_closes_the_connection(topology: Topology) {
    let koi = Koi::start_with(topology, &["--auth-timeout-s", "1"]).await;
    for transport in TRANSPORTS {
        let (_, mut authed) = authed_raw(&koi, "timely", transport).await;
        let mut silent = koi.raw(transport).await;
        let ended = read_until_closed(&mut silent, WAIT).await;
        assert!(
            ended.after >= Duration::from_millis(900),
            "{transport:?}: closed after {:?}, before the 1 s auth timeout",
            ended.after
        );
        for frame in &ended.frames {
            assert_eq!(
                error_code(frame),
                Some("unauthorized"),
                "{transport:?}: only a refusal may precede the close: {frame:?}"
            );
        }
        // The authenticated connection outlived the auth timeout.
        authed
            .request(2, ping())
            .await
            .expect("an authenticated connection is not subject to the auth timeout");
    }
}

/// What the server writes before `auth` (the auth-timeout refusal, the refusal of
/// an over-size first frame) is encoded for the transport: on TCP every frame is
/// protobuf (§2), so a TCP client can read why it was refused.
async fn pre_auth_refusals_are_encoded_for_the_transport(topology: Topology) {
    let koi = Koi::start_with(topology, &["--auth-timeout-s", "1"]).await;
    let mut problems = Vec::new();
    for transport in TRANSPORTS {
        let mut silent = koi.raw(transport).await;
        let ended = read_until_closed(&mut silent, WAIT).await;
        if !ended.undecodable.is_empty() {
            problems.push(format!(
                "{transport:?}: the auth-timeout notice does not decode: {:?}",
                ended.undecodable
            ));
        }

        let mut oversize = koi.raw(transport).await;
        if transport.is_ws() {
            oversize.send_text("x".repeat(70_000)).await.expect("write");
        } else {
            oversize.send_raw(vec![0xff; 4]).await.expect("write");
        }
        let ended = read_until_closed(&mut oversize, WAIT).await;
        if !ended.undecodable.is_empty() {
            problems.push(format!(
                "{transport:?}: the too_large refusal before auth does not decode: {:?}",
                ended.undecodable
            ));
        }
        if !ended
            .frames
            .iter()
            .any(|f| error_code(f) == Some("too_large"))
        {
            problems.push(format!(
                "{transport:?}: an over-size first frame is answered too_large: {ended:?}"
            ));
        }
        if transport.is_ws() && ended.close.code != Some(1009) {
            problems.push(format!(
                "{transport:?}: an over-size frame closes with 1009: {:?}",
                ended.close
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// With `heartbeat_s` 1, an authenticated connection that sends nothing is closed
/// by the server after about 3 × heartbeat_s, not earlier.
async fn silent_connection_is_closed_after_three_heartbeats(topology: Topology) {
    let koi = Koi::start_with(topology, &["--heartbeat-s", "1"]).await;
    let silent = TRANSPORTS.map(|transport| {
        let koi = &koi;
        async move {
            let (_, mut raw) = authed_raw(koi, "silent", transport).await;
            let ended = read_until_closed(&mut raw, Duration::from_secs(8)).await;
            assert!(
                ended.after >= Duration::from_millis(2_500)
                    && ended.after <= Duration::from_millis(6_000),
                "{transport:?}: silent for 3 × 1 s must close at ~3 s, closed after {:?}",
                ended.after
            );
            assert!(ended.undecodable.is_empty(), "{ended:?}");
            for frame in &ended.frames {
                assert!(
                    matches!(frame.op, Some(Op::Kicked(_))),
                    "{transport:?}: only a `kicked` may precede the close: {frame:?}"
                );
            }
        }
    });
    futures::future::join_all(silent).await;
}

/// With `heartbeat_s` 1, a connection that pings every 500 ms stays open well past
/// 3 × heartbeat_s, every ping answered.
async fn pinging_connection_outlives_the_heartbeat_window(topology: Topology) {
    let koi = Koi::start_with(topology, &["--heartbeat-s", "1"]).await;
    let pinging = TRANSPORTS.map(|transport| {
        let koi = &koi;
        async move {
            let (_, mut raw) = authed_raw(koi, "pinger", transport).await;
            let started = Instant::now();
            // Pinging on a clock is the behaviour under test.
            let mut every = tokio::time::interval(Duration::from_millis(500));
            let mut id = 10;
            while started.elapsed() < Duration::from_millis(4_500) {
                every.tick().await;
                id += 1;
                let reply = tokio::time::timeout(WAIT, raw.request(id, ping()))
                    .await
                    .unwrap_or_else(|_| panic!("{transport:?}: ping {id} unanswered"));
                reply.unwrap_or_else(|e| {
                    panic!(
                        "{transport:?}: ping {id} after {:?}: {e}",
                        started.elapsed()
                    )
                });
            }
            assert!(id >= 18, "{transport:?}: pinged {} times", id - 10);
        }
    });
    futures::future::join_all(pinging).await;
}

/// A user may hold many connections at once: every device of the recipient (over
/// all three transports) gets each message once, in seq order.
async fn every_device_of_a_user_gets_each_message(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_, alice) = koi.user("alice", transport).await;
        let bob = unique("bob");
        let token = register_login(&koi, &bob).await;
        let mut devices = Vec::new();
        for device in Transport::ALL {
            devices.push(koi.connect(&token, device).await);
        }
        let first = alice
            .send(text_send(&bob, "m1", "to every device"))
            .await
            .expect("send");
        let second = alice
            .send(text_send(&bob, "m2", "and again"))
            .await
            .expect("send");
        for (device, conn) in Transport::ALL.iter().zip(&devices) {
            for sent in [&first, &second] {
                let msg = next_msg(conn).await;
                assert_eq!(
                    (msg.conv.as_str(), msg.seq, msg.id.as_str()),
                    (sent.conv.as_str(), sent.seq, sent.id.as_str()),
                    "sender {transport:?}, device {device:?}"
                );
            }
        }
    }
}

/// With `msgs_per_sec` 5 and `msgs_burst` 10, a flood of 30 frames gets `ok` for
/// the burst (plus what refills meanwhile) and `rate_limited` for the rest, one
/// reply per id; the connection stays open and usable once the bucket refills, and
/// a message acknowledged before the limit is still in history.
async fn frames_over_the_rate_are_rate_limited(topology: Topology) {
    let koi = Koi::start_with(topology, &["--msgs-per-sec", "5", "--msgs-burst", "10"]).await;
    for transport in TRANSPORTS {
        let (_, bob) = koi.user("bob", transport).await;
        let (_, mut alice) = authed_raw(&koi, "alice", transport).await;
        // The bucket is full (10) by now; from here it gains at most 5 per second.
        let t0 = Instant::now();
        let sent: SendOk = match alice
            .request(1, Op::Send(text_send(bob.user(), "before", "kept")))
            .await
            .expect("the first send is within the burst")
        {
            koi_proto::ok::Body::Send(ok) => ok,
            other => panic!("{other:?}"),
        };
        for id in 100..130 {
            alice.send_op(id, ping()).await.expect("write");
        }
        let mut replies: HashMap<u64, Option<String>> = HashMap::new();
        while replies.len() < 30 {
            let frame = next_frame(&mut alice).await;
            if frame.id == 0 {
                continue; // a push
            }
            let outcome = match &frame.op {
                Some(Op::Ok(_)) => None,
                Some(Op::Error(e)) => Some(e.code.clone()),
                other => panic!("{transport:?}: not a reply: {other:?}"),
            };
            assert!(
                (100..130).contains(&frame.id),
                "{transport:?}: reply to an unknown id {frame:?}"
            );
            assert!(
                replies.insert(frame.id, outcome).is_none(),
                "{transport:?}: two replies to {}",
                frame.id
            );
        }
        let ok = replies.values().filter(|r| r.is_none()).count();
        let limited = replies
            .values()
            .filter(|r| r.as_deref() == Some("rate_limited"))
            .count();
        assert_eq!(
            ok + limited,
            30,
            "{transport:?}: only ok or rate_limited: {replies:?}"
        );
        // The send took one token of the burst of 10; what refilled meanwhile
        // (5/s over the time the flood took, normally a few ms) may serve a few more.
        let refill = (5.0 * t0.elapsed().as_secs_f64()).ceil() as usize;
        assert!(
            (9..=9 + refill).contains(&ok),
            "{transport:?}: {ok} pings ok; expected the 9 left in the burst plus at most {refill} refilled"
        );
        assert!(limited >= 1, "{transport:?}: some pings rate_limited");

        // Still open; once the bucket refills (5/s), frames are served again.
        // Polling on a clock is the behaviour under test (the refill).
        let refilled = async {
            let mut id = 200;
            loop {
                id += 1;
                match alice.request(id, ping()).await {
                    Ok(_) => return,
                    Err(e) if e.code() == Some("rate_limited") => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    Err(e) => panic!("{transport:?}: after the flood: {e}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(3), refilled)
            .await
            .unwrap_or_else(|_| panic!("{transport:?}: no ping served within 3 s of refill"));

        // What was acknowledged is unaffected.
        let history = bob
            .history(&sent.conv, None, None, None)
            .await
            .expect("history");
        assert_eq!(history.len(), 1, "{transport:?}: {history:?}");
        assert_eq!(
            (history[0].seq, history[0].id.as_str()),
            (sent.seq, sent.id.as_str())
        );
        assert_eq!(history[0].text.as_deref(), Some("kept"));
    }
}

/// With an outbound queue of 16, a connection that never reads its pushes is
/// kicked as `slow_consumer` (it reads the pushes the socket held, then `kicked
/// {slow_consumer}`, then the close), while the sender's connection keeps working
/// and every message acknowledged to the sender is in history.
async fn slow_consumer_is_kicked_and_nothing_acknowledged_is_lost(topology: Topology) {
    /// Messages sent per round, between checks of whether bob is still online.
    const ROUND: usize = 100;
    /// At most this many (8 KiB each: 24 MiB, far over the socket buffers).
    const MAX: usize = 3_000;
    let koi = Koi::start_with(
        topology,
        &[
            "--outbound-queue",
            "16",
            "--user-msgs-per-sec",
            "1000000",
            "--msgs-per-sec",
            "1000000",
            "--msgs-burst",
            "1000000",
        ],
    )
    .await;
    for transport in TRANSPORTS {
        let started = Instant::now();
        let (_, alice) = koi.user("alice", transport).await;
        let (bob, mut bob_raw) = authed_raw(&koi, "bob", transport).await;
        // Co-members of a small group see each other online (and bob gets no
        // push from it).
        alice
            .group_create("pair", [bob.as_str()], false)
            .await
            .unwrap();
        // From here on bob reads nothing until the flood is over.
        let body = "k".repeat(8 * 1024);
        let mut acked: Vec<(String, SendOk)> = Vec::new();
        // Flood in rounds; stop early once bob no longer shows as online (his
        // kicked connection is gone), else after MAX messages. The verdict is
        // read from bob's socket below, not from presence.
        let mut bob_went_offline = false;
        while acked.len() < MAX && !bob_went_offline {
            let round = (acked.len()..acked.len() + ROUND).map(|i| {
                let cmid = format!("flood-{i}");
                let send = alice.send(text_send(&bob, &cmid, &body));
                async move { (cmid, send.await) }
            });
            for (cmid, reply) in futures::future::join_all(round).await {
                let ok = reply.unwrap_or_else(|e| {
                    panic!("{transport:?}: alice's send {cmid} failed during the flood: {e}")
                });
                acked.push((cmid, ok));
            }
            bob_went_offline = alice
                .presence([bob.as_str()])
                .await
                .expect("presence")
                .is_empty();
        }
        let flood = started.elapsed();

        // Bob now reads: the pushes the socket held, `kicked`, the close.
        let ended = read_until_closed(&mut bob_raw, Duration::from_secs(20)).await;
        assert!(ended.undecodable.is_empty(), "{:?}", ended.undecodable);
        let kicked = ended
            .frames
            .iter()
            .position(|f| matches!(&f.op, Some(Op::Kicked(Kicked { reason })) if reason == "slow_consumer"))
            .unwrap_or_else(|| {
                panic!(
                    "{transport:?}: no kicked {{slow_consumer}} after {} messages; {} frames, last {:?}",
                    acked.len(),
                    ended.frames.len(),
                    ended.frames.last()
                )
            });
        assert_eq!(
            kicked + 1,
            ended.frames.len(),
            "{transport:?}: the close follows the kick"
        );
        let mut last_seq = 0;
        for frame in &ended.frames[..kicked] {
            match &frame.op {
                Some(Op::Msg(m)) => {
                    assert!(m.seq > last_seq, "{transport:?}: pushes in seq order");
                    last_seq = m.seq;
                }
                other => panic!("{transport:?}: unexpected frame before the kick: {other:?}"),
            }
        }
        assert!(
            kicked < acked.len(),
            "{transport:?}: a kicked consumer did not get every push"
        );

        // Alice is unaffected, and nothing acknowledged was lost.
        alice.ping().await.expect("alice still works");
        let after = alice
            .send(text_send(&bob, "after-flood", "still here"))
            .await
            .expect("alice still sends");
        acked.push(("after-flood".into(), after));
        let conv = acked[0].1.conv.clone();
        let mut history = Vec::new();
        loop {
            let page = alice
                .history(
                    &conv,
                    Some(history.last().map_or(0, |m: &koi_proto::Message| m.seq)),
                    None,
                    Some(200),
                )
                .await
                .expect("history");
            if page.is_empty() {
                break;
            }
            history.extend(page);
        }
        assert_eq!(
            history.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=acked.len() as u64).collect::<Vec<_>>(),
            "{transport:?}: history holds exactly the acknowledged messages, gapless"
        );
        let stored: HashMap<&str, (u64, &str)> = history
            .iter()
            .map(|m| (m.client_msg_id.as_str(), (m.seq, m.id.as_str())))
            .collect();
        for (cmid, ok) in &acked {
            assert_eq!(
                stored.get(cmid.as_str()),
                Some(&(ok.seq, ok.id.as_str())),
                "{transport:?}: {cmid} kept its seq and id"
            );
        }
        eprintln!(
            "slow consumer {transport:?}: kicked after {} messages sent ({flood:?}), {kicked} pushes read, test {:?}",
            acked.len() - 1,
            started.elapsed()
        );
    }
}

/// `auth` with an expired token, a token signed with another secret, a token
/// whose claims were swapped under a valid signature, or garbage is answered `unauthorized` and the connection is
/// closed; a well-formed token signed with the node's secret is accepted (so the
/// refusals are about expiry, signature and form, not about how the tokens were
/// made).
async fn auth_with_a_bad_token_is_unauthorized_then_closed(topology: Topology) {
    const SECRET: &str = "integration-secret-32-bytes-or-more";
    let koi = Koi::start_with(topology, &["--token-secret", SECRET]).await;
    let name = unique("tok");
    register_login(&koi, &name).await;
    let now_s = now_ms() / 1000;
    let good = jwt(SECRET, &name, now_s + 3_600);
    // The good token's header and signature around another user's claims.
    let other = jwt(SECRET, "someone-else", now_s + 3_600);
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).expect("claims"),
        parts[2]
    );
    let bad = [
        ("expired", jwt(SECRET, &name, now_s - 3_600)),
        ("forged", jwt("some-other-secret", &name, now_s + 3_600)),
        ("garbage", "not-a-token".to_owned()),
        ("empty", String::new()),
        ("tampered", tampered),
    ];
    for transport in TRANSPORTS {
        let mut raw = koi.raw(transport).await;
        let auth = raw
            .auth(&good)
            .await
            .expect("a token signed with --token-secret is accepted");
        assert_eq!(auth.user, name);
        raw.request(2, ping()).await.expect("ping");

        for (what, token) in &bad {
            let mut raw = koi.raw(transport).await;
            raw.send_op(
                7,
                Op::Auth(Auth {
                    token: token.clone(),
                }),
            )
            .await
            .expect("write");
            assert_refused_then_closed(&mut raw, 7, what).await;
        }
    }
}
