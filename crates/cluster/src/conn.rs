use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use koi_proto::Encoding;
use parking_lot::Mutex;

use crate::Push;
use crate::outbox::Outbox;

/// A connection's id, unique within this node's lifetime.
pub type ConnId = u64;

/// Why a connection is being closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The node is shutting down.
    Shutdown,
    /// The client does not read its pushes fast enough.
    SlowConsumer,
    /// Too many undecodable frames in a row.
    BadFrames,
    /// No frame within three heartbeats.
    Heartbeat,
    /// The token the connection authenticated with was revoked (logout,
    /// password change, session ended, account disabled or deleted).
    TokenRevoked,
    /// The token the connection authenticated with expired.
    TokenExpired,
}

impl Kick {
    /// The WebSocket close code that goes with the kick.
    pub fn close_code(self) -> u16 {
        match self {
            Kick::Shutdown => 1001,
            Kick::SlowConsumer | Kick::BadFrames | Kick::TokenRevoked | Kick::TokenExpired => 1008,
            Kick::Heartbeat => 1000,
        }
    }
}

impl Kick {
    /// The reason as the `kicked` push spells it.
    pub fn reason(self) -> &'static str {
        match self {
            Kick::Shutdown => "shutdown",
            Kick::SlowConsumer => "slow_consumer",
            Kick::BadFrames => "bad_frames",
            Kick::Heartbeat => "heartbeat_timeout",
            Kick::TokenRevoked => "token_revoked",
            Kick::TokenExpired => "token_expired",
        }
    }
}

/// The part of a live connection that the rest of the node may touch: its
/// bounded queue of pushes and its kick signal.
#[derive(Debug)]
pub struct ConnHandle {
    id: ConnId,
    user: String,
    outbox: Outbox,
    /// The encoding pushes are written in: that of the client's latest frame.
    encoding: AtomicU8,
    kicked: Mutex<Option<Kick>>,
    closed: AtomicBool,
    /// When the client was last heard from, in ms since [`epoch`].
    last_heard_ms: AtomicU64,
}

impl ConnHandle {
    /// A handle for connection `id` of `user`, queueing at most `queue` pushes.
    pub fn new(id: ConnId, user: String, queue: usize, encoding: Encoding) -> Self {
        Self {
            id,
            user,
            outbox: Outbox::new(queue),
            encoding: AtomicU8::new(encoding_to_u8(encoding)),
            kicked: Mutex::new(None),
            closed: AtomicBool::new(false),
            last_heard_ms: AtomicU64::new(since_epoch_ms(Instant::now())),
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The authenticated user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The encoding pushes are written in.
    pub fn encoding(&self) -> Encoding {
        if self.encoding.load(Ordering::Relaxed) == 0 {
            Encoding::Json
        } else {
            Encoding::Protobuf
        }
    }

    /// Follows the encoding of the client's latest frame.
    pub fn set_encoding(&self, encoding: Encoding) {
        self.encoding
            .store(encoding_to_u8(encoding), Ordering::Relaxed);
    }

    /// Queues a push without waiting. A full queue means the client does not keep
    /// up: it is kicked as a slow consumer (it will `sync` when it comes back)
    /// rather than buffered without bound. Returns whether the push was queued.
    pub fn push(&self, push: Arc<Push>) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        if self.outbox.offer(push).is_err() {
            self.kick(Kick::SlowConsumer);
            return false;
        }
        true
    }

    /// Every queued push, oldest first, leaving the queue empty.
    pub fn take_queued(&self) -> VecDeque<Arc<Push>> {
        self.outbox.take()
    }

    /// The oldest queued push, if any.
    pub fn next_queued(&self) -> Option<Arc<Push>> {
        self.outbox.pop()
    }

    /// Resolves once a push is queued; cancel-safe.
    pub async fn queued(&self) {
        self.outbox.filled().await
    }

    /// Asks the connection to close with `kicked {reason}`; the first reason wins.
    pub fn kick(&self, kick: Kick) {
        let mut slot = self.kicked.lock();
        if slot.is_none() {
            *slot = Some(kick);
            self.closed.store(true, Ordering::Release);
            self.outbox.wake();
        }
    }

    /// The reason the connection was kicked, if it was.
    pub fn kicked(&self) -> Option<Kick> {
        *self.kicked.lock()
    }

    /// Resolves once the connection has pushes queued or was kicked: what its
    /// task must act on. Cancel-safe; one waiter at a time.
    pub async fn ready(&self) {
        self.outbox
            .wait_until(|| self.closed.load(Ordering::Acquire) || !self.outbox.is_empty())
            .await
    }

    /// Resolves once the connection was kicked, with the reason. Cancel-safe;
    /// one waiter at a time (it shares [`ConnHandle::ready`]'s wake-up).
    pub async fn wait_kicked(&self) -> Kick {
        loop {
            self.outbox
                .wait_until(|| self.closed.load(Ordering::Acquire))
                .await;
            if let Some(kick) = self.kicked() {
                return kick;
            }
        }
    }

    /// Notes that the client was heard from at `now`.
    pub fn heard(&self, now: Instant) {
        self.last_heard_ms
            .store(since_epoch_ms(now), Ordering::Relaxed);
    }

    /// How long the client has been silent at `now`.
    pub fn silent_for(&self, now: Instant) -> Duration {
        let last = self.last_heard_ms.load(Ordering::Relaxed);
        Duration::from_millis(since_epoch_ms(now).saturating_sub(last))
    }
}

/// The instant connection clocks count from: the first time one was read.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch_ms(now: Instant) -> u64 {
    now.saturating_duration_since(epoch()).as_millis() as u64
}

fn encoding_to_u8(encoding: Encoding) -> u8 {
    match encoding {
        Encoding::Json => 0,
        Encoding::Protobuf => 1,
    }
}
