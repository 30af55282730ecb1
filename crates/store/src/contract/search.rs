//! Checks of message search (issue #22).

use std::future::Future;
use std::sync::Arc;

use koi_core::{ConvId, Search, UserId};
use koi_proto::Message;

use super::{create_users, group_id, text};
use crate::{NewGroup, NewMessage, Store};

/// A search for `q` by `user` with no other bound, limit 50.
async fn find(store: &Arc<dyn Store>, user: &UserId, q: &str) -> Vec<String> {
    texts(&run(store, user, query(q)).await)
}

/// A search with every field at hand.
fn query(q: &str) -> Search {
    let req = koi_proto::Search {
        q: q.into(),
        limit: Some(50),
        ..Default::default()
    };
    Search::from_request(&req).expect("a valid query")
}

async fn run(store: &Arc<dyn Store>, user: &UserId, search: Search) -> Vec<Message> {
    let found = store.search(user, &search).await.expect("search");
    let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest (highest id) first");
    found
}

fn texts(found: &[Message]) -> Vec<String> {
    found.iter().filter_map(|m| m.text.clone()).collect()
}

async fn say(store: &Arc<dyn Store>, conv: &ConvId, from: &UserId, body: &str) -> Message {
    store
        .append(text(conv, from, body, ""))
        .await
        .expect("append")
        .message
}

/// Every word must match, case-insensitively, the last one as a prefix;
/// Cyrillic folds case; Chinese and Japanese match any substring of two or
/// more characters, or one, inside longer runs without spaces.
pub async fn search_words(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["srch.a", "srch.b"]).await;
    let conv = ConvId::direct(&a, &b);
    for body in [
        "The Quick brown fox",
        "quick thinking",
        "Привет, мир! Как дела?",
        "我们明天在北京见面吧",
        "明日は東京に行きます",
        "quickly now",
    ] {
        say(store, &conv, &a, body).await;
    }
    assert_eq!(
        find(store, &b, "QUICK").await,
        ["quickly now", "quick thinking", "The Quick brown fox"]
    );
    assert_eq!(find(store, &b, "quick fox").await, ["The Quick brown fox"]);
    assert_eq!(
        find(store, &b, "quick br").await,
        ["The Quick brown fox"],
        "prefix"
    );
    assert!(
        find(store, &b, "qui fox").await.is_empty(),
        "only the last word is a prefix"
    );
    assert!(
        find(store, &b, "quick cat").await.is_empty(),
        "every word must match"
    );
    assert_eq!(
        find(store, &b, "мир привет").await,
        ["Привет, мир! Как дела?"]
    );
    assert_eq!(find(store, &b, "ДЕЛ").await, ["Привет, мир! Как дела?"]);
    assert_eq!(find(store, &b, "北京").await, ["我们明天在北京见面吧"]);
    assert_eq!(
        find(store, &b, "京").await.len(),
        2,
        "one character, in both"
    );
    assert_eq!(find(store, &b, "東京").await, ["明日は東京に行きます"]);
    assert!(find(store, &b, "上海").await.is_empty());
    assert!(find(store, &b, "北面").await.is_empty(), "not a substring");
}

/// Only conversations the searcher may read now: not a direct conversation of
/// others, not a group they left; `conv` and `from` narrow; system and
/// recalled messages are never found.
pub async fn search_scope(store: &Arc<dyn Store>) {
    let [a, b, c] = create_users(store, ["srch2.a", "srch2.b", "srch2.c"]).await;
    let word = format!("walrus{}", super::tag());
    let ab = ConvId::direct(&a, &b);
    let bc = ConvId::direct(&b, &c);
    say(store, &ab, &a, &format!("{word} one")).await;
    say(store, &ab, &b, &format!("{word} two")).await;
    say(store, &bc, &b, &format!("{word} three")).await;
    let id = group_id("srch");
    store
        .create_group(NewGroup {
            id: id.clone(),
            name: "search".into(),
            owner: b.clone(),
            public: false,
            members: vec![a.clone()],
            max_members: 10,
        })
        .await
        .expect("group");
    let group = ConvId::Group(id.clone());
    say(store, &group, &b, &format!("{word} four")).await;
    let system = ConvId::System(a.clone());
    store
        .append(NewMessage {
            kind: "system".into(),
            from: "system".into(),
            ..text(&system, &a, &format!("{word} five"), "")
        })
        .await
        .expect("system message");
    let recalled = say(store, &ab, &a, &format!("{word} six")).await;
    store.recall(&ab, recalled.seq).await.expect("recall");

    let mut all = find(store, &a, &word).await;
    all.sort();
    let expected = [
        format!("{word} four"),
        format!("{word} one"),
        format!("{word} two"),
    ];
    assert_eq!(all, expected, "a's direct and group conversations only");
    assert_eq!(find(store, &b, &word).await.len(), 4);

    let only = |conv: &ConvId, from: Option<&UserId>| Search {
        conv: Some(conv.clone()),
        from: from.cloned(),
        ..query(&word)
    };
    assert_eq!(texts(&run(store, &a, only(&ab, None)).await).len(), 2);
    let from_b = run(store, &a, only(&ab, Some(&b))).await;
    assert_eq!(texts(&from_b), [format!("{word} two")]);

    assert!(store.remove_member(&id, &a).await.expect("leave"));
    let mut after = find(store, &a, &word).await;
    after.sort();
    assert_eq!(after, expected[1..], "nothing of a group left");
}

/// A searcher in many conversations (more than a store may search one at a
/// time) finds the same as one in few: every readable match, newest first up
/// to `limit`, nothing of others' conversations.
pub async fn search_many_conversations(store: &Arc<dyn Store>) {
    const PEERS: usize = 80;
    let [me, x, y] = create_users(store, ["srchn.me", "srchn.x", "srchn.y"]).await;
    let word = format!("narwhal{}", super::tag());
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let [peer] = create_users(store, [format!("srchn.p{i}").as_str()]).await;
        let conv = ConvId::direct(&me, &peer);
        say(store, &conv, &peer, &format!("{word} {i}")).await;
        peers.push(conv);
    }
    say(
        store,
        &ConvId::direct(&x, &y),
        &x,
        &format!("{word} theirs"),
    )
    .await;
    let found = find(store, &me, &word).await;
    let newest: Vec<String> = (PEERS - 50..PEERS)
        .rev()
        .map(|i| format!("{word} {i}"))
        .collect();
    assert_eq!(found, newest, "the 50 newest of the caller's matches");
    let in_one = Search {
        conv: Some(peers[3].clone()),
        ..query(&word)
    };
    assert_eq!(texts(&run(store, &me, in_one).await), [format!("{word} 3")]);
    assert_eq!(find(store, &x, &word).await, [format!("{word} theirs")]);
}

/// `limit` takes the newest; `before` pages back from a message's id.
pub async fn search_paging(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["srch3.a", "srch3.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let word = format!("page{}", super::tag());
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(say(store, &conv, &a, &format!("{word} {i}")).await);
    }
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = run(
            store,
            &b,
            Search {
                before: before.clone(),
                limit: 3,
                ..query(&word)
            },
        )
        .await;
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some(last.id.clone());
        seen.extend(page.iter().map(|m| m.seq));
    }
    let mut expected: Vec<u64> = sent.iter().map(|m| m.seq).collect();
    expected.sort_by_key(|s| std::cmp::Reverse(*s));
    assert_eq!(seen, expected, "every message once, newest first");
}

/// A message its searcher hid ("delete for me") is not found by them, and
/// still by the other member. `hide(user, conv, seq)` writes the row.
pub async fn search_hidden<F, Fut>(store: &Arc<dyn Store>, hide: F)
where
    F: Fn(String, String, u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let [a, b] = create_users(store, ["srch4.a", "srch4.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let word = format!("hid{}", super::tag());
    let kept = say(store, &conv, &a, &format!("{word} kept")).await;
    let gone = say(store, &conv, &a, &format!("{word} gone")).await;
    hide(b.to_string(), conv.to_string(), gone.seq).await;
    let found = run(store, &b, query(&word)).await;
    assert_eq!(texts(&found), [kept.text.clone().unwrap_or_default()]);
    assert_eq!(find(store, &a, &word).await.len(), 2);
}
