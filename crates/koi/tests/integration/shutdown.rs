//! SIGTERM (§10): stop accepting, `kicked {reason: "shutdown"}`, flush, exit 0.
//!
//! Embedded only: this is about one process's shutdown and its data dir after
//! a restart.

use std::time::Duration;

use koi_client::{Api, RawEvent, Transport};
use koi_proto::frame::Op;
use koi_proto::{Empty, Frame, History};

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, login, next_push, register_login, unique,
};

/// Connected clients are told `shutdown` and closed, the process exits 0, and
/// what was acknowledged before is there after a restart.
#[tokio::test]
async fn sigterm_kicks_clients_and_exits_cleanly() {
    let mut koi = Koi::start(Topology::Embedded).await;
    let mut conns = Vec::new();
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    let ok = a
        .send_text(&bob, "before", "said before shutdown")
        .await
        .unwrap();
    conns.push(a);
    conns.push(b);
    for transport in TRANSPORTS {
        conns.push(koi.user("watcher", transport).await.1);
    }

    let pid = koi.node(0).pid();
    let waiter = tokio::task::spawn_blocking(move || {
        crate::harness::signal(pid, "TERM");
    });
    waiter.await.unwrap();
    for conn in &conns {
        let reason = next_push(conn, |op| match op {
            Op::Kicked(k) => Some(k.reason),
            _ => None,
        })
        .await;
        assert_eq!(reason, "shutdown");
        conn.closed().await;
    }
    let status = koi.node_mut(0).terminate_wait();
    assert!(status.success(), "exit status {status:?}");

    koi.node_mut(0).restart();
    let a = koi
        .connect(&login(&koi, &alice).await, Transport::WsJson)
        .await;
    let history = a.history(&ok.conv, None, None, None).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text.as_deref(), Some("said before shutdown"));
}

/// A client whose requests the node has not read yet when it stops still
/// gets every reply written before its `kicked shutdown`, and a clean close.
/// The client below has many large replies in flight (more than the
/// sockets' buffers hold) and requests behind them: a node that dropped the
/// socket with those requests unread would reset it, and the reset throws
/// away what the node's side still had to send, `kicked` included.
#[tokio::test]
async fn sigterm_reaches_a_client_with_requests_in_flight() {
    let koi = Koi::start_with(
        Topology::Embedded,
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
    let peer = unique("peer");
    register_login(&koi, &peer).await;
    let (busy, sender) = koi.user("busy", Transport::TcpProtobuf).await;
    let page = "p".repeat(16 * 1024);
    let mut conv = String::new();
    for i in 0..100 {
        conv = sender
            .send_text(&peer, &format!("page{i}"), &page)
            .await
            .expect("send")
            .conv;
    }
    let mut conns = Vec::new();
    for transport in [Transport::WsJson, Transport::TcpProtobuf] {
        let mut raw = koi.raw(transport).await;
        raw.auth(&login(&koi, &busy).await).await.expect("auth");
        // 30 pages of 1.6 MB each: more than both sides' socket buffers.
        for id in 2..32 {
            let history = History {
                conv: conv.clone(),
                after: None,
                before: None,
                limit: Some(100),
            };
            raw.send_op(id, Op::History(history))
                .await
                .expect("history");
        }
        for id in 32..2032 {
            raw.send_op(id, Op::Ping(Empty {})).await.expect("ping");
        }
        conns.push(raw);
    }
    let pid = koi.node(0).pid();
    tokio::task::spawn_blocking(move || crate::harness::signal(pid, "TERM"))
        .await
        .unwrap();
    for raw in &mut conns {
        let (mut pages, mut kicked) = (0, None);
        loop {
            match raw.recv_timeout(Duration::from_secs(30)).await {
                Some(RawEvent::Frame(Frame {
                    op: Some(Op::Kicked(k)),
                    ..
                })) => kicked = Some(k.reason),
                Some(RawEvent::Frame(Frame {
                    op: Some(Op::Ok(_)),
                    id: 2..32,
                })) => pages += 1,
                Some(RawEvent::Frame(_)) => {}
                Some(RawEvent::Closed(close)) => {
                    let transport = raw.transport();
                    assert_eq!(
                        close.error, None,
                        "{transport:?}: reset after {pages} pages"
                    );
                    assert_eq!(kicked.as_deref(), Some("shutdown"), "{transport:?}");
                    break;
                }
                other => panic!("{:?}: {other:?}", raw.transport()),
            }
        }
    }
}
