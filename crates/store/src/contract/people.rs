//! Checks of profiles, last seen, privacy settings, per-user conversation
//! settings and group settings (§13).

use std::sync::Arc;

use koi_core::{Audience, ConvId, Privacy, Role};

use super::{create_users, group_id, unique, user_id};
use crate::{
    ConvSettings, ConvSettingsUpdate, FileRecord, GroupUpdate, NewGroup, PrivacyUpdate,
    ProfileUpdate, Store,
};

/// An old image upload of `owner`'s, so that only a reference keeps it.
fn image(owner: &str, base: &str) -> FileRecord {
    FileRecord {
        id: unique(base).replace('.', "x"),
        owner: owner.to_owned(),
        name: format!("{base}.png"),
        size: 10,
        mime: "image/png".into(),
        sha256: "ab".repeat(32),
        created_ms: 7,
    }
}

/// set_profile sets the fields given and leaves the others, `""` clears;
/// profiles lists existing users once each in the order asked; last seen
/// only moves forward; a deleted account's profile is erased, flagged, and
/// can no longer be set; an avatar keeps its file from the sweep.
pub async fn profiles_and_last_seen(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["prof.a", "prof.b"]).await;
    let ghost = user_id("prof.nobody");
    let avatar = image(a.as_str(), "prof-avatar");
    store.put_file(avatar.clone()).await.expect("put_file");
    let set = ProfileUpdate {
        display_name: Some("Alice A.".into()),
        avatar: Some(avatar.id.clone()),
        status: Some("fishing 🎣".into()),
    };
    assert!(store.set_profile(&a, set).await.expect("set_profile"));
    let only_status = ProfileUpdate {
        status: Some(String::new()),
        ..ProfileUpdate::default()
    };
    assert!(
        store
            .set_profile(&a, only_status)
            .await
            .expect("set_profile")
    );
    assert!(
        !store
            .set_profile(&ghost, ProfileUpdate::default())
            .await
            .expect("set_profile")
    );

    let found = store
        .profiles(&[b.clone(), ghost.clone(), a.clone(), b.clone()])
        .await
        .expect("profiles");
    let names: Vec<&str> = found.iter().map(|p| p.user.as_str()).collect();
    assert_eq!(names, [b.as_str(), a.as_str()], "existing users, once each");
    let pa = &found[1];
    assert_eq!(
        (
            pa.display_name.as_str(),
            pa.avatar.as_str(),
            pa.status.as_str()
        ),
        ("Alice A.", avatar.id.as_str(), ""),
        "an empty string cleared only the status"
    );
    assert_eq!((pa.last_seen, pa.deleted), (None, false));
    assert_eq!(pa.privacy, Privacy::default());
    assert_eq!(found[0].display_name, "", "never set is empty");

    let swept = store
        .unreferenced_files(1_000, 10_000)
        .await
        .expect("sweep");
    assert!(swept.iter().all(|f| f.id != avatar.id), "an avatar is kept");
    assert!(
        !store
            .delete_unreferenced_file(&avatar.id, 1_000)
            .await
            .expect("delete")
    );

    store.set_last_seen(&a, 5_000).await.expect("last seen");
    store.set_last_seen(&a, 4_000).await.expect("last seen");
    let last = |p: Vec<crate::ProfileRecord>| p[0].last_seen;
    assert_eq!(
        last(
            store
                .profiles(std::slice::from_ref(&a))
                .await
                .expect("profiles")
        ),
        Some(5_000),
        "never back"
    );

    assert!(store.delete_account(&a, 6_000).await.expect("delete"));
    let gone = &store
        .profiles(std::slice::from_ref(&a))
        .await
        .expect("profiles")[0];
    assert!(gone.deleted);
    assert_eq!((gone.display_name.as_str(), gone.avatar.as_str()), ("", ""));
    let again = ProfileUpdate {
        display_name: Some("back".into()),
        ..ProfileUpdate::default()
    };
    assert!(!store.set_profile(&a, again).await.expect("set_profile"));
}

/// set_privacy changes the settings given and returns all three; profiles
/// reads them; an unknown user is `NotFound`.
pub async fn privacy_settings(store: &Arc<dyn Store>) {
    let [a] = create_users(store, ["priv.a"]).await;
    let after = store
        .set_privacy(
            &a,
            PrivacyUpdate {
                presence: Some(Audience::Nobody),
                ..PrivacyUpdate::default()
            },
        )
        .await
        .expect("set_privacy");
    let expected = Privacy {
        presence: Audience::Nobody,
        ..Privacy::default()
    };
    assert_eq!(after, expected);
    let after = store
        .set_privacy(
            &a,
            PrivacyUpdate {
                dm: Some(Audience::Contacts),
                group_add: Some(Audience::Contacts),
                presence: None,
            },
        )
        .await
        .expect("set_privacy");
    let expected = Privacy {
        dm: Audience::Contacts,
        presence: Audience::Nobody,
        group_add: Audience::Contacts,
    };
    assert_eq!(after, expected);
    assert_eq!(
        store
            .profiles(std::slice::from_ref(&a))
            .await
            .expect("profiles")[0]
            .privacy,
        expected
    );
    let unknown = store
        .set_privacy(&user_id("priv.nobody"), PrivacyUpdate::default())
        .await;
    assert!(matches!(unknown, Err(crate::StoreError::NotFound(_))));
}

/// set_conv_settings changes the fields given, per user and conversation;
/// conv_settings lists what a user changed.
pub async fn conv_settings(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["convset.a", "convset.b"]).await;
    let conv = ConvId::direct(&a, &b);
    let after = store
        .set_conv_settings(
            &a,
            &conv,
            ConvSettingsUpdate {
                muted_until: Some(u64::MAX / 4),
                pinned: Some(true),
                archived: None,
            },
        )
        .await
        .expect("set");
    let pinned_muted = ConvSettings {
        muted_until: u64::MAX / 4,
        pinned: true,
        archived: false,
    };
    assert_eq!(after, pinned_muted);
    let after = store
        .set_conv_settings(
            &a,
            &conv,
            ConvSettingsUpdate {
                archived: Some(true),
                pinned: Some(false),
                ..ConvSettingsUpdate::default()
            },
        )
        .await
        .expect("set");
    let expected = ConvSettings {
        pinned: false,
        archived: true,
        ..pinned_muted
    };
    assert_eq!(after, expected);
    assert_eq!(
        store.conv_settings(&a).await.expect("list"),
        vec![(conv.to_string(), expected)]
    );
    assert!(
        store.conv_settings(&b).await.expect("list").is_empty(),
        "per user"
    );
}

/// update_group changes the fields given; a group avatar is found by its
/// file and kept from the sweep; transfer_owner hands the group to a member
/// and makes the owner an admin, and refuses a non-member; blocked_by lists
/// who blocked a user.
pub async fn group_settings_and_ownership(store: &Arc<dyn Store>) {
    let [owner, member, outsider] = create_users(store, ["gset.o", "gset.m", "gset.x"]).await;
    let id = group_id("gset");
    store
        .create_group(NewGroup {
            id: id.clone(),
            name: "Before".into(),
            owner: owner.clone(),
            public: false,
            members: vec![member.clone()],
            max_members: 10,
        })
        .await
        .expect("create_group");
    let avatar = image(owner.as_str(), "gset-avatar");
    store.put_file(avatar.clone()).await.expect("put_file");
    let update = GroupUpdate {
        name: Some("After".into()),
        description: Some("about fish".into()),
        avatar: Some(avatar.id.clone()),
        public: None,
    };
    let after = store
        .update_group(&id, update)
        .await
        .expect("update")
        .expect("the group");
    assert_eq!(
        (
            after.name.as_str(),
            after.description.as_str(),
            after.avatar.as_str(),
            after.public
        ),
        ("After", "about fish", avatar.id.as_str(), false)
    );
    let public = GroupUpdate {
        public: Some(true),
        ..GroupUpdate::default()
    };
    let after = store.update_group(&id, public).await.expect("update");
    assert_eq!(
        after.map(|g| (g.public, g.name)),
        Some((true, "After".into()))
    );
    assert_eq!(
        store
            .update_group(&group_id("gset-none"), GroupUpdate::default())
            .await
            .expect("update"),
        None
    );
    let by_avatar = store.avatar_groups(&avatar.id).await.expect("avatars");
    assert_eq!(by_avatar.iter().map(|g| &g.id).collect::<Vec<_>>(), [&id]);
    let swept = store
        .unreferenced_files(1_000, 10_000)
        .await
        .expect("sweep");
    assert!(
        swept.iter().all(|f| f.id != avatar.id),
        "a group avatar is kept"
    );

    assert!(
        !store
            .transfer_owner(&id, &outsider)
            .await
            .expect("transfer")
    );
    assert!(store.transfer_owner(&id, &member).await.expect("transfer"));
    assert_eq!(
        store.member_role(&id, &member).await.expect("role"),
        Some(Role::Owner)
    );
    assert_eq!(
        store.member_role(&id, &owner).await.expect("role"),
        Some(Role::Admin)
    );
    assert_eq!(
        store.group(&id).await.expect("group").map(|g| g.owner),
        Some(member.to_string())
    );

    store
        .set_blocked(&member, &outsider, true)
        .await
        .expect("block");
    store
        .set_blocked(&owner, &outsider, true)
        .await
        .expect("block");
    store
        .set_blocked(&owner, &outsider, false)
        .await
        .expect("unblock");
    assert_eq!(
        store.blocked_by(&outsider).await.expect("blocked_by"),
        vec![member.to_string()]
    );
}
