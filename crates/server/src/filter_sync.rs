//! One word filter for the whole cluster: a change made through
//! `POST /v1/admin/filter` on one node is published to every other node, which
//! applies it too. (A reload from the configuration file stays per node: each
//! node has its own file.)

use std::sync::Arc;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use koi_core::{FilterAction, KoiError, WordFilter};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::logic::Logic;

/// A filter as it travels between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilterChange {
    pub words: Vec<String>,
    /// `mask` or `reject`.
    pub action: String,
}

impl FilterChange {
    /// The filter this change describes; `None` for an unknown action.
    pub fn filter(&self) -> Option<WordFilter> {
        let action = match self.action.as_str() {
            "mask" => FilterAction::Mask,
            "reject" => FilterAction::Reject,
            _ => return None,
        };
        Some(WordFilter::new(&self.words, action))
    }
}

/// Tells the other nodes about `change` and waits (bounded) until the `others`
/// live ones applied it, so the next send sees it wherever it lands.
pub async fn publish(
    settings: &SharedSettings,
    change: &FilterChange,
    others: usize,
) -> Result<(), KoiError> {
    let payload = serde_json::to_vec(change)
        .map_err(|e| KoiError::new(koi_core::ErrorCode::Internal, e.to_string()))?;
    settings
        .publish_filter(payload.into(), others)
        .await
        .map_err(|e| KoiError::new(koi_core::ErrorCode::Unavailable, e.to_string()))
}

/// Applies the changes other nodes publish, until the returned task is aborted.
pub async fn follow(
    settings: &SharedSettings,
    logic: Arc<Logic>,
) -> Result<JoinHandle<()>, koi_cluster::ClusterError> {
    let mut changes = settings.filter_changes().await?;
    Ok(tokio::spawn(async move {
        while let Some(notice) = changes.next().await {
            let change = serde_json::from_slice::<FilterChange>(&notice.payload);
            match change.as_ref().ok().and_then(FilterChange::filter) {
                Some(filter) => {
                    tracing::info!(words = filter.len(), "word filter changed by another node");
                    logic.set_filter(filter);
                }
                None => tracing::warn!("ignoring an unreadable filter change from another node"),
            }
            notice.acknowledge().await;
        }
    }))
}
