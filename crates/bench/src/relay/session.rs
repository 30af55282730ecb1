//! One connection to the null relay: `auth` taken on trust, then each `send`
//! answered and relayed, in arrival order, as a node's session does. Enough
//! of the group requests for `koi bench group` (`group_create`, `group_add`,
//! `group_info`, and `sync`, which knows no conversation: nothing is kept).
//!
//! A connection speaks the encoding of its `auth` frame. Two tasks, as in the
//! node: this reader loop, and a writer draining the connection's bounded
//! queue, one flush per batch.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{
    AuthOk, Empty, Encoding, Error, Frame, Group, GroupAdd, GroupCreate, GroupInfoOk, GroupOk,
    GroupRef, Message, Ok as OkReply, Send, SendOk, SyncOk,
};
use tokio::sync::mpsc;

use super::hub::{Hub, Peer, direct_conv};
use super::socket::{Reader, Writer};

/// Frames gathered into one write.
const WRITE_BATCH: usize = 64;
/// Frames that may wait for a connection's writer; past it, whoever pushes to
/// it waits (the relay never drops a message).
const QUEUE: usize = 1024;
/// What the `auth` reply tells clients to ping at, seconds.
const HEARTBEAT_S: u32 = 30;

/// Serves one connection until it closes.
pub async fn serve(hub: Arc<Hub>, mut reader: Reader, writer: Writer) {
    let Some((bytes, encoding)) = reader.next().await else {
        return;
    };
    let (queue, outgoing) = mpsc::channel(QUEUE);
    let writing = tokio::spawn(write_loop(writer, outgoing, encoding));
    let (auth_id, user) = match encoding.decode(&bytes) {
        Ok(Frame {
            id,
            op: Some(Op::Auth(auth)),
        }) if !auth.token.is_empty() => (id, auth.token),
        Ok(Frame { id, .. }) => {
            let refusal = error(id, "unauthorized", "the first frame must be auth");
            let _ = queue.send(encoding.encode(&refusal)).await;
            return;
        }
        Err(e) => {
            let refusal = error(e.id.unwrap_or(0), "unauthorized", &e.reason);
            let _ = queue.send(encoding.encode(&refusal)).await;
            return;
        }
    };
    // The token is the username (the relay's login hands it out as such).
    let me = hub.join(&user, encoding, queue.clone());
    let welcome = reply(
        auth_id,
        Body::Auth(AuthOk {
            user: user.clone(),
            session: format!("{:016x}", me.id),
            heartbeat_s: HEARTBEAT_S,
            server_time: now_ms(),
        }),
    );
    let mut open = queue.send(encoding.encode(&welcome)).await.is_ok();
    while open && let Some((bytes, frame_encoding)) = reader.next().await {
        let answer = match frame_encoding.decode(&bytes) {
            Ok(Frame {
                id,
                op: Some(Op::Send(send)),
            }) => relay(&hub, &user, me.id, id, send).await,
            Ok(Frame {
                id,
                op: Some(Op::Ping(_)),
            }) => reply(id, Body::Ping(Empty {})),
            Ok(Frame {
                id,
                op: Some(Op::Sync(_)),
            }) => reply(id, Body::Sync(SyncOk { convs: Vec::new() })),
            Ok(Frame {
                id,
                op: Some(Op::GroupCreate(create)),
            }) => group_create(&hub, &user, id, create),
            Ok(Frame {
                id,
                op: Some(Op::GroupAdd(add)),
            }) => group_add(&hub, id, add),
            Ok(Frame {
                id,
                op: Some(Op::GroupInfo(group)),
            }) => group_info(&hub, id, group),
            Ok(Frame { id, .. }) => error(
                id,
                "bad_request",
                "the null relay only relays send and sets groups up",
            ),
            Err(e) => error(e.id.unwrap_or(0), "bad_request", &e.reason),
        };
        open = queue.send(encoding.encode(&answer)).await.is_ok();
    }
    hub.leave(&user, me.id);
    drop((me, queue));
    let _ = writing.await;
}

fn group_create(hub: &Hub, user: &str, id: u64, create: GroupCreate) -> Frame {
    let group = hub.create_group(user, &create.members);
    let size = hub.group_size(&group).unwrap_or(0) as u32;
    reply(
        id,
        Body::GroupCreate(GroupOk {
            group: Some(Group {
                id: group,
                name: create.name,
                owner: user.to_owned(),
                public: create.public,
                size,
                ..Group::default()
            }),
        }),
    )
}

fn group_add(hub: &Hub, id: u64, add: GroupAdd) -> Frame {
    if hub.add_members(&add.group, add.users.iter().map(String::as_str)) {
        reply(id, Body::GroupAdd(Empty {}))
    } else {
        error(id, "not_found", "no such group")
    }
}

fn group_info(hub: &Hub, id: u64, group: GroupRef) -> Frame {
    let Some(size) = hub.group_size(&group.group) else {
        return error(id, "not_found", "no such group");
    };
    // Members are not listed: the bench only reads the size.
    reply(
        id,
        Body::GroupInfo(GroupInfoOk {
            group: Some(Group {
                id: group.group,
                size: size as u32,
                ..Group::default()
            }),
            members: Vec::new(),
        }),
    )
}

/// Gives `send` the next seq of its conversation, pushes it as `msg` to every
/// other connection of the conversation's members (both users of a direct
/// one, the members online of a group), and returns the reply.
async fn relay(hub: &Hub, user: &str, me: u64, id: u64, send: Send) -> Frame {
    let (conv, peers) = match (
        &send.to,
        send.conv.as_deref().and_then(|c| c.strip_prefix("g:")),
    ) {
        (Some(to), _) => (direct_conv(user, to), hub.peers_of([user, to], me)),
        (None, Some(group)) => match hub.group_peers(group, user, me) {
            Some(peers) => (format!("g:{group}"), peers),
            None => return error(id, "forbidden", "not a member of this group"),
        },
        (None, None) => {
            return error(
                id,
                "bad_request",
                "the null relay takes `to` or a group `conv`",
            );
        }
    };
    let seq = hub.next_seq(&conv);
    let ts = now_ms();
    let message_id = format!("{conv}#{seq}");
    let answer = reply(
        id,
        Body::Send(SendOk {
            conv: conv.clone(),
            seq,
            id: message_id.clone(),
            ts,
        }),
    );
    let push = Frame {
        id: 0,
        op: Some(Op::Msg(Message {
            conv,
            seq,
            id: message_id,
            from: user.to_owned(),
            kind: send.kind,
            text: send.text,
            file: send.file,
            meta: send.meta,
            ts,
            client_msg_id: send.client_msg_id,
            ..Message::default()
        })),
    };
    // Encoded once per encoding, shared by every connection that speaks it.
    let (mut json, mut protobuf) = (None::<Bytes>, None::<Bytes>);
    for Peer {
        encoding, queue, ..
    } in peers
    {
        let slot = match encoding {
            Encoding::Json => &mut json,
            Encoding::Protobuf => &mut protobuf,
        };
        let bytes = slot.get_or_insert_with(|| encoding.encode(&push)).clone();
        // A closed queue is a connection that just left.
        let _ = queue.send(bytes).await;
    }
    answer
}

async fn write_loop(mut writer: Writer, mut outgoing: mpsc::Receiver<Bytes>, encoding: Encoding) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    while outgoing.recv_many(&mut batch, WRITE_BATCH).await > 0 {
        if writer.write(&batch, encoding).await.is_err() {
            return;
        }
        batch.clear();
    }
}

fn reply(id: u64, body: Body) -> Frame {
    Frame {
        id,
        op: Some(Op::Ok(OkReply { body: Some(body) })),
    }
}

fn error(id: u64, code: &str, message: &str) -> Frame {
    Frame {
        id,
        op: Some(Op::Error(Error {
            code: code.to_owned(),
            message: message.to_owned(),
        })),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
