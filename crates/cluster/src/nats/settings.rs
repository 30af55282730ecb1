//! Operator settings changed at run time on one node and applied by all:
//! the node that takes the change publishes it on `koi.ctl.<name>`, every other
//! node subscribes and applies what arrives. The payload is the caller's own
//! encoding; this file only carries it.
//!
//! A node that was down while a change was published does not see it: it
//! starts from its configuration file (see docs/operations.md).

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{DEFAULT_TIMEOUT, bounded, ensure_connected, unavailable};
use crate::ClusterError;

/// The subject of the word filter's changes.
const FILTER_SUBJECT: &str = "koi.ctl.filter";

/// Publishes and receives settings changes over one NATS client.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    client: async_nats::Client,
}

impl SharedSettings {
    /// Settings over `client` (made with [`connect`](super::connect), which
    /// does not echo a node's own publishes back to it).
    pub fn new(client: async_nats::Client) -> Self {
        Self { client }
    }

    /// Tells every other node the word filter changed to `payload`, and waits
    /// until NATS has it.
    pub async fn publish_filter(&self, payload: Bytes) -> Result<(), ClusterError> {
        ensure_connected(&self.client)?;
        self.client
            .publish(FILTER_SUBJECT, payload)
            .await
            .map_err(|e| unavailable(format!("publishing the filter: {e}")))?;
        bounded("flushing the filter", DEFAULT_TIMEOUT, self.client.flush()).await
    }

    /// The filter changes other nodes publish from now on.
    pub async fn filter_changes(&self) -> Result<impl Stream<Item = Bytes> + use<>, ClusterError> {
        let subscriber = self
            .client
            .subscribe(FILTER_SUBJECT)
            .await
            .map_err(|e| unavailable(format!("subscribing to filter changes: {e}")))?;
        Ok(subscriber.map(|message| message.payload))
    }
}
