//! Checks of users, contacts and the file index.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::{create_users, unique, user_id};
use crate::{ContactEdge, FileRecord, NewUser, Store, StoreError};

/// create_user stores a user once: a taken name is `Conflict` and keeps the first
/// hash; password_hash is `None` for an unknown user; users_exist answers in the
/// order asked.
pub async fn users(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["users.a", "users.b"]).await;
    let taken = store
        .create_user(NewUser {
            name: a.clone(),
            password_hash: "another hash".into(),
            display_name: Some("Impostor".into()),
        })
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict(_))),
        "a taken name: {taken:?}"
    );
    let hash = store.password_hash(&a).await.expect("password_hash");
    assert_eq!(hash, Some(format!("hash-of-{a}")), "the first hash stays");
    let ghost = user_id("users.ghost");
    assert_eq!(
        store.password_hash(&ghost).await.expect("password_hash"),
        None
    );
    let exist = store
        .users_exist(&[b.clone(), ghost, a.clone()])
        .await
        .expect("users_exist");
    assert_eq!(exist, [true, false, true], "in the order given");
    assert!(
        store
            .users_exist(&[])
            .await
            .expect("users_exist")
            .is_empty()
    );
}

/// Racing creations of the same names: exactly one per name succeeds, the others
/// are `Conflict`, and failing creations do not undo the successful ones they
/// may share a transaction with.
pub async fn users_concurrent_conflicts(store: &Arc<dyn Store>) {
    let mut tasks = JoinSet::new();
    for name in 0..20 {
        for attempt in 0..3 {
            let store = store.clone();
            tasks.spawn(async move {
                let user = NewUser {
                    name: user_id(&format!("race.{name}")),
                    password_hash: format!("attempt {attempt}"),
                    display_name: None,
                };
                (name, store.create_user(user).await)
            });
        }
    }
    let mut wins = [0; 20];
    while let Some(done) = tasks.join_next().await {
        match done.expect("create task") {
            (name, Ok(())) => wins[name] += 1,
            (_, Err(StoreError::Conflict(_))) => {}
            (name, Err(e)) => panic!("race.{name}: expected success or Conflict, got {e:?}"),
        }
    }
    assert_eq!(wins, [1; 20], "exactly one creation per name wins");
    let names: Vec<_> = (0..20).map(|n| user_id(&format!("race.{n}"))).collect();
    assert_eq!(
        store.users_exist(&names).await.expect("users_exist"),
        [true; 20]
    );
}

/// contacts() shows every relation from the user's side, sorted by name, in every
/// combination of i_added, i_blocked and they_added; a block of the user alone is
/// not shown. contact_remove ends `added` on both sides and keeps blocks;
/// unblocking clears only the block.
pub async fn contacts(store: &Arc<dyn Store>) {
    let [me, b, c, d, e, f, g, h] = create_users(
        store,
        [
            "contact.me",
            "contact.b",
            "contact.c",
            "contact.d",
            "contact.e",
            "contact.f",
            "contact.g",
            "contact.h",
        ],
    )
    .await;
    store.contact_add(&me, &b).await.expect("add"); // requested
    store.contact_add(&c, &me).await.expect("add"); // incoming
    store.contact_add(&me, &d).await.expect("add"); // mutual
    store.contact_add(&d, &me).await.expect("add");
    store.set_blocked(&me, &e, true).await.expect("block"); // blocked only
    store.contact_add(&me, &f).await.expect("add"); // added, then blocked
    store.set_blocked(&me, &f, true).await.expect("block");
    store.contact_add(&g, &me).await.expect("add"); // they added, I blocked
    store.set_blocked(&me, &g, true).await.expect("block");
    store.set_blocked(&h, &me, true).await.expect("block"); // they blocked me: not shown
    store
        .contact_add(&me, &b)
        .await
        .expect("adding twice is harmless");

    let edge = |user: &koi_core::UserId, i_added, i_blocked, they_added| ContactEdge {
        user: user.to_string(),
        i_added,
        i_blocked,
        they_added,
    };
    let mine = store.contacts(&me).await.expect("contacts");
    let expected = vec![
        edge(&b, true, false, false),
        edge(&c, false, false, true),
        edge(&d, true, false, true),
        edge(&e, false, true, false),
        edge(&f, true, true, false),
        edge(&g, false, true, true),
    ];
    assert_eq!(mine, expected, "every combination, sorted by name");
    assert_eq!(
        store.contacts(&b).await.expect("contacts"),
        [edge(&me, false, false, true)]
    );
    assert!(
        store.contacts(&e).await.expect("contacts").is_empty(),
        "e does not learn of the block"
    );
    assert_eq!(
        store.contacts(&h).await.expect("contacts"),
        [edge(&me, false, true, false)]
    );
    assert!(store.is_blocked(&me, &e).await.expect("is_blocked"));
    assert!(
        !store.is_blocked(&e, &me).await.expect("is_blocked"),
        "blocks are directed"
    );
    assert!(!store.is_blocked(&me, &b).await.expect("is_blocked"));

    store.contact_remove(&me, &d).await.expect("remove");
    store
        .contact_remove(&me, &c)
        .await
        .expect("remove what they added");
    store.contact_remove(&me, &f).await.expect("remove");
    store.set_blocked(&me, &e, false).await.expect("unblock");
    store.set_blocked(&me, &g, false).await.expect("unblock");
    let mine = store.contacts(&me).await.expect("contacts");
    let expected = vec![
        edge(&b, true, false, false),
        edge(&f, false, true, false),
        edge(&g, false, false, true),
    ];
    assert_eq!(
        mine, expected,
        "removed both ways, blocks kept, unblocks applied"
    );
    assert!(
        store.contacts(&d).await.expect("contacts").is_empty(),
        "removal ends d's side too"
    );
    assert!(
        store.contacts(&c).await.expect("contacts").is_empty(),
        "removal ends c's side too"
    );
    assert!(
        store.is_blocked(&me, &f).await.expect("is_blocked"),
        "a removal keeps the block"
    );
    assert!(!store.is_blocked(&me, &e).await.expect("is_blocked"));
}

/// put_file records a file; file() returns it as stored, `None` when unknown.
pub async fn files(store: &Arc<dyn Store>) {
    let record = FileRecord {
        id: unique("file-record"),
        owner: user_id("files.a").to_string(),
        name: "report.pdf".into(),
        size: 5_000_000_000,
        mime: "application/pdf".into(),
        sha256: "ab".repeat(32),
        created_ms: 1_700_000_000_000,
    };
    store.put_file(record.clone()).await.expect("put_file");
    assert_eq!(store.file(&record.id).await.expect("file"), Some(record));
    assert_eq!(store.file(&unique("file-none")).await.expect("file"), None);
}
