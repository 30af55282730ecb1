//! The server push API (§6, §8): `POST /v1/push` stores `system` messages in
//! each user's `s:<user>` and pushes them to their online devices.
//!
//! Every test runs on each topology; in the cluster the push is made through
//! one node and the users' devices are on others.

use koi_client::{Api, Transport};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN, Endpoint, Koi, TRANSPORTS, Topology, code, http, login, next_msg, on_each_topology,
    register_login, unique,
};

on_each_topology!(
    push_stores_and_delivers_system_messages,
    push_needs_the_admin_token,
);

/// `POST /v1/push` with `body`, as `bearer` (none: no header).
async fn push(koi: &Koi, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = http().post(format!("{}/v1/push", koi.base())).json(&body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A push stores one `system` message from "system" in each named user's
/// `s:<user>` (unknown users are skipped), pushes it as `msg` to every online
/// device, and answers the devices reached and the messages stored; an offline
/// user finds it with `sync` and `history`. The user reads `s:<user>` but may
/// not write it, nor read anyone else's.
async fn push_stores_and_delivers_system_messages(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a1) = koi.user("alice", transport).await;
        let a2 = koi
            .connect(&login(&koi, &alice).await, Transport::WsJson)
            .await;
        let bob = unique("bob");
        let bob_token = register_login(&koi, &bob).await;
        let nobody = unique("nobody");

        let (status, body) = push(
            &koi,
            Some(ADMIN),
            json!({"users": [alice, bob, nobody], "text": "maintenance at noon", "meta": "{\"level\":\"info\"}"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["delivered_online"].as_u64(), body["stored"].as_u64()),
            (Some(2), Some(2)),
            "{transport:?}: alice's two devices reached; alice and bob stored"
        );

        let conv = format!("s:{alice}");
        let mut pushed = Vec::new();
        for device in [&a1, &a2] {
            let msg = next_msg(device).await;
            assert_eq!((msg.conv.as_str(), msg.seq), (conv.as_str(), 1));
            assert_eq!((msg.from.as_str(), msg.kind.as_str()), ("system", "system"));
            assert_eq!(msg.text.as_deref(), Some("maintenance at noon"));
            assert_eq!(msg.meta.as_deref(), Some("{\"level\":\"info\"}"));
            assert!(!msg.id.is_empty() && msg.ts > 0);
            pushed.push(msg);
        }
        assert_eq!(pushed[0], pushed[1]);
        assert_eq!(
            a1.history(&conv, None, None, None).await.unwrap(),
            [pushed[0].clone()]
        );

        // Bob was offline: he finds it on connecting.
        let b = koi.connect(&bob_token, transport).await;
        let bob_conv = format!("s:{bob}");
        let convs = b.sync().await.unwrap();
        let entry = convs
            .iter()
            .find(|c| c.conv == bob_conv)
            .expect("s:<bob> is in bob's sync");
        assert_eq!((entry.kind.as_str(), entry.last_seq), ("system", 1));
        let history = b.history(&bob_conv, None, None, None).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (
                history[0].from.as_str(),
                history[0].kind.as_str(),
                history[0].text.as_deref()
            ),
            ("system", "system", Some("maintenance at noon"))
        );
        assert_ne!(history[0].id, pushed[0].id);

        // The user reads but does not write their system conversation.
        assert_eq!(
            code(a1.send_text(&conv, "sys-1", "can I?").await),
            "forbidden"
        );
        assert_eq!(
            code(b.history(&conv, None, None, None).await),
            "forbidden",
            "someone else's system conversation"
        );
        assert_eq!(a1.history(&conv, None, None, None).await.unwrap().len(), 1);

        // A second push continues the sequence, without meta.
        let (status, body) =
            push(&koi, Some(ADMIN), json!({"users": [alice], "text": "done"})).await;
        assert_eq!(status, 200);
        assert_eq!(body["stored"], 1);
        let msg = next_msg(&a1).await;
        assert_eq!(
            (msg.seq, msg.text.as_deref(), msg.meta),
            (2, Some("done"), None)
        );
    }
}

/// Only the admin may push: no token answers 401, a wrong token (a user's
/// included) 403, and nothing is stored.
async fn push_needs_the_admin_token(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let body = json!({"users": [alice], "text": "not from the admin"});
    let (status, reply) = push(&koi, None, body.clone()).await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, reply) = push(&koi, Some("wrong-admin-token"), body.clone()).await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let user_token = login(&koi, &alice).await;
    let (status, _) = push(&koi, Some(&user_token), body).await;
    assert_eq!(status, 403, "a user token is not the admin token");
    assert!(
        a.history(&format!("s:{alice}"), None, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, reply) = push(&koi, Some(ADMIN), json!({"users": [], "text": "nobody"})).await;
    assert_eq!(
        (
            status,
            reply["delivered_online"].as_u64(),
            reply["stored"].as_u64()
        ),
        (200, Some(0), Some(0))
    );
}
