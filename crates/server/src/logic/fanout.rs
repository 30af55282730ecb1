//! The fan-out stage: pushes each committed message to the online devices of its
//! conversation's members.
//!
//! The store hands over messages in commit order. Each conversation is mapped to
//! one shard, and each shard is a FIFO drained by one task, so pushes of one
//! conversation leave in seq order while a large group's fan-out only holds up the
//! conversations that share its shard.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use koi_cluster::{Push, Router};
use koi_core::ConvId;
use koi_proto::frame::Op;
use koi_store::Committed;
use tokio::sync::mpsc;

use crate::monitor::Meters;

/// Shards of the fan-out stage; more than cores, so one busy group rarely shares.
const SHARDS: usize = 16;

/// The fan-out stage's input side.
#[derive(Clone)]
pub struct Fanout {
    shards: Arc<Vec<mpsc::UnboundedSender<Committed>>>,
    meters: Meters,
}

impl Fanout {
    /// Starts the shard tasks on the current runtime.
    pub fn start(router: Arc<dyn Router>, meters: Meters) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run_shard(rx, router.clone(), meters.clone()));
                tx
            })
            .collect();
        Self {
            shards: Arc::new(shards),
            meters,
        }
    }

    /// Queues freshly committed messages, in their commit order. Never blocks: it
    /// is called from the store's writer.
    pub fn committed(&self, batch: Vec<Committed>) {
        self.meters.stored(batch.len() as u64);
        for item in batch {
            let mut hasher = DefaultHasher::new();
            item.message.conv.hash(&mut hasher);
            let shard = hasher.finish() as usize % self.shards.len();
            // A closed shard means the node is stopping; clients will `sync`.
            let _ = self.shards[shard].send(item);
        }
    }
}

async fn run_shard(
    mut rx: mpsc::UnboundedReceiver<Committed>,
    router: Arc<dyn Router>,
    meters: Meters,
) {
    while let Some(Committed { message, origin }) = rx.recv().await {
        let Ok(conv) = ConvId::parse(&message.conv) else {
            tracing::error!(conv = %message.conv, "committed message with an invalid conversation");
            continue;
        };
        let push = Arc::new(Push::new(Op::Msg(message)));
        let reached = match &conv {
            ConvId::Direct(a, b) => {
                router
                    .to_users(&[a.to_string(), b.to_string()], push, origin)
                    .await
            }
            ConvId::Group(id) => router.to_group(id, push, origin, None).await,
            ConvId::System(user) => router.to_users(&[user.to_string()], push, origin).await,
        };
        match reached {
            Ok(n) => meters.delivered(n),
            // Stored but not pushed: the recipients find it with `sync`.
            Err(e) => tracing::warn!(%conv, error = %e, "fan-out failed"),
        }
    }
}
