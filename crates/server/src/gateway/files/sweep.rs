//! Deleting uploads that no message took up (§15): a file created more than
//! `unreferenced_file_ttl_s` ago that no message references (never sent, or
//! every message carrying it recalled) loses its record, its shared bytes (a
//! cluster's database rows or S3 object: [`FileContent::forget`], after the
//! record, so that a file a message took up meanwhile keeps its bytes) and
//! this node's copy, and stops counting towards its owner's quota.
//!
//! Every node sweeps; the store deletes each file once (the others find
//! nothing), and each node also removes local copies whose record is gone and
//! part files left by a crash, once they are older than the same age.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use koi_store::{FileContent, Store, StoreError};

/// Files asked for per store query.
const BATCH: u32 = 256;

/// Starts the sweep on this node: first after one interval, then every
/// interval (a quarter of the TTL, between 1 s and 10 min), until aborted.
pub fn spawn_sweep(
    store: Arc<dyn Store>,
    content: Arc<dyn FileContent>,
    files_dir: PathBuf,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    let every = (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match sweep(store.as_ref(), content.as_ref(), &files_dir, ttl).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted unreferenced uploads"),
                Err(e) => tracing::warn!(error = %e, "the sweep of unreferenced uploads failed"),
            }
        }
    })
}

/// One round; returns how many records it deleted.
async fn sweep(
    store: &dyn Store,
    content: &dyn FileContent,
    files_dir: &Path,
    ttl: Duration,
) -> Result<usize, StoreError> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let before = now_ms.saturating_sub(ttl.as_millis() as u64);
    let mut deleted = 0;
    loop {
        let candidates = store.unreferenced_files(before, BATCH).await?;
        let mut progress = false;
        for file in &candidates {
            if store.delete_unreferenced_file(&file.id, before).await? {
                deleted += 1;
                progress = true;
                // Only the node that deleted the record: the object is
                // unreachable now. Should this fail, the object stays (and
                // is logged); no record points at it.
                if let Err(e) = content.forget(&file.id).await {
                    tracing::warn!(file = %file.id, error = %e, "deleting a swept file's bytes failed");
                }
            }
            remove(&files_dir.join(&file.id)).await;
        }
        // A candidate that was not deleted got a reference meanwhile; the
        // rest were: stop when a batch changed nothing or was the last.
        if candidates.len() < BATCH as usize || !progress {
            break;
        }
    }
    orphans(store, files_dir, ttl).await?;
    Ok(deleted)
}

/// Removes this node's copies older than `ttl` whose record is gone (another
/// node deleted it, or a crash came between writing and recording), and part
/// files of that age.
async fn orphans(store: &dyn Store, files_dir: &Path, ttl: Duration) -> Result<(), StoreError> {
    let Ok(mut entries) = tokio::fs::read_dir(files_dir).await else {
        return Ok(());
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ttl);
        if !old {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_id = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if !is_id || store.file(name).await?.is_none() {
            remove(&entry.path()).await;
        }
    }
    Ok(())
}

async fn remove(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "removing an upload failed");
    }
}
