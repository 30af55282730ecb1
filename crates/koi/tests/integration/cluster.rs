//! Cluster mode: three `koi` nodes on one ephemeral NATS and one ephemeral
//! PostgreSQL, clients on given nodes; what only a cluster has — several
//! nodes in one view, a node dying, the engines restarting. (Every protocol
//! test runs on a cluster too, as `<module>::cluster::<test>`.)

use std::collections::BTreeSet;
use std::time::Duration;

use koi_client::{Api, Client, Credentials, Event, Http, Transport};
use koi_proto::frame::Op;
use serde_json::Value;

use crate::harness::{
    ADMIN, Endpoint, Koi, Node, PASSWORD, Topology, login, next_msg, next_push, register_login,
    unique,
};

async fn admin_nodes(koi: &Node) -> Vec<Value> {
    let res = crate::harness::http()
        .get(format!("{}/v1/admin/cluster", koi.base()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn dispatch_ids(koi: &Node, token: &str) -> Vec<String> {
    let res = crate::harness::http()
        .get(format!("{}/v1/dispatch", koi.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Direct and group messages cross nodes; a user with devices on two nodes gets
/// every push on both; presence and contacts work across nodes; tokens from one
/// node are accepted by every node; `admin/cluster` and `dispatch` list all nodes.
#[tokio::test]
async fn three_nodes_serve_one_cluster() {
    let cluster = Koi::start(Topology::Cluster).await;
    let [n0, n1, n2] = [cluster.node(0), cluster.node(1), cluster.node(2)];

    let (alice, bob, carol) = (unique("alice"), unique("bob"), unique("carol"));
    let alice_token = register_login(n0, &alice).await;
    register_login(n1, &bob).await;
    register_login(n2, &carol).await;
    // A token issued by node 0 is good on node 1 and 2.
    let a = n1.connect(&alice_token, Transport::WsJson).await;
    let b1 = n0
        .connect(&login(n2, &bob).await, Transport::TcpProtobuf)
        .await;
    let b2 = n2.connect(&login(n1, &bob).await, Transport::WsJson).await;
    let c = n2
        .connect(&login(n0, &carol).await, Transport::TcpProtobuf)
        .await;

    let sent = a.send_text(&bob, "x1", "across nodes").await.unwrap();
    for device in [&b1, &b2] {
        let msg = next_msg(device).await;
        assert_eq!(
            (msg.seq, msg.text.as_deref()),
            (sent.seq, Some("across nodes"))
        );
    }
    b1.send_text(&alice, "x2", "back").await.unwrap();
    assert_eq!(next_msg(&a).await.text.as_deref(), Some("back"));
    assert_eq!(
        next_msg(&b2).await.text.as_deref(),
        Some("back"),
        "the sender's other device, on another node"
    );

    let group = a
        .group_create("three nodes", [bob.as_str(), carol.as_str()], false)
        .await
        .unwrap();
    let conv = format!("g:{}", group.id);
    c.send(koi_proto::Send {
        to: None,
        conv: Some(conv.clone()),
        ..koi_client::text_send("", "g1", "hello group")
    })
    .await
    .unwrap();
    for device in [&a, &b1, &b2] {
        let msg = next_msg(device).await;
        assert_eq!(
            (msg.conv.as_str(), msg.seq, msg.from.as_str()),
            (conv.as_str(), 1, carol.as_str())
        );
    }

    // Mutual contacts across nodes: carol on node 2 sees alice come online on node 0.
    a.contact_add(&carol).await.unwrap();
    c.contact_add(&alice).await.unwrap();
    assert_eq!(
        c.presence([alice.as_str()]).await.unwrap(),
        vec![alice.clone()]
    );
    let a_again = n0.connect(&alice_token, Transport::WsJson).await;
    a.close().await;
    drop(a);
    drop(a_again);
    let offline = next_push(&c, |op| match op {
        Op::Presence(p) if p.online == Some(false) => p.user,
        _ => None,
    })
    .await;
    assert_eq!(offline, alice);
    let alice_back = n1.connect(&alice_token, Transport::TcpProtobuf).await;
    let online = next_push(&c, |op| match op {
        Op::Presence(p) if p.online == Some(true) => p.user,
        _ => None,
    })
    .await;
    assert_eq!(online, alice);
    let contacts = c.contacts().await.unwrap();
    let entry = contacts.iter().find(|x| x.user == alice).unwrap();
    assert_eq!((entry.state.as_str(), entry.online), ("mutual", true));
    drop(alice_back);

    // Other nodes' figures arrive with their heartbeat (every second): wait,
    // bounded, until the view shows each node's real connections.
    let want = [("node0", 1), ("node1", 0), ("node2", 2)];
    let mut nodes = Vec::new();
    for _ in 0..40 {
        nodes = admin_nodes(n1).await;
        let counts: Vec<(&str, u64)> = nodes
            .iter()
            .map(|n| {
                (
                    n["id"].as_str().unwrap(),
                    n["connections"].as_u64().unwrap(),
                )
            })
            .collect();
        if want.iter().all(|w| counts.contains(w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ids: BTreeSet<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["node0", "node1", "node2"]));
    for (id, connections) in want {
        let node = nodes.iter().find(|n| n["id"] == id).unwrap();
        assert_eq!(
            node["connections"].as_u64(),
            Some(connections),
            "{id}: {node}"
        );
    }
    let token = login(n2, &carol).await;
    assert_eq!(dispatch_ids(n2, &token).await.len(), 3);
}

/// While clients send, a node is SIGKILLed: every acknowledged message is
/// readable through another node; a client of the dead node reconnects through
/// dispatch and catches up with nothing missing and nothing duplicated; the dead
/// node leaves dispatch within 15 s.
#[tokio::test]
async fn a_killed_node_loses_nothing() {
    let mut cluster = Koi::start(Topology::Cluster).await;
    let (alice, bob) = (unique("alice"), unique("bob"));
    register_login(cluster.node(1), &alice).await;
    register_login(cluster.node(1), &bob).await;

    // Bob's resilient client dispatches through node 1's gateway; the node it is
    // handed to is the one that will die.
    let http = Http::new(&cluster.node(1).base()).unwrap();
    let bob_client = Client::connect(
        http,
        Credentials::password(&bob, PASSWORD),
        Transport::WsJson,
    )
    .await
    .unwrap();
    let victim = match bob_client.next_event().await {
        Some(Event::Connected { node, .. }) => {
            node.id.trim_start_matches("node").parse::<usize>().unwrap()
        }
        other => panic!("expected Connected, got {other:?}"),
    };
    let survivor = (victim + 1) % 3;
    let alice_token = login(cluster.node(survivor), &alice).await;
    let alice_on_victim = cluster
        .node(victim)
        .connect(&alice_token, Transport::TcpProtobuf)
        .await;

    // Alice keeps sending through the victim (up to 16 in flight) while it is
    // killed; every ack that came back counts.
    let alice_on_victim = std::sync::Arc::new(alice_on_victim);
    let (acks_tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let sender = {
        let (conn, bob) = (alice_on_victim.clone(), bob.clone());
        tokio::spawn(async move {
            let mut in_flight = futures::stream::FuturesUnordered::new();
            for i in 0..100_000 {
                if in_flight.len() >= 16 {
                    use futures::StreamExt;
                    if !matches!(in_flight.next().await, Some(true)) {
                        return;
                    }
                }
                let (conn, bob, acks_tx) = (conn.clone(), bob.clone(), acks_tx.clone());
                in_flight.push(async move {
                    match conn
                        .send_text(&bob, &format!("k{i}"), &format!("during {i}"))
                        .await
                    {
                        Ok(ok) => acks_tx.send((ok.seq, ok.conv)).is_ok(),
                        Err(_) => false,
                    }
                });
            }
        })
    };
    let mut acked = BTreeSet::new();
    let mut conv = String::new();
    while acked.len() < 40 {
        let (seq, c) = acks.recv().await.expect("sends are acknowledged");
        conv = c;
        acked.insert(seq);
    }
    cluster.node_mut(victim).kill();
    let _ = sender.await;
    while let Ok((seq, _)) = acks.try_recv() {
        acked.insert(seq);
    }

    let alice_on_2 = cluster
        .node(survivor)
        .connect(&alice_token, Transport::WsJson)
        .await;
    for i in 0..40 {
        acked.insert(
            alice_on_2
                .send_text(&bob, &format!("l{i}"), &format!("after {i}"))
                .await
                .unwrap()
                .seq,
        );
    }
    // Every acknowledged message is stored; messages committed just before the
    // kill whose ack never left may be stored too. Either way: gapless.
    let mut stored: Vec<u64> = Vec::new();
    loop {
        let after = stored.last().copied().unwrap_or(0);
        let page = alice_on_2
            .history(&conv, Some(after), None, Some(200))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        stored.extend(page.iter().map(|m| m.seq));
    }
    assert_eq!(
        stored,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    for seq in &acked {
        assert!(stored.contains(seq), "acknowledged seq {seq} lost");
    }

    // Bob's client, cut off with the victim, reconnects through dispatch and
    // ends up with every stored message exactly once, in order.
    let mut seen = Vec::new();
    let collect = async {
        while seen.len() < stored.len() {
            match bob_client
                .next_event()
                .await
                .expect("bob's client keeps going")
            {
                Event::Push(Op::Msg(m)) if m.conv == conv => seen.push(m.seq),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("bob caught up within 30 s");
    assert_eq!(seen, stored, "in order, none missing, none twice");

    let token = login(cluster.node(survivor), &bob).await;
    let dead = format!("node{victim}");
    let mut gone = false;
    for _ in 0..80 {
        if !dispatch_ids(cluster.node(survivor), &token)
            .await
            .contains(&dead)
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(gone, "{dead} left dispatch within 20 s");
}

/// Sends `text` until it is acknowledged, retrying with the same
/// `client_msg_id` (idempotent) while an engine comes back; bounded to 60 s.
async fn send_until_ok(
    conn: &koi_client::Connection,
    to: &str,
    cmid: &str,
    text: &str,
) -> koi_proto::SendOk {
    for _ in 0..240 {
        match conn.send_text(to, cmid, text).await {
            Ok(ok) => return ok,
            Err(e) => assert_eq!(e.code(), Some("unavailable"), "{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no ack within 60 s of the engine's return");
}

/// PostgreSQL and then NATS restart while clients are connected: requests that
/// need the engine fail with `unavailable`, connections stay up, and service
/// resumes by itself when the engine is back, with nothing acknowledged lost.
#[tokio::test]
async fn engine_restarts_with_clients_connected() {
    let mut cluster = Koi::cluster(2).await;
    let (alice, bob) = (unique("alice"), unique("bob"));
    let a = cluster
        .node(0)
        .connect(
            &register_login(cluster.node(0), &alice).await,
            Transport::WsJson,
        )
        .await;
    let b = cluster
        .node(1)
        .connect(
            &register_login(cluster.node(1), &bob).await,
            Transport::TcpProtobuf,
        )
        .await;
    let first = a.send_text(&bob, "p0", "before").await.unwrap();
    assert_eq!(next_msg(&b).await.seq, first.seq);

    cluster.engines_mut().pg.crash().unwrap();
    let down = a
        .send_text(&bob, "p1", "while postgres is down")
        .await
        .unwrap_err();
    assert_eq!(down.code(), Some("unavailable"));
    a.ping().await.expect("the connection stays up");
    cluster.engines_mut().pg.restart().await.unwrap();
    let back = send_until_ok(&a, &bob, "p1", "after postgres").await;
    assert_eq!(back.seq, first.seq + 1, "no seq lost or reused");
    assert_eq!(next_msg(&b).await.text.as_deref(), Some("after postgres"));

    cluster.engines_mut().nats.stop();
    let presence = a.presence([bob.as_str()]).await.unwrap_err();
    assert_eq!(presence.code(), Some("unavailable"));
    b.ping().await.expect("the connection stays up");
    // Stored and acknowledged even without the bus; the push may be lost and is
    // found by `sync`, which is the delivery contract.
    let stored = a.send_text(&bob, "n1", "while nats is down").await.unwrap();
    cluster.engines_mut().nats.restart().await.unwrap();
    let mut delivered = false;
    for i in 0..60 {
        a.send_text(&bob, &format!("n2-{i}"), "after nats")
            .await
            .unwrap();
        let wait = tokio::time::timeout(Duration::from_secs(1), next_msg(&b)).await;
        if matches!(wait, Ok(m) if m.text.as_deref() == Some("after nats")) {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "pushes flow again within 60 s of NATS' return");
    let history = b
        .history(&stored.conv, None, None, Some(200))
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|m| m.seq == stored.seq && m.text.as_deref() == Some("while nats is down"))
    );
}

/// `GET /v1/sessions` with `token` on `node`: its HTTP status.
async fn sessions_status(node: &Node, token: &str) -> u16 {
    crate::harness::get_status(format!("{}/v1/sessions", node.base()), token).await
}

/// Nodes started with only `--nats` and `--postgres` agree on one signing
/// secret (kept in PostgreSQL): a token issued by node 0 is accepted by nodes 1
/// and 2 over HTTP and in a WebSocket `auth`, also after node 1 restarts.
#[tokio::test]
async fn nodes_without_a_configured_secret_share_one() {
    let mut cluster = Koi::cluster_unconfigured(3).await;
    let alice = unique("alice");
    let token = register_login(cluster.node(0), &alice).await;
    for node in cluster.nodes() {
        assert_eq!(sessions_status(node, &token).await, 200, "{}", node.base());
        let conn = node.connect(&token, Transport::WsJson).await;
        assert_eq!(conn.user(), alice);
    }
    assert_eq!(sessions_status(cluster.node(1), "not-a-token").await, 401);

    cluster.node_mut(1).kill();
    cluster.node_mut(1).restart();
    assert_eq!(sessions_status(cluster.node(1), &token).await, 200);
    let conn = cluster.node(1).connect(&token, Transport::WsJson).await;
    assert_eq!(conn.user(), alice);
}

/// `POST /v1/push` through node 0 counts the devices of a user connected only
/// to nodes 1 and 2 (the registry's count, not node 0's own).
#[tokio::test]
async fn a_push_counts_devices_on_other_nodes() {
    let cluster = Koi::start(Topology::Cluster).await;
    let alice = unique("alice");
    let token = register_login(cluster.node(0), &alice).await;
    let a1 = cluster.node(1).connect(&token, Transport::WsJson).await;
    let a2 = cluster
        .node(2)
        .connect(&token, Transport::TcpProtobuf)
        .await;
    let res = crate::harness::http()
        .post(format!("{}/v1/push", cluster.node(0).base()))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"users": [alice], "text": "maintenance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["delivered_online"].as_u64(), Some(2), "{body}");
    for device in [&a1, &a2] {
        assert_eq!(next_msg(device).await.text.as_deref(), Some("maintenance"));
    }
}

/// §5: "within one conversation, pushes to one connection arrive in `seq`
/// order", also when the conversation's messages are written on different
/// nodes: alice (node 0) and bob (node 1) send into one group at the same
/// time, and carol's devices on every node see strictly rising seqs.
#[tokio::test]
async fn pushes_of_one_conversation_arrive_in_seq_order_across_writers() {
    // Within the burst of a connection's frame rate (100).
    const EACH: usize = 80;
    let koi = Koi::start(Topology::Cluster).await;
    let nodes = koi.nodes();
    let transport = Transport::WsJson;
    let (_alice, a) = nodes[0].user("alice", transport).await;
    let (bob, b) = nodes[1].user("bob", transport).await;
    let carol = unique("carol");
    let token = register_login(&nodes[2], &carol).await;
    let mut readers = Vec::new();
    for node in nodes {
        readers.push(node.connect(&token, transport).await);
    }
    let group = a
        .group_create("order", [&bob, &carol], false)
        .await
        .unwrap();
    let conv = format!("g:{}", group.id);

    tokio::join!(
        send_many(&a, &conv, "a", EACH),
        send_many(&b, &conv, "b", EACH)
    );

    for (i, reader) in readers.iter().enumerate() {
        let mut seqs = Vec::new();
        while seqs.len() < 2 * EACH {
            let seq = next_push(reader, |op| match op {
                Op::Msg(m) if m.conv == conv && m.event.is_none() => Some(m.seq),
                _ => None,
            })
            .await;
            seqs.push(seq);
        }
        let out_of_order: Vec<_> = seqs.windows(2).filter(|w| w[1] <= w[0]).collect();
        assert!(
            out_of_order.is_empty(),
            "carol's device on node {i} got seqs out of order: {out_of_order:?}"
        );
    }
}

/// `n` text messages from `conn` into `conv`, all in flight at once.
async fn send_many(conn: &koi_client::Connection, conv: &str, who: &str, n: usize) {
    let sends = (0..n).map(|i| conn.send(koi_client::text_send(conv, &format!("{who}{i}"), "x")));
    for sent in futures::future::join_all(sends).await {
        sent.unwrap();
    }
}
