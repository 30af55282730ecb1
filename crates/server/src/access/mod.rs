//! The access role: holds client connections over WebSocket and TCP.
//!
//! Both transports feed the same [`session`] loop through the small
//! [`Transport`] trait; only framing differs.

mod session;
mod silence;
mod tcp;
mod transport;
mod user_rate;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use koi_cluster::ConnId;
use tokio::sync::mpsc;

pub use silence::close_silent;
pub use tcp::{TcpEdge, serve_tcp};
pub use transport::{Inbound, Transport};
pub use ws::ws_upgrade;

use crate::config::Limits;
use crate::logic::Logic;
use crate::monitor::Meters;
use crate::revocation::Revocations;
use crate::tokens::Tokens;
pub use user_rate::RateNotice;
use user_rate::UserRates;

/// What every connection of this node shares.
pub struct Access {
    pub(crate) logic: Arc<Logic>,
    pub(crate) tokens: Arc<Tokens>,
    pub(crate) limits: Limits,
    pub(crate) meters: Meters,
    pub(crate) revocations: Arc<Revocations>,
    /// The frame rate per user across their connections here.
    user_rates: UserRates,
    next_id: AtomicU64,
    /// Random high bits, so connection ids differ between nodes of a cluster.
    node_bits: u64,
    /// Sessions running, their goodbyes included: a stopping node waits for
    /// them, so that no socket is dropped with its last frames unsent.
    sessions: Arc<AtomicUsize>,
}

impl Access {
    /// The access role over these services. In a cluster, `rate_notices`
    /// takes what the other nodes must hear of users' frame rates (see
    /// `user_rate`), and [`Access::rate_notice`] applies what they say.
    pub fn new(
        logic: Arc<Logic>,
        tokens: Arc<Tokens>,
        revocations: Arc<Revocations>,
        limits: Limits,
        meters: Meters,
        rate_notices: Option<mpsc::UnboundedSender<RateNotice>>,
    ) -> Self {
        Self {
            logic,
            tokens,
            user_rates: UserRates::new(limits.user_msgs_per_sec, rate_notices),
            limits,
            meters,
            revocations,
            next_id: AtomicU64::new(1),
            node_bits: u64::from(rand::random::<u16>()) << 48,
            sessions: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Applies what node `from` said about a user's frame rate.
    pub(crate) fn rate_notice(&self, from: &str, notice: RateNotice) {
        self.user_rates.apply(from, notice);
    }

    fn next_conn_id(&self) -> ConnId {
        self.node_bits | self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// How many sessions are running, from their socket's accept to its close.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Acquire)
    }

    /// Counts a session until the guard drops.
    fn session_started(&self) -> SessionGuard {
        self.sessions.fetch_add(1, Ordering::AcqRel);
        SessionGuard(self.sessions.clone())
    }
}

/// One running session, counted in [`Access::sessions`].
struct SessionGuard(Arc<AtomicUsize>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
