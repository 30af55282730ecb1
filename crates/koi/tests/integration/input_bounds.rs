//! Bounds on what a request may carry (issue #19 item 15): `read` on a direct
//! conversation with nobody, `signal.call` length, group names with control or
//! format characters. Each is refused with its code and stores nothing.
//!
//! Every test runs on each topology.

use koi_client::{Api, Transport};

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, code, on_each_topology, unique};

on_each_topology!(
    read_on_a_direct_conversation_with_nobody_is_not_found,
    signal_call_is_bounded,
    group_names_refuse_format_characters_and_are_trimmed,
);

/// `read` on `d:<me>:<nobody>` answers `not_found` and leaves no conversation.
async fn read_on_a_direct_conversation_with_nobody_is_not_found(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (me, conn) = koi.user("reader", transport).await;
        let ghost = unique("ghost");
        let conv = if me < ghost {
            format!("d:{me}:{ghost}")
        } else {
            format!("d:{ghost}:{me}")
        };
        assert_eq!(
            code(conn.read(&conv, 5).await),
            "not_found",
            "{transport:?}"
        );
        let convs = conn.sync().await.unwrap();
        assert!(convs.iter().all(|c| c.conv != conv), "{convs:?}");
    }
}

/// `signal.call` over 128 bytes is `too_large`; 128 bytes pass.
async fn signal_call_is_bounded(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, a) = koi.user("caller", Transport::WsJson).await;
    let (bob, _b) = koi.user("callee", Transport::TcpProtobuf).await;
    let long = "c".repeat(129);
    assert_eq!(code(a.signal(&bob, &long, "offer").await), "too_large");
    a.signal(&bob, &"c".repeat(128), "offer").await.unwrap();
    a.ping().await.expect("the connection stays open");
}

/// Group names are trimmed; bidi overrides and isolates, zero-width and other
/// format or control characters are `bad_request`.
async fn group_names_refuse_format_characters_and_are_trimmed(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, a) = koi.user("namer", Transport::WsJson).await;
    for bad in [
        "invoice\u{202E}fdp.exe",
        "ad\u{200B}min",
        "x\u{2066}y\u{2069}",
        "\u{FEFF}bom",
        "line\nbreak",
    ] {
        assert_eq!(
            code(a.group_create(bad, Vec::<String>::new(), false).await),
            "bad_request",
            "{bad:?}"
        );
    }
    let group = a
        .group_create("  Koi fans  ", Vec::<String>::new(), false)
        .await
        .unwrap();
    assert_eq!(group.name, "Koi fans");
}
