//! Message search (§11 `search`, issue #22).
//!
//! Every test runs on each topology, over each transport, clients spread over
//! the cluster's nodes: a message acknowledged on one node is found by a
//! search on another.

use koi_client::{Api, Connection};
use koi_proto::{Message, Search};
use serde_json::json;

use crate::harness::{ADMIN, Endpoint, Koi, TRANSPORTS, Topology, code, http, on_each_topology};

on_each_topology!(
    search_finds_words_in_any_script,
    search_keeps_to_conversations_the_caller_reads_now,
    search_pages_back_with_before,
    search_skips_system_and_recalled_messages,
    search_refuses_bad_input,
);

fn query(q: &str) -> Search {
    Search {
        q: q.into(),
        ..Search::default()
    }
}

/// The texts a search by `conn` finds, newest first.
async fn texts(conn: &Connection, search: Search) -> Vec<String> {
    let found: Vec<Message> = conn.search(search).await.unwrap();
    found.into_iter().filter_map(|m| m.text).collect()
}

async fn say(conn: &Connection, to: &str, body: &str) -> koi_proto::SendOk {
    conn.send(koi_client::text_send(to, "", body))
        .await
        .unwrap()
}

/// A Chinese word inside a longer run of Chinese text, a Cyrillic word in
/// another case, the last word as a prefix; every word must match.
async fn search_finds_words_in_any_script(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        for body in [
            "我们明天在北京见面吧",
            "Привет, МИР",
            "The quick brown fox",
            "quick thinking",
        ] {
            say(&a, &bob, body).await;
        }
        assert_eq!(
            texts(&b, query("北京")).await,
            ["我们明天在北京见面吧"],
            "{transport:?}"
        );
        assert_eq!(texts(&b, query("мир")).await, ["Привет, МИР"]);
        assert_eq!(
            texts(&b, query("Quick")).await,
            ["quick thinking", "The quick brown fox"]
        );
        assert_eq!(texts(&b, query("quick bro")).await, ["The quick brown fox"]);
        assert!(
            texts(&b, query("quick cat")).await.is_empty(),
            "every word must match"
        );
        assert!(texts(&b, query("上海")).await.is_empty());
    }
}

/// Never a direct conversation of others, nor a group the caller left or was
/// kicked from; `conv` of a conversation they cannot read is `forbidden`.
async fn search_keeps_to_conversations_the_caller_reads_now(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let (carol, c) = koi.user("carol", transport).await;
        say(&b, &carol, "narwhal between bob and carol").await;
        let left = a.group_create("left", [bob.as_str()], false).await.unwrap();
        let kicked = a
            .group_create("kicked", [bob.as_str()], false)
            .await
            .unwrap();
        let kept = a.group_create("kept", [bob.as_str()], false).await.unwrap();
        for group in [&left, &kicked, &kept] {
            let conv = format!("g:{}", group.id);
            say(&a, &conv, &format!("narwhal in {}", group.name)).await;
        }
        b.group_leave(&left.id).await.unwrap();
        a.group_kick(&kicked.id, &bob).await.unwrap();
        say(&a, &bob, "narwhal between alice and bob").await;

        // Sorted: in a cluster, ids made on different nodes within one
        // millisecond may sort either way.
        let mut found = texts(&b, query("narwhal")).await;
        found.sort();
        assert_eq!(
            found,
            [
                "narwhal between alice and bob",
                "narwhal between bob and carol",
                "narwhal in kept"
            ],
            "{transport:?}"
        );
        assert!(texts(&c, query("alice")).await.is_empty(), "never in it");
        let only = Search {
            conv: Some(format!("g:{}", kept.id)),
            ..query("narwhal")
        };
        assert_eq!(texts(&b, only).await, ["narwhal in kept"]);
        let from = Search {
            from: Some(bob.clone()),
            ..query("narwhal")
        };
        assert_eq!(texts(&b, from).await, ["narwhal between bob and carol"]);
        let left_conv = Search {
            conv: Some(format!("g:{}", left.id)),
            ..query("narwhal")
        };
        assert_eq!(code(b.search(left_conv).await), "forbidden");
        let others = Search {
            conv: Some(direct(&alice, &carol)),
            ..query("narwhal")
        };
        assert_eq!(code(b.search(others).await), "forbidden");
    }
}

/// The direct conversation of `x` and `y`.
fn direct(x: &str, y: &str) -> String {
    format!("d:{}:{}", x.min(y), x.max(y))
}

/// `limit` takes the newest; `before` (a message id) pages back, each
/// message once.
async fn search_pages_back_with_before(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let mut sent = Vec::new();
        for i in 0..5 {
            sent.push(say(&a, &bob, &format!("page {i}")).await.id);
        }
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = b
                .search(Search {
                    before: before.clone(),
                    limit: Some(2),
                    ..query("page")
                })
                .await
                .unwrap();
            assert!(page.len() <= 2, "{transport:?}");
            let Some(last) = page.last() else { break };
            before = Some(last.id.clone());
            seen.extend(page.into_iter().map(|m| m.id));
        }
        sent.reverse();
        assert_eq!(seen, sent, "{transport:?}: newest first, each once");
    }
}

/// System messages (from the push API) and recalled messages are not found.
async fn search_skips_system_and_recalled_messages(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (_bob, b) = koi.user("bob", transport).await;
        let res = http()
            .post(format!("{}/v1/push", koi.base()))
            .bearer_auth(ADMIN)
            .json(&json!({"users": [alice], "text": "platypus maintenance"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let recalled = say(&b, &alice, "platypus recalled").await;
        b.recall(&recalled.conv, recalled.seq).await.unwrap();
        say(&b, &alice, "platypus kept").await;
        assert_eq!(
            texts(&a, query("platypus")).await,
            ["platypus kept"],
            "{transport:?}"
        );
    }
}

/// Empty or punctuation-only `q`, `q` over 256 bytes or 16 words, `limit` 0,
/// a malformed `conv` or `from`: `bad_request`, and the connection stays.
async fn search_refuses_bad_input(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_alice, a) = koi.user("alice", transport).await;
        let words: Vec<String> = (0..17).map(|i| format!("w{i}")).collect();
        let bad = [
            query(""),
            query("   "),
            query("?!"),
            query(&"x".repeat(257)),
            query(&words.join(" ")),
            Search {
                limit: Some(0),
                ..query("x")
            },
            Search {
                conv: Some("nope".into()),
                ..query("x")
            },
            Search {
                from: Some("NOT A USER".into()),
                ..query("x")
            },
        ];
        for search in bad {
            assert_eq!(
                code(a.search(search.clone()).await),
                "bad_request",
                "{search:?}"
            );
        }
        assert!(
            a.search(query("fine")).await.unwrap().is_empty(),
            "{transport:?}"
        );
    }
}
