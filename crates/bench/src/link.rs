//! The seam between the load and what carries it: a pair's sender writes to an
//! [`Outlet`], its receiver reads from an [`Inlet`]. The Koi protocol (a node,
//! or the null relay) and a NATS broker each implement both, so one open-loop
//! schedule and one delivery check measure all of them alike.

use std::future::Future;
use std::sync::Arc;

/// One operation, as the sender hands it to its outlet: a message, or a
/// reaction to one (`--react-ratio`).
#[derive(Debug, Clone)]
pub struct Draft {
    /// The operation's number among its sender's, from 0.
    pub n: u64,
    /// A message's `<run>-<sender>-<n>` (a pair's sender has its pair's
    /// number): what the receiver matches it by. A reaction's emoji, its
    /// [`reaction key`](super::ids::reaction_key) (an unreact's is the key of
    /// the react it takes back).
    pub id: String,
    pub action: Action,
    /// The reference time, µs after the phase's start, in decimal.
    pub meta: String,
    pub text: Arc<str>,
}

/// What a [`Draft`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a text message.
    Send,
    /// `react` to message `seq` of the target conversation.
    React { seq: u64 },
    /// `unreact`: take back a reaction to message `seq`.
    Unreact { seq: u64 },
}

/// A message as it reached a receiver.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The draft's `id`.
    pub id: String,
    /// Its order in the conversation: the node's `seq`, or the sender's `n + 1`
    /// where the carrier has no sequence of its own.
    pub seq: u64,
    /// The draft's `meta`.
    pub meta: Option<String>,
    /// Set when the delivery is a `react` or `unreact` event (§11): its `id`
    /// is then the event's emoji.
    pub reaction: Option<Reacted>,
}

/// Which reaction event a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reacted {
    React,
    Unreact,
}

/// The sending end of a pair (or of a group run's sender).
pub trait Outlet: Send + Sync + 'static {
    /// Sends `draft`; resolves once the target acknowledged it, with the
    /// stored message's `seq` where the carrier has one (a sent message on a
    /// node), or with an error code (`timeout` and `closed` for failures on
    /// the bench's side).
    fn send(&self, draft: Draft) -> impl Future<Output = Result<Option<u64>, String>> + Send;

    /// True once the link is closing or closed.
    fn is_closed(&self) -> bool;

    /// How the link ended, once it has.
    fn ended(&self) -> Option<String>;
}

/// The receiving end of a pair (or a group run's receiver).
pub trait Inlet: Send + Sync + 'static {
    /// The next message that reached this receiver, in arrival order; `None`
    /// once the link ended. Cancel-safe: a phase stops its receivers by
    /// dropping this future, and the next phase reads on from the same link.
    fn next(&self) -> impl Future<Output = Option<Delivery>> + Send;

    /// How the link ended, once it has.
    fn ended(&self) -> Option<String>;
}

/// Every pair of a target, connected once and loaded phase after phase.
#[derive(Debug)]
pub struct Pairs<O, I> {
    /// Index `i`: the sender of pair `i`.
    pub senders: Vec<Arc<O>>,
    /// Index `i`: the receiver of pair `i`.
    pub receivers: Vec<Arc<I>>,
}
