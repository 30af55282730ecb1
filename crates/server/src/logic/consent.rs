//! Whether a user's `dm` and `group_add` settings (§13) let another user
//! start a direct conversation with them or add them to a group. With
//! `contacts`, only users they added themselves may (mutual contacts, or
//! users they sent a request to); a block refuses on its own elsewhere.

use std::collections::HashSet;

use koi_core::{Audience, ConvId, KoiError, UserId};

use super::Logic;

impl Logic {
    /// `forbidden` when `to`'s `dm` setting refuses a first message from
    /// `from` in `conv`; a conversation that holds a message goes on.
    pub(super) async fn check_dm_start(
        &self,
        from: &UserId,
        to: &UserId,
        conv: &ConvId,
    ) -> Result<(), KoiError> {
        if self.started_convs.contains(conv) {
            return Ok(());
        }
        if self.store.last_seq(conv).await? > 0 {
            self.started_convs.insert(conv.clone());
            return Ok(());
        }
        if self.privacy(to).await?.dm == Audience::Contacts
            && !self.added_by(from).await?.contains(to.as_str())
        {
            return Err(KoiError::forbidden(format!(
                "{to} accepts new conversations from their contacts only"
            )));
        }
        Ok(())
    }

    /// `conv` when it is a direct conversation not yet known to hold a
    /// message: to pass to [`Logic::conv_started`] once its append succeeded.
    pub(super) fn first_known(&self, conv: &ConvId) -> Option<ConvId> {
        (matches!(conv, ConvId::Direct(..)) && !self.started_convs.contains(conv))
            .then(|| conv.clone())
    }

    /// Records that `conv` holds a message, so its next sends skip the check.
    pub(super) fn conv_started(&self, conv: ConvId) {
        self.started_convs.insert(conv);
    }

    /// `forbidden` naming the first of `users` whose `group_add` setting
    /// refuses being added by `adder`.
    pub(super) async fn check_group_adds(
        &self,
        adder: &UserId,
        users: &[&UserId],
    ) -> Result<(), KoiError> {
        let owned: Vec<UserId> = users.iter().map(|u| (*u).clone()).collect();
        let picky: Vec<String> = self
            .store
            .profiles(&owned)
            .await?
            .into_iter()
            .filter(|p| p.privacy.group_add == Audience::Contacts)
            .map(|p| p.user)
            .collect();
        if picky.is_empty() {
            return Ok(());
        }
        let added_by = self.added_by(adder).await?;
        match picky.iter().find(|u| !added_by.contains(u.as_str())) {
            Some(user) => Err(KoiError::forbidden(format!(
                "{user} accepts being added to groups by their contacts only"
            ))),
            None => Ok(()),
        }
    }

    /// The users who added `user` as a contact.
    async fn added_by(&self, user: &UserId) -> Result<HashSet<String>, KoiError> {
        Ok(self
            .store
            .contacts(user)
            .await?
            .into_iter()
            .filter(|e| e.they_added)
            .map(|e| e.user)
            .collect())
    }
}
