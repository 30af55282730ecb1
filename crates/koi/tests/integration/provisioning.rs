//! Admin provisioning (a Koi extension, docs/protocol.md §9):
//! `POST /v1/admin/users` creates accounts in bulk, `POST /v1/admin/tokens`
//! issues login tokens for existing ones.
//!
//! Every test runs on each topology; in the cluster, consecutive requests go
//! to different nodes, so accounts made through one node log in and connect
//! through the others.

use koi_client::{Api, Transport};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN, Endpoint, Koi, TRANSPORTS, Topology, http, login, next_msg, on_each_topology,
    register_login, unique,
};

on_each_topology!(
    provisioning_needs_the_admin_token,
    provisioning_refuses_bad_input_whole,
    provisioned_users_log_in_and_their_tokens_authenticate,
    provisioning_again_leaves_existing_users_as_they_are,
);

/// `POST <path>` with `body`, as `bearer` (none: no header): the status and
/// the JSON reply.
async fn post(koi: &Koi, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = http().post(format!("{}{path}", koi.base())).json(&body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Provisions `users` (`[(name, password)]`) as the admin; the reply.
async fn provision(koi: &Koi, users: &[(&str, &str)]) -> (u16, Value) {
    let users: Vec<Value> = users
        .iter()
        .map(|(name, password)| json!({"username": name, "password": password}))
        .collect();
    post(
        koi,
        "/v1/admin/users",
        Some(ADMIN),
        json!({ "users": users }),
    )
    .await
}

/// `POST /v1/login` of `name` with `password`: the status.
async fn login_status(koi: &Koi, name: &str, password: &str) -> u16 {
    http()
        .post(format!("{}/v1/login", koi.base()))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Without a token both endpoints answer 401, with the wrong one (a user's
/// login token included) 403; nothing is created and no token is issued.
async fn provisioning_needs_the_admin_token(topology: Topology) {
    let koi = Koi::start(topology).await;
    let alice = unique("alice");
    let user_token = register_login(&koi, &alice).await;
    let mallory = unique("mallory");
    let create = json!({"users": [{"username": mallory, "password": "password1"}]});
    let tokens = json!({ "username": alice });
    for (path, body) in [("/v1/admin/users", &create), ("/v1/admin/tokens", &tokens)] {
        let (status, reply) = post(&koi, path, None, body.clone()).await;
        assert_eq!(
            (status, &reply["error"]["code"]),
            (401, &json!("unauthorized")),
            "{path}"
        );
        for wrong in ["not-the-admin-token", user_token.as_str()] {
            let (status, reply) = post(&koi, path, Some(wrong), body.clone()).await;
            assert_eq!(
                (status, &reply["error"]["code"]),
                (403, &json!("forbidden")),
                "{path}"
            );
            assert!(reply.get("tokens").is_none());
        }
    }
    assert_eq!(
        login_status(&koi, &mallory, "password1").await,
        401,
        "not created"
    );
}

/// Bad input is 400 `bad_request` and refuses the whole request: an invalid
/// or reserved name, a short password, a name listed twice, no users or more
/// than 1,000, a malformed body; for tokens, both or neither of `username`
/// and `usernames`, or an invalid name. Tokens for an unknown user are 404
/// `not_found`, and none is issued for the known ones listed with it.
async fn provisioning_refuses_bad_input_whole(topology: Topology) {
    let koi = Koi::start(topology).await;
    let ok = unique("ok");
    let many: Vec<(String, &str)> = (0..1001)
        .map(|i| (format!("{ok}-{i}"), "password1"))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    for users in [
        vec![(ok.as_str(), "password1"), ("Not Valid", "password1")],
        vec![(ok.as_str(), "short")],
        vec![(ok.as_str(), "password1"), ("system", "password1")],
        vec![(ok.as_str(), "password1"), (ok.as_str(), "password2")],
        vec![],
        many,
    ] {
        let (status, reply) = provision(&koi, &users).await;
        assert_eq!(
            (status, &reply["error"]["code"]),
            (400, &json!("bad_request")),
            "{} users: {reply}",
            users.len()
        );
    }
    let (status, _) = post(
        &koi,
        "/v1/admin/users",
        Some(ADMIN),
        json!({"users": "alice"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        login_status(&koi, &ok, "password1").await,
        401,
        "nothing was created"
    );

    let known = unique("known");
    assert_eq!(provision(&koi, &[(&known, "password1")]).await.0, 200);
    let names: Vec<String> = (0..1001).map(|i| format!("{known}-{i}")).collect();
    for body in [
        json!({"username": known, "usernames": [known]}),
        json!({}),
        json!({"usernames": []}),
        json!({ "usernames": names }),
        json!({"username": "Not Valid"}),
    ] {
        let (status, reply) = post(&koi, "/v1/admin/tokens", Some(ADMIN), body.clone()).await;
        assert_eq!(
            (status, &reply["error"]["code"]),
            (400, &json!("bad_request")),
            "{body}"
        );
    }
    let unknown = unique("unknown");
    let (status, reply) = post(
        &koi,
        "/v1/admin/tokens",
        Some(ADMIN),
        json!({"usernames": [known, unknown]}),
    )
    .await;
    assert_eq!(
        (status, &reply["error"]["code"]),
        (404, &json!("not_found"))
    );
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&unknown)
    );
    assert!(reply.get("tokens").is_none());
}

/// Provisioned users log in with their own passwords (users sharing one and
/// a user with another), and not with someone else's. Tokens from
/// `/v1/admin/tokens`, one or many at a time, authenticate a connection over
/// every transport as that user, who can then message like anyone.
async fn provisioned_users_log_in_and_their_tokens_authenticate(topology: Topology) {
    let koi = Koi::start(topology).await;
    let [a, b, c, d] = ["a", "b", "c", "d"].map(unique);
    let (status, reply) = provision(
        &koi,
        &[
            (&a, "shared-password"),
            (&b, "shared-password"),
            (&c, "shared-password"),
            (&d, "own-password"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (reply["created"].as_u64(), reply["existing"].as_u64()),
        (Some(4), Some(0))
    );
    for name in [&a, &b, &c] {
        assert_eq!(
            login_status(&koi, name, "shared-password").await,
            200,
            "{name}"
        );
    }
    assert_eq!(login_status(&koi, &d, "own-password").await, 200);
    assert_eq!(login_status(&koi, &d, "shared-password").await, 401);

    let (status, reply) = post(
        &koi,
        "/v1/admin/tokens",
        Some(ADMIN),
        json!({"usernames": [a, b, c, d]}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["expires_at"].as_u64().unwrap() > 0);
    let tokens = reply["tokens"].as_object().unwrap();
    assert_eq!(tokens.len(), 4);
    let (status, single) = post(
        &koi,
        "/v1/admin/tokens",
        Some(ADMIN),
        json!({ "username": a }),
    )
    .await;
    assert_eq!(status, 200, "{single}");
    assert_eq!(single["tokens"].as_object().unwrap().len(), 1);

    for transport in TRANSPORTS {
        let sender = koi
            .connect(single["tokens"][&a].as_str().unwrap(), transport)
            .await;
        assert_eq!(sender.user(), a);
        let receiver = koi
            .connect(tokens[&b].as_str().unwrap(), Transport::WsJson)
            .await;
        assert_eq!(receiver.user(), b);
        let sent = sender.send_text(&b, &unique("m"), "hello").await.unwrap();
        let got = next_msg(&receiver).await;
        assert_eq!((got.seq, got.from.as_str()), (sent.seq, a.as_str()));
    }
    for name in [&c, &d] {
        let conn = koi
            .connect(tokens[name].as_str().unwrap(), Transport::WsProtobuf)
            .await;
        assert_eq!(conn.user(), name.as_str());
    }
}

/// Provisioning is idempotent: listing users again counts them `existing`,
/// creates only the new ones, and changes nothing about the existing ones
/// (their password stays; a registered user is left alone too).
async fn provisioning_again_leaves_existing_users_as_they_are(topology: Topology) {
    let koi = Koi::start(topology).await;
    let [a, b, new] = ["a", "b", "new"].map(unique);
    let registered = unique("reg");
    register_login(&koi, &registered).await;
    assert_eq!(
        provision(&koi, &[(&a, "first-password"), (&b, "first-password")])
            .await
            .1["created"],
        2
    );
    let (status, reply) = provision(
        &koi,
        &[
            (&a, "second-password"),
            (&b, "second-password"),
            (&registered, "second-password"),
            (&new, "second-password"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (reply["created"].as_u64(), reply["existing"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(login_status(&koi, &a, "first-password").await, 200);
    assert_eq!(login_status(&koi, &b, "second-password").await, 401);
    assert_eq!(login_status(&koi, &new, "second-password").await, 200);
    assert!(
        !login(&koi, &registered).await.is_empty(),
        "the registered password still works"
    );
}
