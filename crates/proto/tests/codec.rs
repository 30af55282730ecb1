//! The two encodings of the schema agree with the spec's JSON shapes.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{Encoding, Frame, HistoryOk, Message, Ok as OkReply, SendOk, binary, json};

fn roundtrip(frame: &Frame) {
    for enc in [Encoding::Json, Encoding::Protobuf] {
        let bytes = enc.encode(frame);
        assert_eq!(&enc.decode(&bytes).unwrap(), frame, "{enc:?}");
    }
}

/// The spec's example request decodes with its id and operation.
#[test]
fn decodes_the_spec_send_example() {
    let frame = json::decode(
        br#"{"id": 7, "send": {"to": "bob", "client_msg_id": "c1", "kind": "text", "text": "hi"}}"#,
    )
    .unwrap();
    assert_eq!(frame.id, 7);
    let Some(Op::Send(send)) = &frame.op else {
        panic!("not a send: {frame:?}")
    };
    assert_eq!(send.to.as_deref(), Some("bob"));
    assert_eq!(send.conv, None);
    assert_eq!(send.kind, "text");
    assert_eq!(send.text.as_deref(), Some("hi"));
    roundtrip(&frame);
}

/// Unknown fields are ignored; unknown operations and wrong types are errors that keep the id.
#[test]
fn bad_frames_are_errors_with_their_id() {
    let ok = json::decode(br#"{"id": 1, "ping": {}, "extra": [1, 2]}"#).unwrap();
    assert!(matches!(ok.op, Some(Op::Ping(_))));

    let unknown = json::decode(br#"{"id": 2, "fly": {}}"#).unwrap_err();
    assert_eq!(unknown.id, Some(2));
    let wrong_type =
        json::decode(br#"{"id": 3, "read": {"conv": "d:a:b", "seq": "x"}}"#).unwrap_err();
    assert_eq!(wrong_type.id, Some(3));
    let not_json = json::decode(b"\xff\x00garbage").unwrap_err();
    assert_eq!(not_json.id, None);
    let not_object = json::decode(b"[1,2,3]").unwrap_err();
    assert_eq!(not_object.id, None);
    assert!(binary::decode(b"\xff\xff\xff\xff\xff").is_err());
}

/// Pushes carry no id; absent optional fields are left out; u64 are JSON numbers.
#[test]
fn push_json_shape() {
    let frame = Frame {
        id: 0,
        op: Some(Op::Msg(Message {
            conv: "d:alice:bob".into(),
            seq: 12,
            id: "m1".into(),
            from: "alice".into(),
            kind: "text".into(),
            text: Some("hi".into()),
            ts: 1_700_000_000_000,
            client_msg_id: "c1".into(),
            ..Default::default()
        })),
    };
    let text = json::encode(&frame);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value.get("id"), None);
    let msg = &value["msg"];
    assert_eq!(msg["seq"], 12);
    assert_eq!(msg["ts"], 1_700_000_000_000u64);
    assert!(msg.get("file").is_none() && msg.get("meta").is_none());
    roundtrip(&frame);
}

/// In JSON `ok` is the body itself; its shape tells which reply it is.
#[test]
fn ok_is_the_body_itself() {
    let send = Frame {
        id: 9,
        op: Some(Op::Ok(OkReply {
            body: Some(Body::Send(SendOk {
                conv: "d:a:b".into(),
                seq: 1,
                id: "m".into(),
                ts: 5,
            })),
        })),
    };
    let text = json::encode(&send);
    assert_eq!(
        text,
        r#"{"id":9,"ok":{"conv":"d:a:b","seq":1,"id":"m","ts":5}}"#
    );
    roundtrip(&send);

    let empty_history = Frame {
        id: 10,
        op: Some(Op::Ok(OkReply {
            body: Some(Body::History(HistoryOk { msgs: vec![] })),
        })),
    };
    assert_eq!(
        json::encode(&empty_history),
        r#"{"id":10,"ok":{"msgs":[]}}"#
    );
    roundtrip(&empty_history);
    let ping = json::decode(br#"{"id":11,"ok":{}}"#).unwrap();
    assert!(matches!(
        ping.op,
        Some(Op::Ok(OkReply {
            body: Some(Body::Ping(_))
        }))
    ));
}

/// Signal data of any JSON type comes back as the same value.
#[test]
fn signal_data_round_trips_any_json_value() {
    for data in [
        r#""plain text""#,
        r#"{"type":"offer","sdp":"v=0"}"#,
        "[1,2]",
        "42",
    ] {
        let text = format!(r#"{{"id":1,"signal":{{"to":"bob","call":"c9","data":{data}}}}}"#);
        let frame = json::decode(text.as_bytes()).unwrap();
        let back: serde_json::Value = serde_json::from_str(&json::encode(&frame)).unwrap();
        let want: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["signal"]["data"], want, "{data}");
        roundtrip(&frame);
    }
}

/// The §13 replies are recognised by their JSON shape (`profiles`; the three
/// settings), round-trip in both encodings, and a profile leaves `last_seen`
/// and `deleted_user` out when absent.
#[test]
fn people_replies_and_pushes_round_trip() {
    use koi_proto::{ConvSettings, Profile, ProfilesOk, SettingsOk, UserRef};
    let profiles = Frame {
        id: 4,
        op: Some(Op::Ok(OkReply {
            body: Some(Body::Profiles(ProfilesOk {
                profiles: vec![Profile {
                    user: "alice".into(),
                    display_name: "Alice".into(),
                    last_seen: Some(17),
                    ..Profile::default()
                }],
            })),
        })),
    };
    let settings = Frame {
        id: 5,
        op: Some(Op::Ok(OkReply {
            body: Some(Body::Settings(SettingsOk {
                dm: "everyone".into(),
                presence: "nobody".into(),
                group_add: "contacts".into(),
            })),
        })),
    };
    let pushes = [
        Frame {
            id: 0,
            op: Some(Op::Profile(UserRef {
                user: "alice".into(),
            })),
        },
        Frame {
            id: 0,
            op: Some(Op::ConvSettings(ConvSettings {
                conv: "d:alice:bob".into(),
                muted_until: 9,
                pinned: true,
                archived: false,
            })),
        },
    ];
    for frame in [&profiles, &settings].into_iter().chain(&pushes) {
        roundtrip(frame);
    }
    let text = json::encode(&profiles);
    assert!(text.contains(r#""last_seen":17"#), "{text}");
    assert!(!text.contains("deleted_user"), "{text}");
}

/// §11: the lifecycle replies decode by their shape (`{seq}` is `edit`,
/// `{count, users}` is `read_by`), and an event message round-trips in both
/// encodings with `ref` spelled as in the protocol.
#[test]
fn lifecycle_replies_and_events() {
    for body in [
        Body::Edit(koi_proto::EditOk { seq: 7 }),
        Body::ReadBy(koi_proto::ReadByOk {
            count: 2,
            users: vec!["ann".into(), "bob".into()],
        }),
    ] {
        roundtrip(&Frame {
            id: 3,
            op: Some(Op::Ok(OkReply { body: Some(body) })),
        });
    }
    let event = Frame {
        id: 0,
        op: Some(Op::Msg(Message {
            conv: "d:a:b".into(),
            seq: 8,
            kind: "event".into(),
            event: Some(koi_proto::Event {
                r#type: "react".into(),
                r#ref: Some(7),
                emoji: Some("👍".into()),
                ..Default::default()
            }),
            ..Default::default()
        })),
    };
    assert!(json::encode(&event).contains(r#""event":{"type":"react","ref":7,"emoji":"👍"}"#));
    roundtrip(&event);
}
