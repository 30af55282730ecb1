//! What a `send` refers to (§11): the message it replies to and the users it
//! mentions, checked and turned into what is stored with the message.

use koi_core::{ConvId, ErrorCode, KoiError, Role, UserId};
use koi_proto::ReplyPreview;
use koi_store::MessageExtra;

use super::Logic;

/// A reply preview's text is cut to this many characters.
pub(crate) const PREVIEW_CHARS: usize = 200;

/// At most this many mentions per message.
pub(crate) const MAX_MENTIONS: usize = 50;

/// The mention of everyone in a group; owner and admins only.
pub(crate) const MENTION_ALL: &str = "all";

impl Logic {
    /// The reply and mentions of a message `me` sends to `conv`: `not_found`
    /// for a `reply_to` that is no seq of `conv`; `bad_request` for too many
    /// mentions or one of a user who is not in the conversation; `forbidden`
    /// for `all` from a member who is neither owner nor admin (or outside a
    /// group).
    pub(super) async fn references(
        &self,
        conv: &ConvId,
        me: &UserId,
        reply_to: Option<u64>,
        mut mentions: Vec<String>,
    ) -> Result<MessageExtra, KoiError> {
        let reply_preview = match reply_to {
            Some(seq) => Some(self.preview(conv, me, seq).await?),
            None => None,
        };
        // A field over its own bound (§9).
        if mentions.len() > MAX_MENTIONS {
            return Err(KoiError::new(
                ErrorCode::TooLarge,
                format!("a message mentions at most {MAX_MENTIONS} users"),
            ));
        }
        mentions.sort_unstable();
        mentions.dedup();
        for name in &mentions {
            self.check_mention(conv, me, name).await?;
        }
        Ok(MessageExtra {
            event: None,
            reply_to,
            reply_preview,
            mentions,
        })
    }

    /// The preview of message `seq` of `conv` as it is now.
    async fn preview(
        &self,
        conv: &ConvId,
        me: &UserId,
        seq: u64,
    ) -> Result<ReplyPreview, KoiError> {
        let mut original = self.store.message(conv, seq).await?.ok_or_else(|| {
            KoiError::not_found(format!("no message {seq} in {conv} to reply to"))
        })?;
        self.show_current(me, conv, std::slice::from_mut(&mut original))
            .await?;
        let text = original
            .text
            .filter(|_| original.kind != "recalled")
            .map(|t| t.chars().take(PREVIEW_CHARS).collect());
        Ok(ReplyPreview {
            from: original.from,
            kind: original.kind,
            text,
        })
    }

    async fn check_mention(&self, conv: &ConvId, me: &UserId, name: &str) -> Result<(), KoiError> {
        let outside = || KoiError::bad_request(format!("{name} is not in {conv}"));
        match conv {
            ConvId::Group(id) if name == MENTION_ALL => {
                match self.store.member_role(id, me).await? {
                    Some(Role::Owner | Role::Admin) => Ok(()),
                    _ => Err(KoiError::forbidden(
                        "only the group's owner and admins may mention `all`",
                    )),
                }
            }
            _ if name == MENTION_ALL => Err(KoiError::forbidden(
                "`all` may only be mentioned in a group",
            )),
            ConvId::Group(id) => {
                let user = UserId::parse(name).map_err(|_| outside())?;
                match self.store.member_role(id, &user).await? {
                    Some(_) => Ok(()),
                    None => Err(outside()),
                }
            }
            _ => {
                let user = UserId::parse(name).map_err(|_| outside())?;
                if conv.peer_of(&user).is_some() {
                    Ok(())
                } else {
                    Err(outside())
                }
            }
        }
    }
}
