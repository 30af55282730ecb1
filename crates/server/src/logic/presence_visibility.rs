//! Who may see whom online (§13): with `presence: contacts` (the default) a
//! user's online state (and `last_seen`) shows to their mutual contacts and to
//! co-members of groups of at most [`SMALL_GROUP`] members, never to a user
//! they blocked; with `presence: nobody` to nobody. Everyone else sees them
//! offline.

use std::collections::HashSet;

use koi_core::{Audience, KoiError, UserId};
use koi_store::ContactEdge;

use super::Logic;

/// Groups up to this size make their members see each other online.
pub(super) const SMALL_GROUP: u32 = 100;

impl Logic {
    /// `online[i]` for `users[i]` as `viewer` may see it: only the online
    /// ones are checked, so an offline answer costs nothing more.
    pub(super) async fn visible_online(
        &self,
        viewer: &UserId,
        users: &[String],
        online: Vec<bool>,
        viewer_edges: Option<&[ContactEdge]>,
    ) -> Result<Vec<bool>, KoiError> {
        if !online.iter().any(|on| *on) {
            return Ok(online);
        }
        let fetched;
        let edges = match viewer_edges {
            Some(edges) => edges,
            None => {
                fetched = self.store.contacts(viewer).await?;
                &fetched
            }
        };
        let mutual: HashSet<&str> = edges
            .iter()
            .filter(|e| e.i_added && e.they_added)
            .map(|e| e.user.as_str())
            .collect();
        let mut my_small_groups: Option<HashSet<String>> = None;
        let mut visible = Vec::with_capacity(users.len());
        for (name, on) in users.iter().zip(online) {
            let Ok(user) = UserId::parse(name) else {
                visible.push(false);
                continue;
            };
            if !on || &user == viewer {
                visible.push(on);
                continue;
            }
            if self.store.is_blocked(&user, viewer).await? {
                visible.push(false);
                continue;
            }
            if mutual.contains(name.as_str()) {
                visible.push(true);
                continue;
            }
            if my_small_groups.is_none() {
                my_small_groups = Some(self.small_groups(viewer).await?);
            }
            let mine = my_small_groups.as_ref().expect("just filled");
            let shared = !mine.is_empty()
                && self
                    .store
                    .user_groups(&user)
                    .await?
                    .iter()
                    .any(|g| mine.contains(g));
            visible.push(shared);
        }
        self.hide_from_everyone(viewer, users, &mut visible).await?;
        Ok(visible)
    }

    /// Turns off `visible[i]` where `users[i]` (not the viewer) chose
    /// `presence: nobody`; one store read for all.
    async fn hide_from_everyone(
        &self,
        viewer: &UserId,
        users: &[String],
        visible: &mut [bool],
    ) -> Result<(), KoiError> {
        let shown: Vec<UserId> = users
            .iter()
            .zip(visible.iter())
            .filter(|(name, on)| **on && name.as_str() != viewer.as_str())
            .filter_map(|(name, _)| UserId::parse(name).ok())
            .collect();
        if shown.is_empty() {
            return Ok(());
        }
        let hidden: HashSet<String> = self
            .store
            .profiles(&shown)
            .await?
            .into_iter()
            .filter(|p| p.privacy.presence == Audience::Nobody)
            .map(|p| p.user)
            .collect();
        for (name, on) in users.iter().zip(visible.iter_mut()) {
            if hidden.contains(name) {
                *on = false;
            }
        }
        Ok(())
    }

    /// The groups of `user` with at most [`SMALL_GROUP`] members.
    pub(super) async fn small_groups(&self, user: &UserId) -> Result<HashSet<String>, KoiError> {
        let mut small = HashSet::new();
        for id in self.store.user_groups(user).await? {
            if let Some(group) = self.store.group(&id).await?
                && group.size <= SMALL_GROUP
            {
                small.insert(id);
            }
        }
        Ok(small)
    }
}
