//! # Koi cluster seams
//!
//! How a push reaches devices, and what is known about nodes and users online.
//!
//! - [`Push`]: one push, encoded at most once per encoding and shared by every
//!   connection it goes to.
//! - [`Hub`]: this node's table of live connections, by user, with the groups
//!   each online user is in. Every [`Router`] ends in a hub.
//! - [`Router`]: delivers a push to a user's devices or a group's online
//!   members, wherever they are connected.
//! - [`Registry`]: the nodes of the cluster with their load, and presence.
//! - [`local`]: the embedded implementations (in-process).
//! - [`nats`]: the cluster implementations, on NATS.
//! - [`contract`]: the test suite every Router + Registry pair must pass.
//! - `testing` (feature `testing`): an ephemeral `nats-server` for tests.

mod backlog;
mod conn;
pub mod contract;
mod error;
mod hub;
pub mod local;
pub mod nats;
mod node;
mod outbox;
mod push;
mod registry;
mod router;
mod taken;
#[cfg(feature = "testing")]
pub mod testing;

pub use backlog::Backlog;
pub use conn::{ConnHandle, ConnId, Kick};
pub use error::ClusterError;
pub use hub::{Hub, Interest};
pub use node::NodeInfo;
pub use push::Push;
pub use registry::Registry;
pub use router::Router;
