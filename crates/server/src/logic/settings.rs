//! `settings` and `settings_set` (§13): a user's privacy settings.
//!
//! - `dm` (`everyone | contacts`): who may start a direct conversation with
//!   the user; `contacts` are the users they added themselves (mutual or
//!   requested by them). A conversation that holds a message goes on.
//! - `presence` (`contacts | nobody`): who sees them online and their
//!   `last_seen`; `contacts` are mutual contacts and co-members of small
//!   groups (`presence_visibility.rs`).
//! - `group_add` (`everyone | contacts`): who may add them to a group;
//!   `contacts` as for `dm`.

use std::sync::Arc;

use koi_cluster::Push;
use koi_core::{Audience, KoiError, Privacy, UserId};
use koi_proto::frame::Op;
use koi_proto::{Presence, SettingsOk, SettingsSet};
use koi_store::PrivacyUpdate;

use super::messaging::unavailable;
use super::{Caller, Logic};

impl Logic {
    pub(super) async fn settings(&self, caller: &Caller) -> Result<SettingsOk, KoiError> {
        Ok(wire(self.privacy(&caller.user).await?))
    }

    pub(super) async fn settings_set(
        &self,
        caller: &Caller,
        req: SettingsSet,
    ) -> Result<SettingsOk, KoiError> {
        let update = PrivacyUpdate {
            dm: parse("dm", req.dm.as_deref(), &Privacy::DM)?,
            presence: parse("presence", req.presence.as_deref(), &Privacy::PRESENCE)?,
            group_add: parse("group_add", req.group_add.as_deref(), &Privacy::GROUP_ADD)?,
        };
        let me = &caller.user;
        let before = self.privacy(me).await?;
        let after = self.store.set_privacy(me, update).await?;
        if before.presence != after.presence {
            // Contacts who saw the user online see the change at once.
            let online = self
                .registry
                .online(&[me.to_string()])
                .await
                .map_err(unavailable)?;
            if online.first().copied().unwrap_or(false) {
                self.push_presence(me, after.presence != Audience::Nobody)
                    .await?;
            }
        }
        Ok(wire(after))
    }

    /// `user`'s privacy settings (the defaults for an unknown user).
    pub(super) async fn privacy(&self, user: &UserId) -> Result<Privacy, KoiError> {
        Ok(self
            .store
            .profiles(std::slice::from_ref(user))
            .await?
            .pop()
            .map(|p| p.privacy)
            .unwrap_or_default())
    }

    /// Pushes `user`'s online state to their mutual contacts (but those they
    /// blocked).
    pub(super) async fn push_presence(&self, user: &UserId, online: bool) -> Result<(), KoiError> {
        let mutual: Vec<String> = self.mutual_contacts(user).await?;
        if mutual.is_empty() {
            return Ok(());
        }
        let push = Arc::new(Push::new(Op::Presence(Presence {
            users: vec![],
            user: Some(user.to_string()),
            online: Some(online),
        })));
        self.router
            .to_users(&mutual, push, None)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// `user`'s mutual contacts, but those they blocked: who hears of their
    /// presence and profile changes.
    pub(super) async fn mutual_contacts<C: FromIterator<String>>(
        &self,
        user: &UserId,
    ) -> Result<C, KoiError> {
        Ok(self
            .store
            .contacts(user)
            .await?
            .into_iter()
            .filter(|e| e.i_added && e.they_added && !e.i_blocked)
            .map(|e| e.user)
            .collect())
    }
}

/// A setting's new value, `None` when not given; `bad_request` for a value
/// the setting does not take.
fn parse(
    field: &str,
    raw: Option<&str>,
    allowed: &[Audience],
) -> Result<Option<Audience>, KoiError> {
    let Some(raw) = raw else { return Ok(None) };
    match Audience::parse(raw) {
        Some(a) if allowed.contains(&a) => Ok(Some(a)),
        _ => {
            let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
            Err(KoiError::bad_request(format!(
                "{field} is one of {}, not {raw:?}",
                names.join(", ")
            )))
        }
    }
}

fn wire(p: Privacy) -> SettingsOk {
    SettingsOk {
        dm: p.dm.as_str().to_owned(),
        presence: p.presence.as_str().to_owned(),
        group_add: p.group_add.as_str().to_owned(),
    }
}
