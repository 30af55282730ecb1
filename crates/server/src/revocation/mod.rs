//! Token revocation: which tokens this node refuses, and the connections that
//! must go when a token they authenticated with is revoked or expires.
//!
//! The state lives in the store (sessions, accounts' standing); every node
//! keeps what matters of it in memory ([`revoked`]), loaded at start and kept
//! current by the revocations this node makes and those it hears from other
//! nodes ([`sync`]). Only unexpired tokens matter, so the memory is bounded by
//! the revocations made within one token lifetime, plus disabled and deleted
//! accounts.

mod live;
mod revoked;
pub mod sync;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use koi_cluster::ConnHandle;
use koi_core::{ErrorCode, KoiError};
use koi_store::{AccountState, Store};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use self::live::LiveTokens;
use self::revoked::Revoked;
use crate::tokens::Verified;

/// How often a session's last use is written to the store, at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// One revocation, as it is applied and as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revocation {
    /// One login session ended (logout, `DELETE /v1/sessions/{id}`).
    Session {
        user: String,
        id: String,
        /// Its token's expiry, ms: after it the revocation can be forgotten.
        expires_at: u64,
    },
    /// An account's standing changed: disabled, enabled, deleted, or every
    /// token issued before `tokens_before` revoked.
    Account {
        user: String,
        disabled: bool,
        deleted: bool,
        tokens_before: u64,
    },
}

impl Revocation {
    /// The change to `user`'s standing.
    pub fn account(user: &str, state: AccountState) -> Self {
        Revocation::Account {
            user: user.to_owned(),
            disabled: state.disabled,
            deleted: state.deleted,
            tokens_before: state.tokens_before,
        }
    }
}

/// This node's view of revoked tokens and of the connections they opened.
pub struct Revocations {
    revoked: Mutex<Revoked>,
    live: Mutex<LiveTokens>,
    /// When each session's last use was last written to the store.
    touched: Mutex<HashMap<String, Instant>>,
    store: Arc<dyn Store>,
    ttl_ms: u64,
}

impl Revocations {
    /// Nothing revoked yet: [`Self::read_back`] fills it from the store.
    pub fn new(store: Arc<dyn Store>, ttl_s: u64) -> Self {
        Self {
            revoked: Mutex::new(Revoked::default()),
            live: Mutex::new(LiveTokens::default()),
            touched: Mutex::new(HashMap::new()),
            store,
            ttl_ms: ttl_s.saturating_mul(1000),
        }
    }

    /// Adds the revocations that still matter, read back from the store (a
    /// node does this at start, after it began to hear other nodes' ones, so
    /// that none falls between the two).
    pub async fn read_back(&self) -> Result<(), KoiError> {
        let now = now_ms();
        let state = self
            .store
            .revocations(now, now.saturating_sub(self.ttl_ms))
            .await
            .map_err(KoiError::from)?;
        self.revoked.lock().merge(state);
        Ok(())
    }

    /// Refuses a revoked token (`unauthorized`), and notes that its session
    /// was used (written to the store at most once a minute per session).
    pub fn check(&self, token: &Verified) -> Result<(), KoiError> {
        if self.revoked.lock().refuses(token) {
            return Err(KoiError::new(
                ErrorCode::Unauthorized,
                "the token was revoked",
            ));
        }
        if let Some(session) = &token.session {
            self.touch(session);
        }
        Ok(())
    }

    fn touch(&self, session: &str) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock();
            match touched.get_mut(session) {
                Some(at) if now.duration_since(*at) < TOUCH_EVERY => return,
                Some(at) => *at = now,
                None => {
                    touched.insert(session.to_owned(), now);
                }
            }
        }
        let (store, session) = (self.store.clone(), session.to_owned());
        tokio::spawn(async move {
            if let Err(e) = store.touch_session(&session, now_ms()).await {
                tracing::debug!(error = %e, "noting a session's use failed");
            }
        });
    }

    /// Applies a revocation: refuses its tokens from now on and kicks the
    /// connections of this node that authenticated with one.
    pub fn apply(&self, revocation: &Revocation) {
        self.revoked.lock().apply(revocation);
        let revoked = self.revoked.lock();
        let conns = self.live.lock().matching(|token| revoked.refuses(token));
        drop(revoked);
        for conn in conns {
            conn.kick(koi_cluster::Kick::TokenRevoked);
        }
    }

    /// Tracks a connection authenticated with `token`, until [`Self::closed`].
    pub fn opened(&self, conn: &Arc<ConnHandle>, token: &Verified) {
        self.live.lock().insert(conn, token.clone());
        // A revocation applied between the check and now still reaches it.
        if self.revoked.lock().refuses(token) {
            conn.kick(koi_cluster::Kick::TokenRevoked);
        }
    }

    /// Stops tracking a connection.
    pub fn closed(&self, conn: &ConnHandle) {
        self.live.lock().remove(conn.id());
    }

    /// Kicks the connections whose token has expired, and forgets what no
    /// longer matters. Called every second.
    pub fn sweep(&self) {
        let now = now_ms();
        for conn in self.live.lock().expired(now / 1000) {
            conn.kick(koi_cluster::Kick::TokenExpired);
        }
        self.revoked
            .lock()
            .forget_before(now, now.saturating_sub(self.ttl_ms));
        self.touched
            .lock()
            .retain(|_, at| at.elapsed() < TOUCH_EVERY);
    }

    /// Sweeps every second until the returned task is aborted.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                this.sweep();
            }
        })
    }
}

/// The server's clock in ms since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
