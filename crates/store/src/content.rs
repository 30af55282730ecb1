//! Where the bytes of uploaded files live.
//!
//! A node always writes an upload to its own files directory first and serves
//! downloads from there (which gives HTTP Range support for free). What differs
//! is whether that directory is the whole story:
//!
//! - [`LocalContent`] (embedded): the directory is the only copy.
//! - [`PgContent`](crate::postgres::PgContent) (cluster): the bytes are also
//!   kept in PostgreSQL before the upload is acknowledged, and a node asked for a
//!   file it does not have fetches it from there into its directory, so any node
//!   serves a file any other node received.

use std::path::Path;

use async_trait::async_trait;

use crate::StoreError;

/// The durable home of uploaded files' bytes.
#[async_trait]
pub trait FileContent: Send + Sync + 'static {
    /// Makes the complete, synced file at `path` durable under `id`; called
    /// before the file's record is stored and the upload acknowledged.
    async fn keep(&self, id: &str, path: &Path) -> Result<(), StoreError>;

    /// Makes sure the bytes of `id` are at `path`, fetching them if this node
    /// lacks them; false when no copy exists.
    async fn fetch(&self, id: &str, path: &Path) -> Result<bool, StoreError>;
}

/// Files that live in the node's own directory only (the embedded node).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalContent;

#[async_trait]
impl FileContent for LocalContent {
    async fn keep(&self, _id: &str, _path: &Path) -> Result<(), StoreError> {
        Ok(())
    }

    async fn fetch(&self, _id: &str, path: &Path) -> Result<bool, StoreError> {
        Ok(tokio::fs::try_exists(path).await.unwrap_or(false))
    }
}
