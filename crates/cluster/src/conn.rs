use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use std::collections::VecDeque;

use koi_proto::Encoding;
use parking_lot::Mutex;
use tokio::sync::Notify;

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
}

impl Kick {
    /// The WebSocket close code that goes with the kick.
    pub fn close_code(self) -> u16 {
        match self {
            Kick::Shutdown => 1001,
            Kick::SlowConsumer | Kick::BadFrames => 1008,
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
    kick_signal: Notify,
    closed: AtomicBool,
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
            kick_signal: Notify::new(),
            closed: AtomicBool::new(false),
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
            self.closed.store(true, Ordering::Relaxed);
            self.kick_signal.notify_waiters();
            self.kick_signal.notify_one();
        }
    }

    /// The reason the connection was kicked, if it was.
    pub fn kicked(&self) -> Option<Kick> {
        *self.kicked.lock()
    }

    /// Resolves once the connection has been kicked.
    pub async fn wait_kicked(&self) -> Kick {
        loop {
            let notified = self.kick_signal.notified();
            if let Some(kick) = self.kicked() {
                return kick;
            }
            notified.await;
        }
    }
}

fn encoding_to_u8(encoding: Encoding) -> u8 {
    match encoding {
        Encoding::Json => 0,
        Encoding::Protobuf => 1,
    }
}
