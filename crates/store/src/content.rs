//! Where the bytes of uploaded files live.
//!
//! A node always writes an upload to its own files directory first and serves
//! downloads from there (which gives HTTP Range support for free). What differs
//! is whether that directory is the whole story:
//!
//! - [`LocalContent`] (embedded): the directory is the only copy.
//! - [`ObjectContent`] (a cluster with `[files] s3_*`): the bytes are also
//!   kept in an S3-compatible object store before the upload is acknowledged
//!   (streamed from the node's copy, in parts), and a node asked for a file it
//!   does not have streams it from there into its directory.
//! - [`PgContent`](crate::postgres::PgContent) (a cluster without S3): the same,
//!   with PostgreSQL as the shared copy.
//!
//! - [`part_file`]: a local copy being fetched, renamed into place when whole.
//! - [`object`]: [`ObjectContent`] and its S3 settings.
//! - [`read_full`]: reading an upload in pieces of a bounded size.

mod object;
pub(crate) mod part_file;
pub(crate) mod read_full;

use std::path::Path;

use async_trait::async_trait;

pub use self::object::{ObjectContent, PART as OBJECT_PART, S3Settings};
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

    /// Deletes the shared copy of `id` (kept by [`keep`](Self::keep)) once its
    /// record is gone; succeeds when there is none. The node's own copy is
    /// the caller's to remove.
    async fn forget(&self, id: &str) -> Result<(), StoreError>;
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

    async fn forget(&self, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
