//! Group settings (§13): `group_update` by the owner or an admin, `group_info`
//! showing description and avatar, a group avatar readable by members (by
//! anyone once the group is public), and `group_role` with the hand-over of
//! ownership.
//!
//! Every test runs on each topology, the members on different nodes of the
//! cluster.

use koi_client::{Api, Transport};
use koi_proto::GroupUpdate;

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, code, on_each_topology};
use crate::people::{file_status, person, upload_as};

on_each_topology!(
    group_update_by_owner_and_admins,
    group_avatar_is_readable_by_members_or_anyone_when_public,
    group_role_changes_and_hands_over_ownership,
);

fn update(group: &str) -> GroupUpdate {
    GroupUpdate {
        group: group.to_owned(),
        ..GroupUpdate::default()
    }
}

/// The owner changes name, description and openness, an admin the
/// description; `group_info` shows them. A member or outsider is
/// `forbidden`, an unknown group `not_found`; a bad name or description is
/// refused and changes nothing.
async fn group_update_by_owner_and_admins(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_, o) = koi.user("owner", transport).await;
        let (admin, ad) = koi.user("admin", transport).await;
        let (member, m) = koi.user("member", transport).await;
        let (_, outsider) = koi.user("outsider", transport).await;
        let group = o
            .group_create("Before", [admin.as_str(), member.as_str()], false)
            .await
            .unwrap();
        o.group_role(&group.id, &admin, "admin").await.unwrap();

        o.group_update(GroupUpdate {
            name: Some("After".into()),
            description: Some("Koi keepers\nwelcome".into()),
            public: Some(true),
            ..update(&group.id)
        })
        .await
        .unwrap();
        ad.group_update(GroupUpdate {
            description: Some("by the admin".into()),
            ..update(&group.id)
        })
        .await
        .unwrap();
        let info = m.group_info(&group.id).await.unwrap().group.unwrap();
        assert_eq!(
            (info.name.as_str(), info.description.as_str(), info.public),
            ("After", "by the admin", true),
            "{transport:?}"
        );
        // Each change is an event (§11) naming what changed, from whoever
        // made it; the role change before them too.
        let history = m
            .history(&format!("g:{}", group.id), None, None, None)
            .await
            .unwrap();
        let events: Vec<_> = history
            .iter()
            .filter_map(|msg| Some((msg.from.clone(), msg.event.clone()?)))
            .map(|(from, e)| {
                (
                    from,
                    e.r#type,
                    e.user,
                    e.role,
                    e.name,
                    e.description,
                    e.public,
                )
            })
            .collect();
        let owner = o.user().to_owned();
        assert_eq!(
            events,
            [
                (
                    owner.clone(),
                    "role_changed".into(),
                    Some(admin.clone()),
                    Some("admin".into()),
                    None,
                    None,
                    None
                ),
                (
                    owner.clone(),
                    "group_updated".into(),
                    None,
                    None,
                    Some("After".into()),
                    Some("Koi keepers\nwelcome".into()),
                    Some(true)
                ),
                (
                    admin.clone(),
                    "group_updated".into(),
                    None,
                    None,
                    None,
                    Some("by the admin".into()),
                    None
                ),
            ],
            "{transport:?}"
        );

        let rename = |who: &str| GroupUpdate {
            name: Some(who.to_owned()),
            ..update(&group.id)
        };
        assert_eq!(code(m.group_update(rename("mine")).await), "forbidden");
        assert_eq!(
            code(outsider.group_update(rename("mine")).await),
            "forbidden"
        );
        assert_eq!(
            code(
                o.group_update(GroupUpdate {
                    name: Some("x".into()),
                    ..update("no-such-group")
                })
                .await
            ),
            "not_found"
        );
        assert_eq!(code(o.group_update(rename("  ")).await), "bad_request");
        assert_eq!(
            code(o.group_update(rename("rtl\u{202E}")).await),
            "bad_request"
        );
        let long = GroupUpdate {
            description: Some("d".repeat(501)),
            ..update(&group.id)
        };
        assert_eq!(code(o.group_update(long).await), "too_large");
        let info = o.group_info(&group.id).await.unwrap().group.unwrap();
        assert_eq!(
            (info.name.as_str(), info.description.as_str()),
            ("After", "by the admin")
        );
    }
}

/// A group avatar must be an image the updater uploaded; once set, members
/// read it and an outsider does not, until the group is public.
async fn group_avatar_is_readable_by_members_or_anyone_when_public(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, owner_token, o) = person(&koi, "owner", Transport::WsJson).await;
    let (member, member_token, _) = person(&koi, "member", Transport::TcpProtobuf).await;
    let (_, outsider_token, _) = person(&koi, "outsider", Transport::WsJson).await;
    let group = o
        .group_create("pics", [member.as_str()], false)
        .await
        .unwrap();

    let pdf = upload_as(&koi, &owner_token, "application/pdf").await;
    let theirs = upload_as(&koi, &outsider_token, "image/png").await;
    let avatar = |id: &str| GroupUpdate {
        avatar: Some(id.to_owned()),
        ..update(&group.id)
    };
    assert_eq!(code(o.group_update(avatar(&pdf)).await), "bad_request");
    assert_eq!(code(o.group_update(avatar(&theirs)).await), "not_found");

    let image = upload_as(&koi, &owner_token, "image/jpeg").await;
    o.group_update(avatar(&image)).await.unwrap();
    let info = o.group_info(&group.id).await.unwrap().group.unwrap();
    assert_eq!(info.avatar, image);
    assert_eq!(file_status(&koi, &member_token, &image).await, 200);
    assert_eq!(file_status(&koi, &outsider_token, &image).await, 404);
    o.group_update(GroupUpdate {
        public: Some(true),
        ..update(&group.id)
    })
    .await
    .unwrap();
    assert_eq!(file_status(&koi, &outsider_token, &image).await, 200);
}

/// Only the owner sets roles (`admin`, `member`); `owner` hands the group
/// over and the old owner becomes an admin, who then may set roles no more.
/// An unknown role is `bad_request`, a non-member `not_found`.
async fn group_role_changes_and_hands_over_ownership(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (owner, o) = koi.user("owner", transport).await;
        let (heir, h) = koi.user("heir", transport).await;
        let (member, m) = koi.user("member", transport).await;
        let (outsider, _) = koi.user("outsider", transport).await;
        let group = o
            .group_create("crown", [heir.as_str(), member.as_str()], false)
            .await
            .unwrap();
        let role_of = |info: &koi_proto::GroupInfoOk, user: &str| {
            info.members
                .iter()
                .find(|x| x.user == user)
                .map(|x| x.role.clone())
        };

        o.group_role(&group.id, &heir, "admin").await.unwrap();
        assert_eq!(
            code(h.group_role(&group.id, &member, "admin").await),
            "forbidden"
        );
        assert_eq!(
            code(m.group_role(&group.id, &heir, "member").await),
            "forbidden"
        );
        assert_eq!(
            code(o.group_role(&group.id, &heir, "king").await),
            "bad_request"
        );
        assert_eq!(
            code(o.group_role(&group.id, &outsider, "admin").await),
            "not_found"
        );
        assert_eq!(
            code(o.group_role(&group.id, &owner, "member").await),
            "bad_request"
        );
        let info = m.group_info(&group.id).await.unwrap();
        assert_eq!(
            role_of(&info, &heir).as_deref(),
            Some("admin"),
            "{transport:?}"
        );

        o.group_role(&group.id, &heir, "owner").await.unwrap();
        let info = m.group_info(&group.id).await.unwrap();
        assert_eq!(info.group.as_ref().unwrap().owner, heir);
        assert_eq!(role_of(&info, &heir).as_deref(), Some("owner"));
        assert_eq!(role_of(&info, &owner).as_deref(), Some("admin"));
        assert_eq!(
            code(o.group_role(&group.id, &member, "admin").await),
            "forbidden"
        );
        h.group_role(&group.id, &owner, "member").await.unwrap();
        let info = m.group_info(&group.id).await.unwrap();
        assert_eq!(role_of(&info, &owner).as_deref(), Some("member"));
        // Every change is a `role_changed` event; the hand-over is two: the
        // heir's and the old owner's.
        let history = m
            .history(&format!("g:{}", group.id), None, None, None)
            .await
            .unwrap();
        let roles: Vec<_> = history
            .iter()
            .filter_map(|msg| Some((msg.from.clone(), msg.event.clone()?)))
            .filter(|(_, e)| e.r#type == "role_changed")
            .map(|(from, e)| (from, e.user.unwrap_or_default(), e.role.unwrap_or_default()))
            .collect();
        let change = |from: &str, user: &str, role: &str| {
            (from.to_owned(), user.to_owned(), role.to_owned())
        };
        assert_eq!(
            roles,
            [
                change(&owner, &heir, "admin"),
                change(&owner, &heir, "owner"),
                change(&owner, &owner, "admin"),
                change(&heir, &owner, "member"),
            ],
            "{transport:?}"
        );
    }
}
