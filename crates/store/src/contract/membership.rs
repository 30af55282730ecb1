//! Checks of group membership changes.

use std::sync::Arc;

use koi_core::{Role, UserId};

use super::{create_users, group_id, user_id};
use crate::{NewGroup, Store, StoreError};

/// add_members adds only newcomers, in the order given, and returns them; it is
/// all or nothing: `Limit` when the group would outgrow `max_members`, `NotFound`
/// for an unknown user or group. `size` follows.
pub async fn group_add_members(store: &Arc<dyn Store>) {
    let [owner, m1, m2, m3, m4] = create_users(
        store,
        ["gadd.o", "gadd.m1", "gadd.m2", "gadd.m3", "gadd.m4"],
    )
    .await;
    let id = group_id("gadd");
    group(store, &id, &owner, &[&m1], 10).await;

    let added = store
        .add_members(&id, &[m3.clone(), m1.clone(), m2.clone(), m3.clone()], 10)
        .await;
    assert_eq!(
        added.expect("add_members").added,
        [m3.to_string(), m2.to_string()],
        "newcomers only"
    );
    assert_eq!(size(store, &id).await, 4);
    let order: Vec<String> = store
        .group_members(&id, 10)
        .await
        .expect("members")
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(
        order,
        [&owner, &m1, &m3, &m2].map(|u| u.to_string()),
        "joining order"
    );

    let over = store
        .add_members(&id, &[m4.clone(), owner.clone()], 4)
        .await;
    assert!(
        matches!(over, Err(StoreError::Limit(_))),
        "5 members, max 4: {over:?}"
    );
    let ghost = store
        .add_members(&id, &[m4.clone(), user_id("gadd.ghost")], 10)
        .await;
    assert!(
        matches!(ghost, Err(StoreError::NotFound(_))),
        "unknown user: {ghost:?}"
    );
    assert_eq!(size(store, &id).await, 4, "a refused add adds nobody");
    assert_eq!(
        store.member_role(&id, &m4).await.expect("member_role"),
        None
    );

    let nothing = store
        .add_members(&id, std::slice::from_ref(&m1), 4)
        .await
        .expect("add existing at the limit");
    assert!(
        nothing.added.is_empty(),
        "existing members are skipped, not counted"
    );
    let no_group = store
        .add_members(&group_id("gadd-none"), std::slice::from_ref(&m4), 10)
        .await;
    assert!(
        matches!(no_group, Err(StoreError::NotFound(_))),
        "unknown group: {no_group:?}"
    );
}

/// remove_member is false for a non-member; when the owner leaves, the
/// longest-standing remaining member becomes owner (the store offers no way to
/// make admins, so the admin-first rule is left to implementation tests); the
/// last one leaving leaves an empty group without owner (`""`). user_groups
/// follows membership.
pub async fn group_remove_and_handoff(store: &Arc<dyn Store>) {
    let [owner, m1, m2, outsider] =
        create_users(store, ["gleave.o", "gleave.m1", "gleave.m2", "gleave.x"]).await;
    let id = group_id("gleave");
    let other = group_id("gleave-2");
    group(store, &id, &owner, &[&m1, &m2], 10).await;
    group(store, &other, &m2, &[], 10).await;
    let mut groups = store.user_groups(&m2).await.expect("user_groups");
    groups.sort();
    let mut expected = vec![id.clone(), other.clone()];
    expected.sort();
    assert_eq!(
        groups, expected,
        "user_groups lists every group of the user"
    );

    assert!(
        !store.remove_member(&id, &outsider).await.expect("remove"),
        "not a member"
    );
    assert!(
        store.remove_member(&id, &owner).await.expect("remove"),
        "the owner leaves"
    );
    let record = store
        .group(&id)
        .await
        .expect("group")
        .expect("the group stays");
    assert_eq!(
        (record.owner.as_str(), record.size),
        (m1.as_str(), 2),
        "the longest-standing member takes over"
    );
    assert_eq!(
        store.member_role(&id, &m1).await.expect("role"),
        Some(Role::Owner)
    );
    assert_eq!(store.member_role(&id, &owner).await.expect("role"), None);
    assert!(
        store
            .user_groups(&owner)
            .await
            .expect("user_groups")
            .is_empty()
    );

    assert!(
        store.remove_member(&id, &m2).await.expect("remove"),
        "a member leaves"
    );
    assert_eq!(
        store.member_role(&id, &m1).await.expect("role"),
        Some(Role::Owner),
        "the owner stays"
    );
    assert_eq!(store.user_groups(&m2).await.expect("user_groups"), [other]);
    assert!(
        store.remove_member(&id, &m1).await.expect("remove"),
        "the last member leaves"
    );
    let empty = store
        .group(&id)
        .await
        .expect("group")
        .expect("an empty group stays");
    assert_eq!(
        (empty.owner.as_str(), empty.size),
        ("", 0),
        "an empty group has no owner"
    );
    assert!(
        store
            .group_members(&id, 10)
            .await
            .expect("members")
            .is_empty()
    );
    assert!(
        !store.remove_member(&id, &m1).await.expect("remove"),
        "no longer a member"
    );
}

/// set_role makes a member an admin and back; the owner's role and
/// non-members are left alone; the owner leaving hands the group to the
/// longest-standing admin before any older member.
pub async fn group_roles(store: &Arc<dyn Store>) {
    let [owner, old, a1, a2, outsider] = create_users(
        store,
        ["role.o", "role.old", "role.a1", "role.a2", "role.x"],
    )
    .await;
    let id = group_id("roles");
    group(store, &id, &owner, &[&old, &a1, &a2], 10).await;
    for admin in [&a1, &a2] {
        assert!(
            store
                .set_role(&id, admin, Role::Admin)
                .await
                .expect("set_role")
        );
    }
    assert_eq!(
        store.member_role(&id, &a1).await.expect("role"),
        Some(Role::Admin)
    );
    assert!(
        !store
            .set_role(&id, &owner, Role::Member)
            .await
            .expect("set_role"),
        "the owner stays owner"
    );
    assert_eq!(
        store.member_role(&id, &owner).await.expect("role"),
        Some(Role::Owner)
    );
    assert!(
        !store
            .set_role(&id, &outsider, Role::Admin)
            .await
            .expect("set_role"),
        "not a member"
    );
    assert_eq!(store.member_role(&id, &outsider).await.expect("role"), None);

    assert!(store.remove_member(&id, &owner).await.expect("leave"));
    let record = store.group(&id).await.expect("group").expect("exists");
    assert_eq!(
        (record.owner.as_str(), record.size),
        (a1.as_str(), 3),
        "the first admin takes over"
    );
    assert_eq!(
        store.member_role(&id, &a1).await.expect("role"),
        Some(Role::Owner)
    );
    assert_eq!(
        store.member_role(&id, &a2).await.expect("role"),
        Some(Role::Admin)
    );
    assert_eq!(
        store.member_role(&id, &old).await.expect("role"),
        Some(Role::Member)
    );

    assert!(
        store
            .set_role(&id, &a2, Role::Member)
            .await
            .expect("set_role")
    );
    assert_eq!(
        store.member_role(&id, &a2).await.expect("role"),
        Some(Role::Member)
    );
}

async fn group(store: &Arc<dyn Store>, id: &str, owner: &UserId, members: &[&UserId], max: u32) {
    store
        .create_group(NewGroup {
            id: id.into(),
            name: format!("group {id}"),
            owner: owner.clone(),
            public: false,
            members: members.iter().map(|&m| m.clone()).collect(),
            max_members: max,
        })
        .await
        .expect("create_group");
}

async fn size(store: &Arc<dyn Store>, id: &str) -> u32 {
    store
        .group(id)
        .await
        .expect("group")
        .expect("group exists")
        .size
}
