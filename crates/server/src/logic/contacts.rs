//! `contact_add`, `contact_remove`, `contacts`, `block`, `unblock`.

use koi_core::{ContactState, ConvId, ErrorCode, KoiError, UserId};
use koi_proto::{Contact, ContactsOk, UserRef};
use koi_store::NewMessage;

use super::messaging::unavailable;
use super::{Caller, Logic};

/// One day in ms: the window of one contact notice per pair.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Logic {
    pub(super) async fn contact_add(&self, caller: &Caller, req: UserRef) -> Result<(), KoiError> {
        let me = &caller.user;
        let other = self.other_user(me, &req.user).await?;
        if self.store.is_blocked(&other, me).await? {
            return Err(KoiError::new(
                ErrorCode::Blocked,
                format!("{other} has blocked you"),
            ));
        }
        let before = self.edge(me, &other).await?;
        if before.as_ref().is_some_and(|e| e.i_added) {
            return Ok(());
        }
        self.store.contact_add(me, &other).await?;
        let accepted = before.is_some_and(|e| e.they_added);
        let (kind, text) = if accepted {
            (
                "contact_accepted",
                format!("{me} accepted your contact request"),
            )
        } else {
            (
                "contact_request",
                format!("{me} wants to add you as a contact"),
            )
        };
        let meta = serde_json::json!({"type": kind, "from": me.as_str()}).to_string();
        // At most one notice of each kind per pair per UTC day: the key makes a
        // repeat within the day (an add/remove cycle) store and push nothing.
        let day = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            / DAY_MS;
        let client_msg_id = format!("{kind}:{me}:{other}:{day}");
        self.store
            .append(NewMessage {
                conv: ConvId::System(other),
                from: "system".into(),
                kind: "system".into(),
                text: Some(text),
                file: None,
                meta: Some(meta),
                client_msg_id,
                origin: None,
                extra: Default::default(),
            })
            .await?;
        Ok(())
    }

    pub(super) async fn contact_remove(
        &self,
        caller: &Caller,
        req: UserRef,
    ) -> Result<(), KoiError> {
        let other = self.other_user(&caller.user, &req.user).await?;
        self.store.contact_remove(&caller.user, &other).await?;
        Ok(())
    }

    pub(super) async fn contacts(&self, caller: &Caller) -> Result<ContactsOk, KoiError> {
        let edges = self.store.contacts(&caller.user).await?;
        let names: Vec<String> = edges.iter().map(|e| e.user.clone()).collect();
        let online = self.registry.online(&names).await.map_err(unavailable)?;
        let online = self
            .visible_online(&caller.user, &names, online, Some(&edges))
            .await?;
        let contacts = edges
            .into_iter()
            .zip(online)
            .filter_map(|(e, online)| {
                ContactState::from_edges(e.i_added, e.i_blocked, e.they_added).map(|state| {
                    Contact {
                        user: e.user,
                        state: state.as_str().to_owned(),
                        online,
                    }
                })
            })
            .collect();
        Ok(ContactsOk { contacts })
    }

    pub(super) async fn set_blocked(
        &self,
        caller: &Caller,
        req: UserRef,
        blocked: bool,
    ) -> Result<(), KoiError> {
        let other = self.other_user(&caller.user, &req.user).await?;
        self.store
            .set_blocked(&caller.user, &other, blocked)
            .await?;
        Ok(())
    }

    /// Another existing user named in a request (not the caller).
    async fn other_user(&self, me: &UserId, name: &str) -> Result<UserId, KoiError> {
        let other = self.existing_user(name).await?;
        if &other == me {
            return Err(KoiError::bad_request("that is yourself"));
        }
        Ok(other)
    }

    async fn edge(
        &self,
        me: &UserId,
        other: &UserId,
    ) -> Result<Option<koi_store::ContactEdge>, KoiError> {
        Ok(self
            .store
            .contacts(me)
            .await?
            .into_iter()
            .find(|e| e.user == other.as_str()))
    }
}
