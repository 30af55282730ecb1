//! SIGTERM (§10): stop accepting, `kicked {reason: "shutdown"}`, flush, exit 0.
//!
//! Embedded only: this is about one process's shutdown and its data dir after
//! a restart.

use koi_client::{Api, Transport};
use koi_proto::frame::Op;

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, login, next_push};

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
