//! # Koi core
//!
//! The domain without I/O: everything here is plain data and functions, with time
//! passed in as an argument, so it is tested without sockets or sleeps.
//!
//! - [`UserId`], [`ConvId`]: the names of §1 of the protocol.
//! - [`ErrorCode`], [`KoiError`]: the protocol's error codes, mapped once to HTTP.
//! - [`HistoryRange`]: the four shapes of a `history` request.
//! - [`validate_send`]: bounds and shape of an outgoing message.
//! - [`WordFilter`]: the sensitive-word filter.
//! - [`TokenBucket`]: the per-connection rate limit.
//! - [`Role`], [`ContactState`]: group roles and contact states.
//! - [`Privacy`], [`Audience`]: a user's privacy settings.
//! - [`Search`], [`search_terms`]: a checked `search` and how text is cut into
//!   search tokens.

mod contact;
mod conv_id;
mod error;
mod filter;
mod history;
mod privacy;
mod rate_limit;
mod role;
mod search;
pub mod search_terms;
mod send;
mod user_id;

pub use contact::ContactState;
pub use conv_id::ConvId;
pub use error::{ErrorCode, KoiError};
pub use filter::{FilterAction, FilterOutcome, WordFilter};
pub use history::{DEFAULT_LIMIT, HistoryRange, MAX_LIMIT};
pub use privacy::{Audience, Privacy};
pub use rate_limit::TokenBucket;
pub use role::Role;
pub use search::{
    MAX_QUERY_BYTES, MAX_QUERY_WORDS, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT, Search,
    searchable_text,
};
pub use send::{MAX_META_BYTES, MAX_TEXT_BYTES, SENDABLE_KINDS, validate_send};
pub use user_id::UserId;
