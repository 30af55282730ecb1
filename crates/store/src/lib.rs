//! # Koi store
//!
//! Everything durable — users, conversations, messages, read cursors, groups,
//! contacts, the file index — behind one trait, [`Store`].
//!
//! - [`Store`]: the interface the logic tier uses; async, object-safe.
//! - [`sqlite`]: the embedded implementation (SQLite in WAL mode, one writer thread
//!   doing group commits, a pool of readers).
//! - [`postgres`]: the cluster implementation (PostgreSQL shared by every node,
//!   one writer task per node doing group commits, a pool of readers).
//! - [`MessageStates`]: a message's lifecycle (§11) kept beside it: edits,
//!   reactions, hidden messages.
//! - [`contract`]: the test suite every implementation must pass.
//! - `testing` (with the `testing` feature): an ephemeral PostgreSQL server for
//!   tests.
//!
//! Messages are appended with the next per-conversation `seq` inside a transaction;
//! [`Store::append`] returns only after that transaction committed, so an
//! acknowledged message is durable. Implementations batch concurrent appends into
//! one transaction (group commit).

mod batch;
mod content;
pub mod contract;
mod conv_summary;
mod error;
mod ids;
mod lifecycle;
mod listener;
mod message_row;
mod people_records;
pub mod postgres;
mod records;
mod session_records;
pub mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod writer_stats;

pub use content::{FileContent, LocalContent, OBJECT_PART, ObjectContent, S3Settings};
pub use error::StoreError;
pub use ids::new_id;
pub use lifecycle::{EditRecord, MessageStates, REACTION_USERS_SHOWN, ReadBy, UNREAD_CAP};
pub use records::{
    AddMembers, Appended, Committed, ContactEdge, FileRecord, GroupRecord, MessageExtra, NewGroup,
    NewMessage, NewUser,
};

/// Called by the store after each commit with the messages it stored, in order.
pub type CommitListener = std::sync::Arc<dyn Fn(Vec<Committed>) + Send + Sync>;
pub use people_records::{
    ConvSettings, ConvSettingsUpdate, GroupUpdate, PrivacyUpdate, ProfileRecord, ProfileUpdate,
};
pub use session_records::{AccountState, NewSession, RevocationState, SessionRecord};
pub use store::Store;
pub use writer_stats::WriterStats;
