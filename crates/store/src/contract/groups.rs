//! Checks of creating groups.

use std::sync::Arc;

use koi_core::Role;

use super::{create_users, group_id, user_id};
use crate::{GroupRecord, NewGroup, Store, StoreError};

/// create_group makes the owner `owner` and the members `member` in the order
/// given, skipping the owner and repeats; `size` counts them; group_members lists
/// the first `limit` in joining order; member_role is `None` for outsiders; a
/// taken id is `Conflict`; an unknown group is `None`.
pub async fn group_create(store: &Arc<dyn Store>) {
    let [owner, m1, m2, outsider] = create_users(
        store,
        ["gcreate.o", "gcreate.m1", "gcreate.m2", "gcreate.x"],
    )
    .await;
    let id = group_id("gcreate");
    let new = NewGroup {
        id: id.clone(),
        name: "Created".into(),
        owner: owner.clone(),
        public: true,
        members: vec![m2.clone(), owner.clone(), m1.clone(), m2.clone()],
        max_members: 3,
    };
    let created = store.create_group(new.clone()).await.expect("create_group");
    let expected = GroupRecord {
        id: id.clone(),
        name: "Created".into(),
        owner: owner.to_string(),
        public: true,
        size: 3,
        description: String::new(),
        avatar: String::new(),
    };
    assert_eq!(created, expected, "owner and repeats are not counted twice");
    assert_eq!(store.group(&id).await.expect("group"), Some(expected));
    let members = store.group_members(&id, 10).await.expect("group_members");
    assert_eq!(
        members,
        vec![
            (owner.to_string(), Role::Owner),
            (m2.to_string(), Role::Member),
            (m1.to_string(), Role::Member)
        ],
        "joining order, with roles"
    );
    assert_eq!(
        store.group_members(&id, 2).await.expect("group_members"),
        members[..2]
    );
    assert_eq!(
        store.member_role(&id, &m1).await.expect("member_role"),
        Some(Role::Member)
    );
    assert_eq!(
        store
            .member_role(&id, &outsider)
            .await
            .expect("member_role"),
        None
    );

    let again = store.create_group(new).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "a taken id: {again:?}"
    );
    assert_eq!(
        store.group(&group_id("gcreate-none")).await.expect("group"),
        None
    );
    assert!(
        store
            .group_members(&group_id("gcreate-none"), 10)
            .await
            .expect("group_members")
            .is_empty()
    );
}

/// An unknown member makes create_group `NotFound`; more members than
/// `max_members` make it `Limit`; neither leaves anything behind.
pub async fn group_create_rejects(store: &Arc<dyn Store>) {
    let [owner, m1, m2] = create_users(store, ["greject.o", "greject.m1", "greject.m2"]).await;
    let unknown = NewGroup {
        id: group_id("greject-unknown"),
        name: "Unknown member".into(),
        owner: owner.clone(),
        public: false,
        members: vec![m1.clone(), user_id("greject.ghost")],
        max_members: 10,
    };
    let result = store.create_group(unknown.clone()).await;
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "unknown member: {result:?}"
    );
    assert_eq!(
        store.group(&unknown.id).await.expect("group"),
        None,
        "nothing created"
    );
    assert!(
        store
            .user_groups(&owner)
            .await
            .expect("user_groups")
            .is_empty()
    );

    let crowded = NewGroup {
        id: group_id("greject-full"),
        members: vec![m1.clone(), m2.clone()],
        max_members: 2,
        ..unknown
    };
    let result = store.create_group(crowded.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Limit(_))),
        "3 members, max 2: {result:?}"
    );
    assert_eq!(
        store.group(&crowded.id).await.expect("group"),
        None,
        "nothing created"
    );
    assert!(
        store
            .conversations(&m1)
            .await
            .expect("conversations")
            .is_empty()
    );
}
