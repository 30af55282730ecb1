//! The server push API: system messages stored in each user's `s:<user>`.

use koi_core::{ConvId, ErrorCode, KoiError, MAX_META_BYTES, MAX_TEXT_BYTES, UserId};
use koi_store::NewMessage;

use super::Logic;

/// What a push did: devices it reached and messages it stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOutcome {
    pub delivered_online: u32,
    pub stored: u32,
}

/// The most users one push may name.
const MAX_USERS: usize = 10_000;

impl Logic {
    /// Stores a `system` message from `"system"` in each existing user's system
    /// conversation; the fan-out pushes it as `msg`. `delivered_online` counts the
    /// devices online for those users, on every node, at the time of the push.
    pub async fn system_push(
        &self,
        users: &[String],
        text: String,
        meta: Option<String>,
    ) -> Result<PushOutcome, KoiError> {
        if users.len() > MAX_USERS {
            return Err(KoiError::bad_request("at most 10000 users per push"));
        }
        if text.len() > MAX_TEXT_BYTES || meta.as_ref().is_some_and(|m| m.len() > MAX_META_BYTES) {
            return Err(KoiError::new(
                ErrorCode::TooLarge,
                "text over 16 KiB or meta over 4 KiB",
            ));
        }
        let ids = users
            .iter()
            .map(|u| UserId::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let exist = self.store.users_exist(&ids).await?;
        // Devices on every node, as the registry knows them; a registry that
        // cannot answer (NATS down) leaves the count to this node's own.
        let names: Vec<String> = ids.iter().map(|u| u.to_string()).collect();
        let devices = match self.registry.devices(&names).await {
            Ok(devices) => devices,
            Err(e) => {
                tracing::warn!(error = %e, "push: counting devices on this node only");
                ids.iter().map(|u| self.hub.devices(u.as_str())).collect()
            }
        };
        let mut outcome = PushOutcome {
            delivered_online: 0,
            stored: 0,
        };
        let appends = ids
            .into_iter()
            .zip(exist.into_iter().zip(devices))
            .filter(|(_, (e, _))| *e)
            .map(|(user, (_, devices))| {
                outcome.delivered_online += devices;
                self.store.append(NewMessage {
                    conv: ConvId::System(user),
                    from: "system".into(),
                    kind: "system".into(),
                    text: Some(text.clone()),
                    file: None,
                    meta: meta.clone(),
                    client_msg_id: String::new(),
                    origin: None,
                    extra: Default::default(),
                })
            });
        let appends: Vec<_> = appends.collect();
        for result in futures::future::join_all(appends).await {
            result?;
            outcome.stored += 1;
        }
        Ok(outcome)
    }
}
