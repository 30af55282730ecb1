//! `send`, `sync`, `history`, `read`, `typing`, `recall`, `signal`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use koi_cluster::{ConnId, Push};
use koi_core::{ConvId, ErrorCode, FilterOutcome, HistoryRange, KoiError, Role, validate_send};
use koi_proto::frame::Op;
use koi_proto::{
    History, HistoryOk, Read, Recall, Recalled, Receipt, Send, SendOk, Signal, SignalOk, SyncOk,
    Typing,
};
use koi_store::NewMessage;

use super::authorize::Access;
use super::events::{EVENT_KIND, about};
use super::{Caller, Logic};

/// Typing indicators are relayed in groups up to this size only.
const TYPING_MAX_MEMBERS: u32 = 100;

/// The longest `signal.call` (a call id), in bytes.
const MAX_CALL_BYTES: usize = 128;

impl Logic {
    /// `send`, idempotent on `(sender, client_msg_id)` even when a check would
    /// now refuse the repeat (the sender was blocked or kicked since, the filter
    /// changed): the first reply is what a retry gets.
    pub(super) async fn send(&self, caller: &Caller, send: Send) -> Result<SendOk, KoiError> {
        let cmid = send.client_msg_id.clone();
        match self.send_checked(caller, send).await {
            Err(e) if !cmid.is_empty() && e.code != ErrorCode::Unavailable => {
                match self.store.sent_message(caller.user.as_str(), &cmid).await {
                    Ok(Some(m)) => Ok(SendOk {
                        conv: m.conv,
                        seq: m.seq,
                        id: m.id,
                        ts: m.ts,
                    }),
                    _ => Err(e),
                }
            }
            result => result,
        }
    }

    async fn send_checked(&self, caller: &Caller, send: Send) -> Result<SendOk, KoiError> {
        validate_send(&send)?;
        let me = &caller.user;
        let conv = match (&send.to, &send.conv) {
            (Some(to), _) => {
                let peer = self.existing_user(to).await?;
                if &peer == me {
                    return Err(KoiError::bad_request(
                        "cannot send a direct message to yourself",
                    ));
                }
                ConvId::direct(me, &peer)
            }
            (None, Some(conv)) => {
                let conv = self.authorize(me, conv, Access::Write).await?;
                // A direct conversation exists implicitly only between two users.
                if let Some(peer) = conv.peer_of(me) {
                    self.existing_user(peer.as_str()).await?;
                }
                conv
            }
            (None, None) => unreachable!("validate_send checked"),
        };
        if let Some(peer) = conv.peer_of(me) {
            self.check_dm_start(me, peer, &conv).await?;
        }
        let text = self.filtered(send.text)?;
        let extra = self
            .references(&conv, me, send.reply_to, send.mentions)
            .await?;
        let file = match send.file {
            Some(file) => {
                let no_file = || KoiError::bad_request(format!("no file {}", file.file_id));
                let record = self.store.file(&file.file_id).await?.ok_or_else(no_file)?;
                // Only a file the sender may read can be passed on: knowing
                // an id (from a recalled message, a group one was kicked
                // from) must not give access back.
                if !self.may_read_file(me, &record).await? {
                    return Err(no_file());
                }
                Some(koi_proto::File {
                    file_id: record.id,
                    name: record.name,
                    size: record.size,
                    mime: record.mime,
                })
            }
            None => None,
        };
        let first_known = self.first_known(&conv);
        // A direct message's recipient may have blocked the sender: the store
        // checks that as part of the append (no read of its own per send). The
        // append also records the mentions and moves the sender's read
        // cursor: one's own message is read (§11; no `receipt` push for it).
        let peer = conv.peer_of(me).cloned();
        let appended = self
            .store
            .append_sent(NewMessage {
                conv: conv.clone(),
                from: me.to_string(),
                kind: send.kind,
                text,
                file,
                meta: send.meta,
                client_msg_id: send.client_msg_id,
                origin: caller.conn,
                extra,
            })
            .await?;
        let Some(appended) = appended else {
            let peer = peer.map(|p| p.to_string()).unwrap_or_default();
            return Err(KoiError::new(
                ErrorCode::Blocked,
                format!("{peer} has blocked you"),
            ));
        };
        if let Some(conv) = first_known {
            self.conv_started(conv);
        }
        let m = appended.message;
        Ok(SendOk {
            conv: m.conv,
            seq: m.seq,
            id: m.id,
            ts: m.ts,
        })
    }

    /// `text` through the word filter: as it is, masked, or refused.
    pub(super) fn filtered(&self, text: Option<String>) -> Result<Option<String>, KoiError> {
        let Some(text) = text else {
            return Ok(None);
        };
        let filter = self.filter.read().clone();
        Ok(match filter.apply(&text)? {
            FilterOutcome::Clean => Some(text),
            FilterOutcome::Masked(masked) => Some(masked),
        })
    }

    pub(super) async fn sync(&self, caller: &Caller) -> Result<SyncOk, KoiError> {
        let mut convs = self.store.conversations(&caller.user).await?;
        // Only conversations with something past the cursor are counted.
        let behind: Vec<usize> = (0..convs.len())
            .filter(|&i| convs[i].last_seq > convs[i].read_seq)
            .collect();
        let cursors = behind
            .iter()
            .map(|&i| {
                let c = &convs[i];
                Ok((ConvId::parse(&c.conv)?, c.read_seq, c.last_seq))
            })
            .collect::<Result<Vec<_>, KoiError>>()?;
        if !cursors.is_empty() {
            let counts = self.store.unread_counts(&caller.user, &cursors).await?;
            for (&i, (unread, mentions)) in behind.iter().zip(counts) {
                convs[i].unread = unread;
                convs[i].mentions = mentions;
            }
        }
        let convs = self.with_conv_settings(&caller.user, convs).await?;
        Ok(SyncOk { convs })
    }

    pub(super) async fn history(
        &self,
        caller: &Caller,
        req: History,
    ) -> Result<HistoryOk, KoiError> {
        let conv = self
            .authorize(&caller.user, &req.conv, Access::Read)
            .await?;
        let msgs = self
            .view_history(&caller.user, &conv, HistoryRange::from_request(&req))
            .await?;
        Ok(HistoryOk { msgs })
    }

    pub(super) async fn read(&self, caller: &Caller, req: Read) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Read).await?;
        // A direct conversation exists implicitly only with users who exist:
        // a cursor with anyone else is `not_found` and stores nothing.
        if let Some(peer) = conv.peer_of(me) {
            self.existing_user(peer.as_str()).await?;
        }
        let last = self.store.last_seq(&conv).await?;
        let seq = self.store.set_read(me, &conv, req.seq.min(last)).await?;
        let push = Arc::new(Push::new(Op::Receipt(Receipt {
            conv: conv.to_string(),
            user: me.to_string(),
            seq,
        })));
        // The other member of a direct conversation, and the reader's other devices.
        let mut users = vec![me.to_string()];
        if let Some(peer) = conv.peer_of(me) {
            users.push(peer.to_string());
        }
        self.router
            .to_users(&users, push, caller.conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn typing(&self, caller: &Caller, req: Typing) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Write).await?;
        let push = Arc::new(Push::new(Op::Typing(Typing {
            conv: conv.to_string(),
            user: Some(me.to_string()),
        })));
        // A user who blocked the typist never sees them type (§13).
        match &conv {
            ConvId::Direct(..) => {
                let peer = conv.peer_of(me).expect("authorized direct conversation");
                if !self.store.is_blocked(peer, me).await? {
                    self.router
                        .to_user(peer.as_str(), push, None)
                        .await
                        .map_err(unavailable)?;
                }
            }
            ConvId::Group(id) => {
                let size = self.store.group(id).await?.map_or(0, |g| g.size);
                if size > TYPING_MAX_MEMBERS {
                    return Ok(());
                }
                let blockers = self.store.blocked_by(me).await?;
                let sent = if blockers.is_empty() {
                    self.router
                        .to_group(id, push, None, Some(me.as_str()))
                        .await
                } else {
                    let members: Vec<String> = self
                        .store
                        .group_members(id, TYPING_MAX_MEMBERS)
                        .await?
                        .into_iter()
                        .map(|(user, _)| user)
                        .filter(|user| user != me.as_str() && !blockers.contains(user))
                        .collect();
                    self.router.to_users(&members, push, None).await
                };
                sent.map_err(unavailable)?;
            }
            ConvId::System(_) => {}
        }
        Ok(())
    }

    pub(super) async fn recall(&self, caller: &Caller, req: Recall) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Write).await?;
        let message = self
            .store
            .message(&conv, req.seq)
            .await?
            .ok_or_else(|| KoiError::not_found(format!("no message {} in {conv}", req.seq)))?;
        // A group's owner and admins moderate: any message, at any time (§11).
        let moderator = match &conv {
            ConvId::Group(id) => matches!(
                self.store.member_role(id, me).await?,
                Some(Role::Owner | Role::Admin)
            ),
            _ => false,
        };
        if message.from != me.as_str() && !moderator {
            return Err(KoiError::forbidden("only the sender may recall a message"));
        }
        if message.kind == "recalled" {
            return Ok(());
        }
        if message.kind == EVENT_KIND {
            return Err(KoiError::forbidden("an event cannot be recalled"));
        }
        let age_ms = now_ms().saturating_sub(message.ts);
        if !moderator && age_ms >= self.limits.recall_window_s * 1000 {
            return Err(KoiError::forbidden(format!(
                "the recall window of {} s has passed",
                self.limits.recall_window_s
            )));
        }
        self.store.recall(&conv, req.seq).await?;
        self.append_event(&conv, me.as_str(), about("recall", req.seq), caller.conn)
            .await?;
        let push = Arc::new(Push::new(Op::Recalled(Recalled {
            conv: conv.to_string(),
            seq: req.seq,
            by: me.to_string(),
        })));
        self.deliver_conv(&conv, push, caller.conn).await?;
        Ok(())
    }

    pub(super) async fn signal(&self, caller: &Caller, req: Signal) -> Result<SignalOk, KoiError> {
        let me = &caller.user;
        let to = req
            .to
            .as_deref()
            .ok_or_else(|| KoiError::bad_request("signal needs `to`"))?;
        let to = self.existing_user(to).await?;
        if self.store.is_blocked(&to, me).await? {
            return Err(KoiError::new(
                ErrorCode::Blocked,
                format!("{to} has blocked you"),
            ));
        }
        if req.call.len() > MAX_CALL_BYTES {
            return Err(KoiError::new(
                ErrorCode::TooLarge,
                format!("signal call id is over {MAX_CALL_BYTES} bytes"),
            ));
        }
        if req.data.len() > koi_core::MAX_TEXT_BYTES * 2 {
            return Err(KoiError::new(
                ErrorCode::TooLarge,
                "signal data is over 32 KiB",
            ));
        }
        let push = Arc::new(Push::new(Op::Signal(Signal {
            to: None,
            from: Some(me.to_string()),
            call: req.call,
            data: req.data,
            data_json: req.data_json,
        })));
        let delivered = self
            .router
            .to_user(to.as_str(), push, caller.conn)
            .await
            .map_err(unavailable)?;
        Ok(SignalOk { delivered })
    }

    /// Pushes to every online device of every member of `conv` except `except`.
    pub(super) async fn deliver_conv(
        &self,
        conv: &ConvId,
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, KoiError> {
        let reached = match conv {
            ConvId::Direct(a, b) => {
                self.router
                    .to_users(&[a.to_string(), b.to_string()], push, except)
                    .await
            }
            ConvId::Group(id) => self.router.to_group(id, push, except, None).await,
            ConvId::System(user) => self.router.to_user(user.as_str(), push, except).await,
        };
        reached.map_err(unavailable)
    }
}

pub(super) fn unavailable(e: koi_cluster::ClusterError) -> KoiError {
    KoiError::new(ErrorCode::Unavailable, e.to_string())
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
