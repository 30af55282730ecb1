//! The sensitive-word filter (§10): `[filter] words` and `action` from the
//! configuration file, a large word list, live replacement over the admin API,
//! and reloading the file on SIGHUP or `POST /v1/admin/filter/reload`.
//!
//! The tests run on each topology, every cluster node reading the same
//! configuration file, and in the cluster a change over the admin API is made
//! through one node and used through the others. Embedded only:
//! `reload_on_sighup_and_over_the_admin_api`, which signals the one process
//! that holds the rewritten file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use koi_client::{Api, Connection, Transport};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN, Endpoint, Koi, TRANSPORTS, Topology, code, http, login, next_msg, on_each_topology,
    signal,
};

on_each_topology!(
    mask_from_the_config_file,
    reject_from_the_config_file,
    ten_thousand_words,
    live_replacement_over_the_admin_api,
);

/// A TOML configuration holding only a `[filter]` table.
fn filter_toml(words: &[String], action: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
    format!(
        "[filter]\nwords = [{}]\naction = \"{action}\"\n",
        quoted.join(", ")
    )
}

/// Writes the configuration file (replacing it atomically, as an operator's
/// editor or deploy tool would).
fn write_config(path: &Path, words: &[&str], action: &str) {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    write_toml(path, &filter_toml(&words, action));
}

fn write_toml(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write config");
    std::fs::rename(&tmp, path).expect("replace config");
}

/// A deployment whose every node is started with `--config` at a file in
/// `dir`, written first.
async fn start_with_config(topology: Topology, dir: &Path, toml: &str) -> (Koi, PathBuf) {
    let path = dir.join("koi.toml");
    write_toml(&path, toml);
    let koi = Koi::start_with(
        topology,
        &[
            "--config",
            path.to_str().unwrap(),
            "--user-msgs-per-sec",
            "1000000",
            "--msgs-per-sec",
            "10000",
            "--msgs-burst",
            "10000",
        ],
    )
    .await;
    (koi, path)
}

/// Sends `text` from `from` to `to` and returns the text as stored (from the
/// recipient's history).
async fn stored_text(from: &Connection, to: &Connection, cmid: &str, text: &str) -> String {
    let ok = from.send_text(to.user(), cmid, text).await.unwrap();
    let msgs = to
        .history(&ok.conv, Some(ok.seq - 1), None, Some(1))
        .await
        .unwrap();
    assert_eq!(msgs[0].seq, ok.seq);
    msgs[0].text.clone().expect("a text message")
}

/// POST to an admin filter endpoint.
async fn admin_post(koi: &Koi, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = http().post(format!("{}{path}", koi.base())).json(&body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// With `action = "mask"`, every listed word in a message's text becomes `*`
/// of the same length (in characters), whatever its case, in the stored
/// message, its pushes (recipient and the sender's other devices) and its
/// history, in direct and group conversations; other text is untouched.
async fn mask_from_the_config_file(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let words = ["darn".to_owned(), "Heck".to_owned(), "Ärger".to_owned()];
    let (koi, _path) = start_with_config(topology, dir.path(), &filter_toml(&words, "mask")).await;
    for transport in TRANSPORTS {
        let (alice, a1) = koi.user("alice", transport).await;
        let a2 = koi
            .connect(&login(&koi, &alice).await, Transport::WsJson)
            .await;
        let (bob, b) = koi.user("bob", transport).await;

        let original = "Oh DARN it, heck! ÄRGER, ärger and darnation";
        let masked = "Oh **** it, ****! *****, ***** and ****ation";
        assert_eq!(original.chars().count(), masked.chars().count());
        let ok = a1.send_text(&bob, "m1", original).await.unwrap();
        assert_eq!(ok.seq, 1);
        for device in [&b, &a2] {
            let msg = next_msg(device).await;
            assert_eq!(msg.seq, 1);
            assert_eq!(msg.text.as_deref(), Some(masked), "{transport:?}");
        }
        for reader in [&a1, &b] {
            let history = reader.history(&ok.conv, None, None, None).await.unwrap();
            assert_eq!(history[0].text.as_deref(), Some(masked));
        }
        assert_eq!(
            stored_text(&a1, &b, "m2", "nothing to hide here").await,
            "nothing to hide here"
        );
        assert_eq!(next_msg(&b).await.seq, 2);

        let group = b
            .group_create("filtered", [alice.as_str()], false)
            .await
            .unwrap();
        let g = format!("g:{}", group.id);
        b.send_text(&g, "g1", "what the heck").await.unwrap();
        let msg = next_msg(&a1).await;
        assert_eq!(
            (msg.conv.as_str(), msg.text.as_deref()),
            (g.as_str(), Some("what the ****"))
        );
    }
}

/// With `action = "reject"`, a `send` whose text holds a listed word (any
/// case) fails with `bad_request`, stores nothing and leaves the connection
/// open; clean text goes through.
async fn reject_from_the_config_file(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let words = ["darn".to_owned(), "heck".to_owned()];
    let (koi, _path) =
        start_with_config(topology, dir.path(), &filter_toml(&words, "reject")).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        for (i, text) in ["darn", "Oh DARN it", "what the Heck?"].iter().enumerate() {
            assert_eq!(
                code(a.send_text(&bob, &format!("r{i}"), text).await),
                "bad_request",
                "{transport:?}: {text}"
            );
        }
        let group = a
            .group_create("strict", [bob.as_str()], false)
            .await
            .unwrap();
        assert_eq!(
            code(a.send_text(&format!("g:{}", group.id), "rg", "heck").await),
            "bad_request"
        );
        let ok = a.send_text(&bob, "clean", "all good").await.unwrap();
        assert_eq!(ok.seq, 1, "the refused sends stored nothing");
        let msg = next_msg(&b).await;
        assert_eq!(
            (msg.seq, msg.text.as_deref(), msg.from.as_str()),
            (1, Some("all good"), alice.as_str())
        );
    }
}

/// A list of 10,000 words from the configuration file works: words from the
/// start, middle and end of the list are masked in one text, and text without
/// them is untouched.
async fn ten_thousand_words(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let words: Vec<String> = (0..10_000).map(|i| format!("qx{i}zv")).collect();
    let (koi, _path) = start_with_config(topology, dir.path(), &filter_toml(&words, "mask")).await;
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    let (_bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    assert_eq!(
        stored_text(&a, &b, "w1", "first qx0zv, middle QX5000ZV, last qx9999zv!").await,
        "first *****, middle ********, last ********!"
    );
    assert_eq!(
        stored_text(&a, &b, "w2", "qx10000zv is not listed, qx12zvqx13zv are").await,
        "qx10000zv is not listed, ************ are"
    );
    assert_eq!(
        stored_text(&a, &b, "w3", "no listed word at all").await,
        "no listed word at all"
    );
}

/// `POST /v1/admin/filter {words, action?}` replaces the filter at once (the
/// next send sees it): mask by default, then reject, then an empty list lets
/// everything through. It needs the admin token and a known action.
async fn live_replacement_over_the_admin_api(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    let (_bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    assert_eq!(
        stored_text(&a, &b, "l0", "spam and eggs").await,
        "spam and eggs",
        "no filter configured"
    );

    let (status, _) = admin_post(
        &koi,
        "/v1/admin/filter",
        Some(ADMIN),
        json!({"words": ["spam", "Eggs"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        stored_text(&a, &b, "l1", "SPAM and eggs").await,
        "**** and ****"
    );

    let (status, _) = admin_post(
        &koi,
        "/v1/admin/filter",
        Some(ADMIN),
        json!({"words": ["spam"], "action": "reject"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        code(a.send_text(b.user(), "l2", "more Spam").await),
        "bad_request"
    );
    assert_eq!(
        stored_text(&a, &b, "l3", "just eggs").await,
        "just eggs",
        "the old list is gone"
    );

    let (status, _) = admin_post(&koi, "/v1/admin/filter", None, json!({"words": ["eggs"]})).await;
    assert_eq!(status, 401);
    let (status, _) = admin_post(
        &koi,
        "/v1/admin/filter",
        Some("wrong-token"),
        json!({"words": ["eggs"]}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = admin_post(
        &koi,
        "/v1/admin/filter",
        Some(ADMIN),
        json!({"words": ["eggs"], "action": "explode"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        code(a.send_text(b.user(), "l4", "spam").await),
        "bad_request",
        "refused replacements changed nothing"
    );

    let (status, _) = admin_post(&koi, "/v1/admin/filter", Some(ADMIN), json!({"words": []})).await;
    assert_eq!(status, 200);
    assert_eq!(stored_text(&a, &b, "l5", "spam spam").await, "spam spam");
}

/// After the configuration file is rewritten, SIGHUP makes the node read
/// `[filter]` again (awaited by retrying a send, since a signal has no
/// answer), and so does `POST /v1/admin/filter/reload` (at once); a reload
/// of a broken file is refused and keeps the filter in force.
#[tokio::test]
async fn reload_on_sighup_and_over_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let words = ["alpha".to_owned()];
    let (koi, path) =
        start_with_config(Topology::Embedded, dir.path(), &filter_toml(&words, "mask")).await;
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    let (_bob, b) = koi.user("bob", Transport::TcpProtobuf).await;
    assert_eq!(stored_text(&a, &b, "h0", "alpha beta").await, "***** beta");

    write_config(&path, &["beta"], "reject");
    signal(koi.node(0).pid(), "HUP");
    let mut reloaded = false;
    for attempt in 0..50 {
        match a
            .send_text(b.user(), &format!("hup-{attempt}"), "Beta test")
            .await
        {
            Err(e) => {
                assert_eq!(e.code(), Some("bad_request"), "{e}");
                reloaded = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(
        reloaded,
        "the rewritten file took effect within 5 s of SIGHUP"
    );
    assert_eq!(
        stored_text(&a, &b, "h1", "alpha is free now").await,
        "alpha is free now"
    );

    write_config(&path, &["gamma"], "mask");
    let (status, _) = admin_post(&koi, "/v1/admin/filter/reload", None, json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = admin_post(&koi, "/v1/admin/filter/reload", Some(ADMIN), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stored_text(&a, &b, "h2", "GAMMA ray, beta").await,
        "***** ray, beta"
    );

    write_toml(&path, "[filter]\nwords = [\"delta\"\naction = 7\n");
    let (status, _) = admin_post(&koi, "/v1/admin/filter/reload", Some(ADMIN), json!({})).await;
    assert_eq!(status, 400, "a broken file is refused");
    assert_eq!(
        stored_text(&a, &b, "h3", "gamma delta").await,
        "***** delta",
        "the filter in force stays"
    );
}
