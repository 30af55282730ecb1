use crate::frame::Op;

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
    }
}
