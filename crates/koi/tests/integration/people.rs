//! Profiles, conversation settings and privacy settings (§13): `profile_set`,
//! `profiles`, the `profile` push, `conv_set` and its `conv_settings` push,
//! `settings` and `settings_set`, avatars readable as §15 says, deleted
//! accounts in `profiles`.
//!
//! Every test runs on each topology; in the cluster a user's devices and the
//! people they talk to are on different nodes.

use koi_client::{Api, Connection, Transport};
use koi_proto::frame::Op;
use koi_proto::{ConvSet, ConvSettings, ProfileSet, SettingsSet};
use serde_json::json;

use crate::harness::{
    Endpoint, Koi, PASSWORD, TRANSPORTS, Topology, code, get_status, http, next_push,
    on_each_topology, register_login, unique, upload,
};

on_each_topology!(
    profile_set_pushes_and_profiles_answer,
    profile_set_refusals,
    profiles_of_deleted_and_unknown_users,
    avatars_are_readable_by_who_may_see_the_profile,
    conv_set_reaches_other_devices_and_sync,
    settings_defaults_changes_and_refusals,
);

/// A fresh user: name, token and a connection over `transport`.
pub(crate) async fn person(
    koi: &Koi,
    prefix: &str,
    transport: Transport,
) -> (String, String, Connection) {
    let name = unique(prefix);
    let token = register_login(koi, &name).await;
    let conn = koi.connect(&token, transport).await;
    (name, token, conn)
}

/// Makes `x` and `y` mutual contacts.
pub(crate) async fn befriend(x: &Connection, y: &Connection) {
    x.contact_add(y.user()).await.unwrap();
    y.contact_add(x.user()).await.unwrap();
}

/// Uploads a small PNG (or any `mime`) as `token`; its file id.
pub(crate) async fn upload_as(koi: &Koi, token: &str, mime: &str) -> String {
    let bytes: Vec<u8> = (0..64u8).collect();
    let (status, body) = upload(koi, Some(token), "face.png", mime, bytes.into()).await;
    assert_eq!(status, 201, "{body}");
    body["file_id"].as_str().expect("file_id").to_owned()
}

/// `GET /v1/files/{id}` as `token`: the status.
pub(crate) async fn file_status(koi: &Koi, token: &str, id: &str) -> u16 {
    get_status(format!("{}/v1/files/{id}", koi.base()), token).await
}

/// The next `profile` push on `conn`: the user it names.
async fn next_profile_push(conn: &Connection) -> String {
    next_push(conn, |op| match op {
        Op::Profile(p) => Some(p.user),
        _ => None,
    })
    .await
}

fn profile(display_name: &str, status: &str, avatar: Option<&str>) -> ProfileSet {
    ProfileSet {
        display_name: Some(display_name.to_owned()),
        status: Some(status.to_owned()),
        avatar: avatar.map(str::to_owned),
    }
}

/// Alice sets her profile: her other device, her mutual contact and a
/// co-member of a small group each get `profile {user}`, and `profiles`
/// shows the fields (characters, not bytes); an empty string clears a field
/// and leaves the others.
async fn profile_set_pushes_and_profiles_answer(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, token, a1) = person(&koi, "alice", transport).await;
        let a2 = koi.connect(&token, Transport::WsJson).await;
        let (_, _, friend) = person(&koi, "friend", transport).await;
        let (_, _, mate) = person(&koi, "mate", Transport::TcpProtobuf).await;
        befriend(&a1, &friend).await;
        a1.group_create("small", [mate.user()], false)
            .await
            .unwrap();

        let avatar = upload_as(&koi, &token, "image/png").await;
        let name = "Ålice 🐟!".repeat(8); // 64 characters, more bytes
        a1.profile_set(profile(&name, "gone fishing", Some(&avatar)))
            .await
            .unwrap();
        for device in [&a2, &friend, &mate] {
            assert_eq!(next_profile_push(device).await, alice, "{transport:?}");
        }
        let got = friend.profiles([alice.as_str()]).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (
                got[0].display_name.as_str(),
                got[0].status.as_str(),
                got[0].avatar.as_str()
            ),
            (name.as_str(), "gone fishing", avatar.as_str())
        );
        assert_eq!(got[0].deleted_user, None);

        let clear_status = ProfileSet {
            status: Some(String::new()),
            ..ProfileSet::default()
        };
        a1.profile_set(clear_status).await.unwrap();
        let got = &mate.profiles([alice.as_str()]).await.unwrap()[0];
        assert_eq!(
            (got.display_name.as_str(), got.status.as_str()),
            (name.as_str(), "")
        );
    }
}

/// Over-long fields are `too_large`, control and format characters
/// `bad_request`; an avatar must be an image (`bad_request`) the caller
/// uploaded (`not_found`, as for no such file); more than 500 users in
/// `profiles` is `too_large`.
async fn profile_set_refusals(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_, token, a) = person(&koi, "alice", transport).await;
        let (_, other_token, _) = person(&koi, "other", transport).await;
        let set = |name: &str, status: &str| profile(name, status, None);
        assert_eq!(
            code(a.profile_set(set(&"x".repeat(65), "")).await),
            "too_large"
        );
        assert_eq!(
            code(a.profile_set(set("", &"y".repeat(141))).await),
            "too_large"
        );
        assert_eq!(
            code(a.profile_set(set("evil\u{202E}gpj", "")).await),
            "bad_request"
        );
        assert_eq!(
            code(a.profile_set(set("", "two\nlines")).await),
            "bad_request"
        );

        let text_file = upload_as(&koi, &token, "text/html").await;
        let theirs = upload_as(&koi, &other_token, "image/png").await;
        let avatar = |id: &str| ProfileSet {
            avatar: Some(id.to_owned()),
            ..ProfileSet::default()
        };
        assert_eq!(code(a.profile_set(avatar(&text_file)).await), "bad_request");
        assert_eq!(code(a.profile_set(avatar(&theirs)).await), "not_found");
        assert_eq!(
            code(a.profile_set(avatar("no-such-file")).await),
            "not_found"
        );

        let many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
        assert_eq!(code(a.profiles(many).await), "too_large");
        assert_eq!(code(a.profiles(["Not A Name"]).await), "bad_request");
        // Nothing was set by the refusals.
        let me = &a.profiles([a.user()]).await.unwrap()[0];
        assert_eq!((me.display_name.as_str(), me.avatar.as_str()), ("", ""));
    }
}

/// Unknown users are left out of `profiles`; a deleted account is listed
/// with `deleted_user: true` and its profile erased.
async fn profiles_of_deleted_and_unknown_users(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (gone, token, g) = person(&koi, "gone", Transport::WsJson).await;
    let (_, _, asker) = person(&koi, "asker", Transport::TcpProtobuf).await;
    g.profile_set(profile("Soon Gone", "bye", None))
        .await
        .unwrap();
    let res = http()
        .delete(format!("{}/v1/account", koi.base()))
        .bearer_auth(&token)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let got = asker
        .profiles([gone.as_str(), "nobody-at-all"])
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].user, gone);
    assert_eq!(got[0].deleted_user, Some(true));
    assert_eq!(
        (got[0].display_name.as_str(), got[0].status.as_str()),
        ("", "")
    );
}

/// §15: a file set as alice's avatar is readable by a contact and by any
/// user she did not block, not by one she blocked; unset, it is hers alone
/// again.
async fn avatars_are_readable_by_who_may_see_the_profile(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (_, token, a) = person(&koi, "alice", Transport::WsJson).await;
    let (_, friend_token, friend) = person(&koi, "friend", Transport::TcpProtobuf).await;
    let (blocked, blocked_token, _) = person(&koi, "blocked", Transport::WsJson).await;
    befriend(&a, &friend).await;
    a.block(&blocked).await.unwrap();
    let avatar = upload_as(&koi, &token, "image/webp").await;
    assert_eq!(
        file_status(&koi, &friend_token, &avatar).await,
        404,
        "not yet"
    );

    a.profile_set(ProfileSet {
        avatar: Some(avatar.clone()),
        ..ProfileSet::default()
    })
    .await
    .unwrap();
    assert_eq!(file_status(&koi, &friend_token, &avatar).await, 200);
    assert_eq!(file_status(&koi, &blocked_token, &avatar).await, 404);
    let b = koi.connect(&blocked_token, Transport::WsJson).await;
    let seen_by_blocked = b.profiles([a.user()]).await.unwrap();
    assert_eq!(seen_by_blocked[0].avatar, "", "a block reveals nothing");

    a.profile_set(ProfileSet {
        avatar: Some(String::new()),
        ..ProfileSet::default()
    })
    .await
    .unwrap();
    assert_eq!(file_status(&koi, &friend_token, &avatar).await, 404);
    assert_eq!(file_status(&koi, &token, &avatar).await, 200);
}

/// `conv_set` changes the caller's settings of a conversation: their other
/// device gets `conv_settings` with all three values, their `sync` shows
/// them, the peer's does not; a conversation the caller is not in is
/// `forbidden`, a malformed one `bad_request`.
async fn conv_set_reaches_other_devices_and_sync(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_, token, a1) = person(&koi, "alice", transport).await;
        let a2 = koi.connect(&token, Transport::TcpProtobuf).await;
        let (bob, _, b) = person(&koi, "bob", transport).await;
        let conv = a1.send_text(&bob, "c1", "hi").await.unwrap().conv;

        a1.conv_set(ConvSet {
            conv: conv.clone(),
            muted_until: Some(4_102_444_800_000),
            pinned: Some(true),
            archived: None,
        })
        .await
        .unwrap();
        let pushed: ConvSettings = next_push(&a2, |op| match op {
            Op::ConvSettings(s) => Some(s),
            _ => None,
        })
        .await;
        assert_eq!(
            (
                pushed.conv.as_str(),
                pushed.muted_until,
                pushed.pinned,
                pushed.archived
            ),
            (conv.as_str(), 4_102_444_800_000, true, false),
            "{transport:?}"
        );
        a2.conv_set(ConvSet {
            conv: conv.clone(),
            archived: Some(true),
            ..ConvSet::default()
        })
        .await
        .unwrap();
        let mine = a1.sync().await.unwrap();
        let entry = mine.iter().find(|c| c.conv == conv).expect("listed");
        assert_eq!(
            (entry.muted_until, entry.pinned, entry.archived),
            (4_102_444_800_000, true, true)
        );
        let theirs = b.sync().await.unwrap();
        let entry = theirs.iter().find(|c| c.conv == conv).expect("listed");
        assert_eq!(
            (entry.muted_until, entry.pinned, entry.archived),
            (0, false, false)
        );

        let (carol, _, _) = person(&koi, "carol", transport).await;
        let not_mine = format!("d:{}:{}", bob.clone().min(carol.clone()), bob.max(carol));
        let set = |conv: &str| ConvSet {
            conv: conv.to_owned(),
            pinned: Some(true),
            ..ConvSet::default()
        };
        assert_eq!(code(a1.conv_set(set(&not_mine)).await), "forbidden");
        assert_eq!(code(a1.conv_set(set("x:nonsense")).await), "bad_request");
        assert_eq!(code(a1.conv_set(set("g:no-such-group")).await), "not_found");
    }
}

/// `settings` answers the defaults (`everyone`, `contacts`, `everyone`);
/// `settings_set` changes what it is given and answers all three; a value a
/// setting does not take is `bad_request` and changes nothing.
async fn settings_defaults_changes_and_refusals(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (_, token, a1) = person(&koi, "alice", transport).await;
        let a2 = koi.connect(&token, Transport::WsJson).await;
        let now = a1.settings().await.unwrap();
        assert_eq!(
            (
                now.dm.as_str(),
                now.presence.as_str(),
                now.group_add.as_str()
            ),
            ("everyone", "contacts", "everyone")
        );
        let after = a1
            .settings_set(SettingsSet {
                dm: Some("contacts".into()),
                presence: Some("nobody".into()),
                group_add: None,
            })
            .await
            .unwrap();
        assert_eq!(
            (
                after.dm.as_str(),
                after.presence.as_str(),
                after.group_add.as_str()
            ),
            ("contacts", "nobody", "everyone")
        );
        assert_eq!(a2.settings().await.unwrap(), after, "one setting per user");
        for bad in [
            SettingsSet {
                presence: Some("everyone".into()),
                ..SettingsSet::default()
            },
            SettingsSet {
                dm: Some("nobody".into()),
                ..SettingsSet::default()
            },
            SettingsSet {
                group_add: Some("friends".into()),
                dm: Some("everyone".into()),
                ..SettingsSet::default()
            },
        ] {
            assert_eq!(code(a1.settings_set(bad).await), "bad_request");
        }
        assert_eq!(a1.settings().await.unwrap(), after);
    }
}
