//! The revoked set: sessions ended before their token expired, and accounts
//! whose tokens are all refused (disabled, deleted) or were refused up to a
//! time (logout everywhere, password change).

use std::collections::HashMap;

use koi_store::{AccountState, RevocationState};

use super::Revocation;
use crate::tokens::Verified;

#[derive(Default)]
pub(super) struct Revoked {
    /// Session id → its token's expiry (ms).
    sessions: HashMap<String, u64>,
    accounts: HashMap<String, AccountState>,
}

impl Revoked {
    /// Adds what the store holds (a revocation heard meanwhile stays).
    pub(super) fn merge(&mut self, state: RevocationState) {
        self.sessions.extend(state.sessions);
        for (user, state) in state.accounts {
            self.apply(&Revocation::account(&user, state));
        }
    }

    /// Whether `token` is revoked.
    pub(super) fn refuses(&self, token: &Verified) -> bool {
        if let Some(session) = &token.session
            && self.sessions.contains_key(session)
        {
            return true;
        }
        self.accounts.get(token.user.as_str()).is_some_and(|state| {
            state.disabled || state.deleted || token.issued_ms < state.tokens_before
        })
    }

    pub(super) fn apply(&mut self, revocation: &Revocation) {
        match revocation {
            Revocation::Session { id, expires_at, .. } => {
                self.sessions.insert(id.clone(), *expires_at);
            }
            Revocation::Account {
                user,
                disabled,
                deleted,
                tokens_before,
            } => {
                let state = self.accounts.entry(user.clone()).or_default();
                state.disabled = *disabled;
                state.deleted |= *deleted;
                state.tokens_before = state.tokens_before.max(*tokens_before);
            }
        }
    }

    /// Forgets sessions expired at `now_ms`, and wholesale revocations older
    /// than `oldest_token_ms` (every token they caught has expired).
    pub(super) fn forget_before(&mut self, now_ms: u64, oldest_token_ms: u64) {
        self.sessions.retain(|_, expires| *expires > now_ms);
        self.accounts.retain(|_, state| {
            state.disabled || state.deleted || state.tokens_before > oldest_token_ms
        });
    }
}

#[cfg(test)]
mod tests {
    use koi_core::UserId;

    use super::*;

    fn token(user: &str, session: Option<&str>, issued_ms: u64) -> Verified {
        Verified {
            user: UserId::parse(user).unwrap(),
            session: session.map(str::to_owned),
            issued_ms,
            expires_s: u64::MAX / 1000,
        }
    }

    #[test]
    fn refuses_revoked_sessions_and_accounts_and_forgets_what_expired() {
        let mut revoked = Revoked::default();
        let t1 = token("ann", Some("s1"), 100);
        let t2 = token("ann", Some("s2"), 100);
        assert!(!revoked.refuses(&t1));
        revoked.apply(&Revocation::Session {
            user: "ann".into(),
            id: "s1".into(),
            expires_at: 5_000,
        });
        assert!(revoked.refuses(&t1));
        assert!(!revoked.refuses(&t2));
        revoked.apply(&Revocation::Account {
            user: "ann".into(),
            disabled: false,
            deleted: false,
            tokens_before: 200,
        });
        assert!(revoked.refuses(&t2));
        assert!(!revoked.refuses(&token("ann", None, 200)), "issued after");
        revoked.forget_before(6_000, 100);
        assert!(!revoked.refuses(&t1) || revoked.accounts.contains_key("ann"));
        assert!(
            revoked.sessions.is_empty(),
            "an expired session is forgotten"
        );
        revoked.forget_before(6_000, 300);
        assert!(revoked.accounts.is_empty(), "a wholesale revocation too");
        revoked.apply(&Revocation::Account {
            user: "bob".into(),
            disabled: true,
            deleted: false,
            tokens_before: 0,
        });
        revoked.forget_before(u64::MAX, u64::MAX);
        assert!(
            revoked.refuses(&token("bob", None, u64::MAX / 2)),
            "disabled stays"
        );
    }
}
