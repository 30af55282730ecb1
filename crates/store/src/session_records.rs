//! Records of login sessions and of an account's standing (disabled, deleted,
//! tokens revoked wholesale): the state token revocation is built on.

use koi_core::UserId;

/// A login session to record: one issued token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The token's `sid` claim.
    pub id: String,
    pub user: UserId,
    /// Milliseconds since the epoch.
    pub created_at: u64,
    /// When the token expires, in ms; past it the row is of no use.
    pub expires_at: u64,
    /// As the client sent it, already bounded by the caller.
    pub user_agent: String,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub user: String,
    pub created_at: u64,
    pub last_used_at: u64,
    pub expires_at: u64,
    pub user_agent: String,
    pub revoked: bool,
}

/// An account's standing, beyond its password.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountState {
    /// Disabled by the admin: cannot log in, every token refused.
    pub disabled: bool,
    /// Deleted by its owner: the name stays taken, every token refused.
    pub deleted: bool,
    /// Every token issued before this time (ms) is revoked (logout everywhere,
    /// password change); 0 when never.
    pub tokens_before: u64,
}

/// What a node must know at start to refuse revoked tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// Revoked sessions that have not expired yet: `(id, expires_at)`.
    pub sessions: Vec<(String, u64)>,
    /// Accounts that are disabled or deleted, or revoked tokens wholesale
    /// after the `since` asked for.
    pub accounts: Vec<(String, AccountState)>,
}
