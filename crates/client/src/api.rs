//! The protocol's requests as typed methods, for anything that can send a
//! request: [`Connection`](crate::Connection) and [`Client`](crate::Client).
//!
//! `use koi_client::Api;` to call them.

use std::future::Future;
use std::sync::Arc;

use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{
    ContactsOk, ConvSummary, Edit, EditOk, Empty, Group, GroupAdd, GroupCreate, GroupInfoOk,
    GroupKick, GroupOk, GroupRef, History, HistoryOk, Message, MessageRef, Presence, PresenceOk,
    React, Read, ReadByOk, Recall, Search, SearchOk, SendOk, Signal, SignalOk, SyncOk, Typing,
    UserRef,
};
use koi_proto::{
    ConvSet, GroupRole, GroupUpdate, Profile, ProfileSet, Profiles, ProfilesOk, SettingsOk,
    SettingsSet,
};

use crate::error::{ClientError, Result};
use crate::reply::expect;

/// A `send` of a text message. `to_or_conv` is a conversation when it holds a
/// `:` (`d:a:b`, `g:id`), else a username (the direct conversation with them).
pub fn text_send(to_or_conv: &str, client_msg_id: &str, text: &str) -> koi_proto::Send {
    let (to, conv) = if to_or_conv.contains(':') {
        (None, Some(to_or_conv.to_owned()))
    } else {
        (Some(to_or_conv.to_owned()), None)
    };
    koi_proto::Send {
        to,
        conv,
        client_msg_id: client_msg_id.to_owned(),
        kind: "text".to_owned(),
        text: Some(text.to_owned()),
        file: None,
        meta: None,
        ..koi_proto::Send::default()
    }
}

fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

fn user_ref(user: &str) -> UserRef {
    UserRef {
        user: user.to_owned(),
    }
}

fn group_ref(group: &str) -> GroupRef {
    GroupRef {
        group: group.to_owned(),
    }
}

/// Requests over a connection. Implementors provide [`Api::request`]; every other
/// method builds the operation, sends it and types the reply.
///
/// Methods whose reply is `{}` return `()`. Any `error` reply is
/// [`ClientError::Server`] with its code.
pub trait Api: Sync {
    /// Sends `op` as a request and waits for its reply body.
    fn request(&self, op: Op) -> impl Future<Output = Result<Body>> + Send;

    /// `send`: any message.
    fn send(&self, send: koi_proto::Send) -> impl Future<Output = Result<SendOk>> + Send {
        let reply = self.request(Op::Send(send));
        async move { expect(reply.await?) }
    }

    /// `send` of a text message (see [`text_send`] for `to_or_conv`).
    fn send_text(
        &self,
        to_or_conv: &str,
        client_msg_id: &str,
        text: &str,
    ) -> impl Future<Output = Result<SendOk>> + Send {
        self.send(text_send(to_or_conv, client_msg_id, text))
    }

    /// `sync`: the user's conversations, newest activity first.
    fn sync(&self) -> impl Future<Output = Result<Vec<ConvSummary>>> + Send {
        let reply = self.request(Op::Sync(Empty {}));
        async move { Ok(expect::<SyncOk>(reply.await?)?.convs) }
    }

    /// `history`: messages of `conv`, ascending by seq (see the protocol for the
    /// meaning of `after`, `before` and `limit`).
    fn history(
        &self,
        conv: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> impl Future<Output = Result<Vec<Message>>> + Send {
        let reply = self.request(Op::History(History {
            conv: conv.to_owned(),
            after,
            before,
            limit,
        }));
        async move { Ok(expect::<HistoryOk>(reply.await?)?.msgs) }
    }

    /// `read`: moves the read cursor of `conv` to `seq`.
    fn read(&self, conv: &str, seq: u64) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Read(Read {
            conv: conv.to_owned(),
            seq,
        })))
    }

    /// `typing` in `conv`.
    fn typing(&self, conv: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Typing(Typing {
            conv: conv.to_owned(),
            user: None,
        })))
    }

    /// `recall` of the message `seq` of `conv`.
    fn recall(&self, conv: &str, seq: u64) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Recall(Recall {
            conv: conv.to_owned(),
            seq,
        })))
    }

    /// `signal`: relays `data` of call `call` to `to`; returns the devices reached.
    fn signal(&self, to: &str, call: &str, data: &str) -> impl Future<Output = Result<u32>> + Send {
        let reply = self.request(Op::Signal(Signal {
            to: Some(to.to_owned()),
            from: None,
            call: call.to_owned(),
            data: data.to_owned(),
            data_json: false,
        }));
        async move { Ok(expect::<SignalOk>(reply.await?)?.delivered) }
    }

    /// `ping`.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Ping(Empty {})))
    }

    /// `group_create`; the group's `id` is bare: its conversation is `g:<id>`.
    fn group_create<S: Into<String>>(
        &self,
        name: &str,
        members: impl IntoIterator<Item = S>,
        public: bool,
    ) -> impl Future<Output = Result<Group>> + Send {
        let reply = self.request(Op::GroupCreate(GroupCreate {
            name: name.to_owned(),
            members: strings(members),
            public,
        }));
        async move {
            expect::<GroupOk>(reply.await?)?
                .group
                .ok_or(ClientError::UnexpectedReply {
                    expected: "group_create",
                    got: "group_create without group",
                })
        }
    }

    /// `group_info`: the group and its first members.
    fn group_info(&self, group: &str) -> impl Future<Output = Result<GroupInfoOk>> + Send {
        let reply = self.request(Op::GroupInfo(group_ref(group)));
        async move { expect(reply.await?) }
    }

    /// `group_join` of a public group.
    fn group_join(&self, group: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupJoin(group_ref(group))))
    }

    /// `group_add`.
    fn group_add<S: Into<String>>(
        &self,
        group: &str,
        users: impl IntoIterator<Item = S>,
    ) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupAdd(GroupAdd {
            group: group.to_owned(),
            users: strings(users),
            role: None,
        })))
    }

    /// `group_add` with a role (Koi extension, owner only): adds the users as
    /// `admin` or `member`, or sets the role of those already in the group.
    fn group_set_role<S: Into<String>>(
        &self,
        group: &str,
        users: impl IntoIterator<Item = S>,
        role: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupAdd(GroupAdd {
            group: group.to_owned(),
            users: strings(users),
            role: Some(role.to_owned()),
        })))
    }

    /// `group_kick`.
    fn group_kick(&self, group: &str, user: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupKick(GroupKick {
            group: group.to_owned(),
            user: user.to_owned(),
        })))
    }

    /// `group_leave`.
    fn group_leave(&self, group: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupLeave(group_ref(group))))
    }

    /// `contact_add`.
    fn contact_add(&self, user: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::ContactAdd(user_ref(user))))
    }

    /// `contact_remove`.
    fn contact_remove(&self, user: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::ContactRemove(user_ref(user))))
    }

    /// `contacts`.
    fn contacts(&self) -> impl Future<Output = Result<Vec<koi_proto::Contact>>> + Send {
        let reply = self.request(Op::Contacts(Empty {}));
        async move { Ok(expect::<ContactsOk>(reply.await?)?.contacts) }
    }

    /// `block`.
    fn block(&self, user: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Block(user_ref(user))))
    }

    /// `unblock`.
    fn unblock(&self, user: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Unblock(user_ref(user))))
    }

    /// `presence`: which of `users` are online.
    fn presence<S: Into<String>>(
        &self,
        users: impl IntoIterator<Item = S>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        let reply = self.request(Op::Presence(Presence {
            users: strings(users),
            user: None,
            online: None,
        }));
        async move { Ok(expect::<PresenceOk>(reply.await?)?.online) }
    }

    // ---- profiles, conversation settings, privacy, group settings (§13) ----

    /// `profile_set`: each field given is set, `""` clears it.
    fn profile_set(&self, profile: ProfileSet) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::ProfileSet(profile)))
    }

    /// `profiles` of `users` (unknown users are left out).
    fn profiles<S: Into<String>>(
        &self,
        users: impl IntoIterator<Item = S>,
    ) -> impl Future<Output = Result<Vec<Profile>>> + Send {
        let reply = self.request(Op::Profiles(Profiles {
            users: strings(users),
        }));
        async move { Ok(expect::<ProfilesOk>(reply.await?)?.profiles) }
    }

    /// `conv_set`: the caller's settings of one conversation.
    fn conv_set(&self, settings: ConvSet) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::ConvSet(settings)))
    }

    /// `settings`: the caller's privacy settings.
    fn settings(&self) -> impl Future<Output = Result<SettingsOk>> + Send {
        let reply = self.request(Op::Settings(Empty {}));
        async move { expect(reply.await?) }
    }

    /// `settings_set`: changes the fields given; returns all of them.
    fn settings_set(&self, set: SettingsSet) -> impl Future<Output = Result<SettingsOk>> + Send {
        let reply = self.request(Op::SettingsSet(set));
        async move { expect(reply.await?) }
    }

    /// `group_update`: owner or admins.
    fn group_update(&self, update: GroupUpdate) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupUpdate(update)))
    }

    /// `group_role`: owner only; `role` is `admin`, `member` or `owner`.
    fn group_role(
        &self,
        group: &str,
        user: &str,
        role: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::GroupRole(GroupRole {
            group: group.to_owned(),
            user: user.to_owned(),
            role: role.to_owned(),
        })))
    }

    // ---- message lifecycle (§11) ---------------------------------------------

    /// `edit` of message `seq` of `conv`: new `text` and/or `meta`; returns
    /// the seq of the `edit` event.
    fn edit(
        &self,
        conv: &str,
        seq: u64,
        text: Option<&str>,
        meta: Option<&str>,
    ) -> impl Future<Output = Result<u64>> + Send {
        let reply = self.request(Op::Edit(Edit {
            conv: conv.to_owned(),
            seq,
            text: text.map(str::to_owned),
            meta: meta.map(str::to_owned),
        }));
        async move { Ok(expect::<EditOk>(reply.await?)?.seq) }
    }

    /// `delete` ("delete for me") of message `seq` of `conv`.
    fn delete(&self, conv: &str, seq: u64) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Delete(message_ref(conv, seq))))
    }

    /// `react` with `emoji` to message `seq` of `conv`.
    fn react(&self, conv: &str, seq: u64, emoji: &str) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::React(react(conv, seq, emoji))))
    }

    /// `unreact`: takes back the reaction `emoji` to message `seq` of `conv`.
    fn unreact(
        &self,
        conv: &str,
        seq: u64,
        emoji: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        unit(self.request(Op::Unreact(react(conv, seq, emoji))))
    }

    /// `read_by`: the other members who read message `seq` of `conv`.
    fn read_by(&self, conv: &str, seq: u64) -> impl Future<Output = Result<ReadByOk>> + Send {
        let reply = self.request(Op::ReadBy(message_ref(conv, seq)));
        async move { expect(reply.await?) }
    }

    // ---- search (issue #22) ----

    /// `search`: messages the caller may read matching every word of `req.q`,
    /// newest first.
    fn search(&self, req: Search) -> impl Future<Output = Result<Vec<Message>>> + Send {
        let reply = self.request(Op::Search(req));
        async move { Ok(expect::<SearchOk>(reply.await?)?.msgs) }
    }
}

fn message_ref(conv: &str, seq: u64) -> MessageRef {
    MessageRef {
        conv: conv.to_owned(),
        seq,
    }
}

fn react(conv: &str, seq: u64, emoji: &str) -> React {
    React {
        conv: conv.to_owned(),
        seq,
        emoji: emoji.to_owned(),
    }
}

async fn unit(reply: impl Future<Output = Result<Body>>) -> Result<()> {
    reply.await.map(drop)
}

impl<T: Api + Send> Api for Arc<T> {
    fn request(&self, op: Op) -> impl Future<Output = Result<Body>> + Send {
        (**self).request(op)
    }
}

impl Api for crate::Connection {
    fn request(&self, op: Op) -> impl Future<Output = Result<Body>> + Send {
        crate::Connection::request(self, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_send_targets_a_user_or_a_conversation() {
        let direct = text_send("bob", "c1", "hi");
        assert_eq!(
            (direct.to.as_deref(), direct.conv.as_deref()),
            (Some("bob"), None)
        );
        assert_eq!(direct.kind, "text");
        let group = text_send("g:42", "c2", "yo");
        assert_eq!((group.to, group.conv.as_deref()), (None, Some("g:42")));
    }
}
