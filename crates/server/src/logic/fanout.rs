//! The fan-out stage: pushes each committed message to the online devices of its
//! conversation's members.
//!
//! The store hands over messages in commit order. Each conversation is mapped to
//! one shard, and each shard is a FIFO drained by one task, so pushes of one
//! conversation leave in seq order while a large group's fan-out only holds up the
//! conversations that share its shard. Group conversations and the others
//! (direct, system) have shards of their own: a push to a user never waits
//! behind a group's fan-out to thousands of members.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use koi_cluster::{Backlog, Push, Router};
use koi_core::ConvId;
use koi_proto::frame::Op;
use koi_store::Committed;
use tokio::sync::mpsc;

use crate::monitor::Meters;

/// Shards of each kind (groups; direct and system conversations); more than
/// cores, so one busy conversation rarely shares.
const SHARDS: usize = 16;

/// The fan-out stage's input side.
#[derive(Clone)]
pub struct Fanout {
    shards: Arc<Vec<Shard>>,
    meters: Meters,
}

/// One shard's queue and, for a group shard, how many messages wait in it:
/// only a group's delivery is paced, and only group shards pay for counting.
struct Shard {
    queue: mpsc::UnboundedSender<(ConvId, Committed)>,
    backlog: Option<Backlog>,
}

impl Fanout {
    /// Starts the shard tasks on the current runtime.
    pub fn start(router: Arc<dyn Router>, meters: Meters) -> Self {
        let shards = (0..2 * SHARDS)
            .map(|shard| {
                let (queue, rx) = mpsc::unbounded_channel();
                let backlog = (shard < SHARDS).then(Backlog::default);
                tokio::spawn(run_shard(
                    rx,
                    backlog.clone(),
                    router.clone(),
                    meters.clone(),
                ));
                Shard { queue, backlog }
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
            let Ok(conv) = ConvId::parse(&item.message.conv) else {
                tracing::error!(conv = %item.message.conv, "committed message with an invalid conversation");
                continue;
            };
            let shard = &self.shards[shard_of(&conv)];
            if let Some(backlog) = &shard.backlog {
                backlog.queued();
            }
            // A closed shard means the node is stopping; clients will `sync`.
            // Its backlog is read by nobody any more.
            let _ = shard.queue.send((conv, item));
        }
    }
}

/// The shard of `conv`: one of the first [`SHARDS`] for a group, one of the
/// others for anything else.
fn shard_of(conv: &ConvId) -> usize {
    let mut hasher = DefaultHasher::new();
    conv.hash(&mut hasher);
    let within = hasher.finish() as usize % SHARDS;
    match conv {
        ConvId::Group(_) => within,
        ConvId::Direct(..) | ConvId::System(_) => SHARDS + within,
    }
}

async fn run_shard(
    mut rx: mpsc::UnboundedReceiver<(ConvId, Committed)>,
    backlog: Option<Backlog>,
    router: Arc<dyn Router>,
    meters: Meters,
) {
    while let Some((conv, Committed { message, origin })) = rx.recv().await {
        let push = Push::new(Op::Msg(Arc::unwrap_or_clone(message)));
        // A group's push is paced only while nothing is behind it in this
        // shard (see FANOUT_TURN).
        let push = Arc::new(match &backlog {
            Some(backlog) => {
                backlog.taken();
                if backlog.is_empty() {
                    push.paced(backlog.clone())
                } else {
                    push
                }
            }
            None => push,
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_never_share_a_shard_with_direct_or_system_conversations() {
        let groups: Vec<usize> = (0..200)
            .map(|i| shard_of(&ConvId::parse(&format!("g:{i:026}")).expect("a group id")))
            .collect();
        let others: Vec<usize> = (0..200)
            .flat_map(|i| [format!("d:a{i}:b{i}"), format!("s:u{i}")])
            .map(|c| shard_of(&ConvId::parse(&c).expect("a conversation")))
            .collect();
        assert!(groups.iter().all(|&s| s < SHARDS), "{groups:?}");
        assert!(others.iter().all(|&s| (SHARDS..2 * SHARDS).contains(&s)));
        assert!(
            groups.iter().any(|&s| s != groups[0]),
            "groups spread over shards"
        );
    }
}
