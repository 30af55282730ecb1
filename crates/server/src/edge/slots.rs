//! The HTTP listener's connection limit, with room always made for a new
//! client: at `max_http_connections` the connection that has been idle the
//! longest (no request in progress, not a WebSocket) is closed for the new
//! one. So a flood of idle or half-sent connections cannot keep `/healthz`
//! or anyone else out, and the node never runs out of file descriptors
//! (issue #19, defect 3). When every connection is busy or a WebSocket, the
//! listener waits for one to end.
//!
//! A WebSocket keeps its slot for its whole life: the upgraded request carries
//! a [`HeldSlot`], which the session holds.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::pre_auth::PreAuth;

/// Every open connection of the listener.
pub struct Slots {
    max: usize,
    /// Each WebSocket's read bound before its first frame.
    pre_auth_bytes: usize,
    open: Mutex<Open>,
    freed: Notify,
}

#[derive(Default)]
struct Open {
    next: u64,
    tracks: HashMap<u64, Arc<Track>>,
}

/// What the listener knows of one connection.
pub struct Track {
    /// Requests being answered.
    busy: AtomicUsize,
    /// Since when nothing was in progress.
    idle_since: Mutex<Instant>,
    /// A WebSocket: never evicted.
    held: AtomicBool,
    /// Cancelled to close the connection for a newer one.
    pub evict: CancellationToken,
    /// The bound on reads between a WebSocket upgrade and its first frame.
    pub pre_auth: Arc<PreAuth>,
}

impl Track {
    /// A request began.
    pub fn started(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
    }

    /// A request was answered (`upgraded`: it became a WebSocket).
    pub fn finished(&self, upgraded: bool) {
        if upgraded {
            self.held.store(true, Ordering::Release);
            self.pre_auth.arm();
        }
        *self.idle_since.lock() = Instant::now();
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }

    fn evictable(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && !self.held.load(Ordering::Acquire)
            && !self.evict.is_cancelled()
    }
}

/// One connection's place; freed when the last holder drops it.
pub struct Slot {
    id: u64,
    slots: Arc<Slots>,
    pub track: Arc<Track>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.open.lock().tracks.remove(&self.id);
        self.slots.freed.notify_one();
    }
}

/// A slot held beyond the HTTP connection (by a WebSocket session).
#[derive(Clone)]
pub struct HeldSlot(pub Arc<Slot>);

impl HeldSlot {
    /// The WebSocket has its first frame: lifts the pre-auth read bound.
    pub fn first_frame_read(&self) {
        self.0.track.pre_auth.lift();
    }

    /// Whether the WebSocket was cut off for reading too much before its first frame.
    pub fn cut_off_before_auth(&self) -> bool {
        self.0.track.pre_auth.tripped()
    }
}

impl Slots {
    pub fn new(max: usize, pre_auth_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            pre_auth_bytes,
            open: Mutex::new(Open::default()),
            freed: Notify::new(),
        })
    }

    /// A place for a new connection: at once below the limit, else after
    /// closing the longest-idle connection, else when one ends.
    pub async fn take(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            {
                let mut open = self.open.lock();
                if open.tracks.len() < self.max {
                    open.next += 1;
                    let id = open.next;
                    let track = Arc::new(Track {
                        busy: AtomicUsize::new(0),
                        idle_since: Mutex::new(Instant::now()),
                        held: AtomicBool::new(false),
                        evict: CancellationToken::new(),
                        pre_auth: Arc::new(PreAuth::new(self.pre_auth_bytes)),
                    });
                    open.tracks.insert(id, track.clone());
                    return Slot {
                        id,
                        slots: self.clone(),
                        track,
                    };
                }
                let victim = open
                    .tracks
                    .values()
                    .filter(|t| t.evictable())
                    .min_by_key(|t| *t.idle_since.lock());
                if let Some(victim) = victim {
                    victim.evict.cancel();
                }
            }
            freed.await;
        }
    }

    /// Connections open.
    pub fn open(&self) -> usize {
        self.open.lock().tracks.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn at_the_limit_the_longest_idle_connection_makes_room() {
        let slots = Slots::new(2, 1024);
        let first = slots.take().await;
        let second = slots.take().await;
        second.track.started();
        // The third evicts the idle first; the busy second stays.
        let evicted = first.track.evict.clone();
        let third = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take().await }
        });
        tokio::time::timeout(Duration::from_secs(5), evicted.cancelled())
            .await
            .unwrap();
        assert!(!second.track.evict.is_cancelled());
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .unwrap()
            .unwrap();
        // A WebSocket is never evicted.
        third.track.started();
        third.track.finished(true);
        second.track.finished(false);
        let fourth = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take().await }
        });
        tokio::time::timeout(Duration::from_secs(5), second.track.evict.cancelled())
            .await
            .unwrap();
        assert!(!third.track.evict.is_cancelled());
        drop(second);
        let _fourth = fourth.await.unwrap();
        assert_eq!(slots.open(), 2);
    }
}
