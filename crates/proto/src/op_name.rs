use crate::frame::Op;

/// Every operation's JSON key, as [`op_name`] gives it: a new operation goes
/// in both (a test checks that each one here is an operation).
pub const OP_NAMES: [&str; 43] = [
    "auth",
    "ping",
    "ok",
    "error",
    "send",
    "sync",
    "history",
    "read",
    "typing",
    "recall",
    "signal",
    "group_create",
    "group_info",
    "group_join",
    "group_add",
    "group_kick",
    "group_leave",
    "contact_add",
    "contact_remove",
    "contacts",
    "block",
    "unblock",
    "presence",
    "msg",
    "receipt",
    "recalled",
    "kicked",
    // Profiles, conversation settings, privacy, group settings (§13).
    "profile_set",
    "profiles",
    "conv_set",
    "settings",
    "settings_set",
    "group_update",
    "group_role",
    "profile",
    "conv_settings",
    // Message lifecycle (§11).
    "edit",
    "delete",
    "react",
    "unreact",
    "read_by",
    "deleted",
    // Search (issue #22).
    "search",
];

/// The JSON key of an operation, for logs, metrics and error messages.
pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Auth(_) => "auth",
        Op::Ping(_) => "ping",
        Op::Ok(_) => "ok",
        Op::Error(_) => "error",
        Op::Send(_) => "send",
        Op::Sync(_) => "sync",
        Op::History(_) => "history",
        Op::Read(_) => "read",
        Op::Typing(_) => "typing",
        Op::Recall(_) => "recall",
        Op::Signal(_) => "signal",
        Op::GroupCreate(_) => "group_create",
        Op::GroupInfo(_) => "group_info",
        Op::GroupJoin(_) => "group_join",
        Op::GroupAdd(_) => "group_add",
        Op::GroupKick(_) => "group_kick",
        Op::GroupLeave(_) => "group_leave",
        Op::ContactAdd(_) => "contact_add",
        Op::ContactRemove(_) => "contact_remove",
        Op::Contacts(_) => "contacts",
        Op::Block(_) => "block",
        Op::Unblock(_) => "unblock",
        Op::Presence(_) => "presence",
        Op::Msg(_) => "msg",
        Op::Receipt(_) => "receipt",
        Op::Recalled(_) => "recalled",
        Op::Kicked(_) => "kicked",
        // Profiles, conversation settings, privacy, group settings (§13).
        Op::ProfileSet(_) => "profile_set",
        Op::Profiles(_) => "profiles",
        Op::ConvSet(_) => "conv_set",
        Op::Settings(_) => "settings",
        Op::SettingsSet(_) => "settings_set",
        Op::GroupUpdate(_) => "group_update",
        Op::GroupRole(_) => "group_role",
        Op::Profile(_) => "profile",
        Op::ConvSettings(_) => "conv_settings",
        // Message lifecycle (§11).
        Op::Edit(_) => "edit",
        Op::Delete(_) => "delete",
        Op::React(_) => "react",
        Op::Unreact(_) => "unreact",
        Op::ReadBy(_) => "read_by",
        Op::Deleted(_) => "deleted",
        // Search (issue #22).
        Op::Search(_) => "search",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each listed key decodes as the operation that [`op_name`] names so,
    /// and no key is listed twice.
    #[test]
    fn every_listed_name_is_an_operation() {
        for name in OP_NAMES {
            let frame = crate::json::decode(format!(r#"{{"{name}": {{}}}}"#).as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(frame.op.as_ref().map(op_name), Some(name));
        }
        let mut names = OP_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OP_NAMES.len());
    }
}
