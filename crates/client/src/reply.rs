//! Typed reply bodies.
//!
//! In JSON a reply's `ok` is the bare body and is recognised by its fields: an
//! empty `{}` decodes as `ping`. So a request's typed reply is taken from its
//! body when the body has the expected kind, and from `{}` when every field of
//! that kind may be empty (an empty history, no contacts, ...).

use koi_proto::ok::Body;
use koi_proto::{
    AuthOk, ContactsOk, EditOk, GroupInfoOk, GroupOk, HistoryOk, PresenceOk, ProfilesOk, ReadByOk,
    SearchOk, SendOk, SettingsOk, SignalOk, SyncOk,
};

use crate::error::{ClientError, Result};

/// A reply body type that a request may call for.
pub(crate) trait FromBody: Sized {
    const NAME: &'static str;
    fn from_body(body: Body) -> Option<Self>;
}

/// The reply `body` as `T`, or [`ClientError::UnexpectedReply`].
pub(crate) fn expect<T: FromBody>(body: Body) -> Result<T> {
    let got = body_name(&body);
    T::from_body(body).ok_or(ClientError::UnexpectedReply {
        expected: T::NAME,
        got,
    })
}

macro_rules! from_body {
    ($ty:ty, $variant:ident, $name:literal, empty_ok: $empty_ok:literal) => {
        impl FromBody for $ty {
            const NAME: &'static str = $name;
            fn from_body(body: Body) -> Option<Self> {
                match body {
                    Body::$variant(x) => Some(x),
                    Body::Ping(_) if $empty_ok => Some(Self::default()),
                    _ => None,
                }
            }
        }
    };
}

from_body!(AuthOk, Auth, "auth", empty_ok: false);
from_body!(SendOk, Send, "send", empty_ok: false);
from_body!(SyncOk, Sync, "sync", empty_ok: true);
from_body!(HistoryOk, History, "history", empty_ok: true);
from_body!(SignalOk, Signal, "signal", empty_ok: true);
from_body!(GroupOk, GroupCreate, "group_create", empty_ok: false);
from_body!(GroupInfoOk, GroupInfo, "group_info", empty_ok: false);
from_body!(ContactsOk, Contacts, "contacts", empty_ok: true);
from_body!(PresenceOk, Presence, "presence", empty_ok: true);
// Profiles, conversation settings, privacy, group settings (§13).
from_body!(ProfilesOk, Profiles, "profiles", empty_ok: true);

/// `settings` and `settings_set` answer the same body (in JSON both decode as
/// `settings`; protobuf names the operation).
impl FromBody for SettingsOk {
    const NAME: &'static str = "settings";
    fn from_body(body: Body) -> Option<Self> {
        match body {
            Body::Settings(x) | Body::SettingsSet(x) => Some(x),
            _ => None,
        }
    }
}
// Message lifecycle (§11).
from_body!(EditOk, Edit, "edit", empty_ok: false);
from_body!(ReadByOk, ReadBy, "read_by", empty_ok: true);

// Search (issue #22): in JSON `{msgs}` reads as `history`'s body, which it is
// shaped like.
impl FromBody for SearchOk {
    const NAME: &'static str = "search";
    fn from_body(body: Body) -> Option<Self> {
        match body {
            Body::Search(x) => Some(x),
            Body::History(h) => Some(Self { msgs: h.msgs }),
            Body::Ping(_) => Some(Self::default()),
            _ => None,
        }
    }
}

/// The name of a reply body, for errors and logs.
pub fn body_name(body: &Body) -> &'static str {
    match body {
        Body::Auth(_) => "auth",
        Body::Ping(_) => "empty",
        Body::Send(_) => "send",
        Body::Sync(_) => "sync",
        Body::History(_) => "history",
        Body::Read(_) => "read",
        Body::Typing(_) => "typing",
        Body::Recall(_) => "recall",
        Body::Signal(_) => "signal",
        Body::GroupCreate(_) => "group_create",
        Body::GroupInfo(_) => "group_info",
        Body::GroupJoin(_) => "group_join",
        Body::GroupAdd(_) => "group_add",
        Body::GroupKick(_) => "group_kick",
        Body::GroupLeave(_) => "group_leave",
        Body::ContactAdd(_) => "contact_add",
        Body::ContactRemove(_) => "contact_remove",
        Body::Contacts(_) => "contacts",
        Body::Block(_) => "block",
        Body::Unblock(_) => "unblock",
        Body::Presence(_) => "presence",
        // Profiles, conversation settings, privacy, group settings (§13).
        Body::ProfileSet(_) => "profile_set",
        Body::Profiles(_) => "profiles",
        Body::ConvSet(_) => "conv_set",
        Body::Settings(_) => "settings",
        Body::SettingsSet(_) => "settings_set",
        Body::GroupUpdate(_) => "group_update",
        Body::GroupRole(_) => "group_role",
        // Message lifecycle (§11).
        Body::Edit(_) => "edit",
        Body::Delete(_) => "delete",
        Body::React(_) => "react",
        Body::Unreact(_) => "unreact",
        Body::ReadBy(_) => "read_by",
        // Search (issue #22).
        Body::Search(_) => "search",
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::frame::Op;
    use koi_proto::{Empty, Encoding};

    use super::*;

    fn json_body(text: &str) -> Body {
        let frame = Encoding::Json
            .decode(format!(r#"{{"id":1,"ok":{text}}}"#).as_bytes())
            .unwrap();
        match frame.op {
            Some(Op::Ok(ok)) => ok.body.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_json_bodies_stand_for_empty_lists() {
        let history: HistoryOk = expect(json_body("{}")).unwrap();
        assert!(history.msgs.is_empty());
        let contacts: ContactsOk = expect(json_body("{}")).unwrap();
        assert!(contacts.contacts.is_empty());
        let err = expect::<SendOk>(json_body("{}")).unwrap_err();
        assert!(matches!(
            err,
            ClientError::UnexpectedReply {
                expected: "send",
                got: "empty"
            }
        ));
    }

    #[test]
    fn bodies_are_taken_by_kind() {
        let sent: SendOk =
            expect(json_body(r#"{"conv":"d:a:b","seq":3,"id":"m","ts":9}"#)).unwrap();
        assert_eq!(sent.seq, 3);
        let auth: AuthOk = expect(json_body(
            r#"{"user":"a","session":"s","heartbeat_s":30,"server_time":1}"#,
        ))
        .unwrap();
        assert_eq!(auth.heartbeat_s, 30);
        let sync: SyncOk = expect(Body::Sync(SyncOk::default())).unwrap();
        assert!(sync.convs.is_empty());
        assert!(expect::<GroupOk>(Body::Ping(Empty {})).is_err());
    }
}
