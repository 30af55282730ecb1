//! Uploaded files' bytes in an object store: S3 or an S3-compatible service
//! (MinIO, Ceph, R2, ...), through the `object_store` crate.
//!
//! Each file is the object `files/<id>` of the bucket. [`keep`] streams the
//! node's synced copy up in parts of [`PART`] bytes, one part at a time (an
//! S3 multipart upload; a file of less than one part is one plain `PUT`), so
//! that memory per upload stays one part whatever the file's size; a failed
//! multipart upload is aborted so that no parts stay billed. [`fetch`]
//! streams the object into a local part file and renames it into place.
//!
//! [`keep`]: FileContent::keep
//! [`fetch`]: FileContent::fetch

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

use super::part_file::PartFile;
use super::read_full::read_full;
use crate::{FileContent, StoreError};

/// Bytes per part: S3's smallest part (every part but the last must be at
/// least 5 MiB), so the least memory an upload can take.
pub const PART: usize = 5 * 1024 * 1024;

/// Where a cluster's S3 bucket is (`[files] s3_*`); the credentials come from
/// the usual `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else the instance's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `http(s)://host:port` of an S3-compatible service; AWS when absent.
    pub endpoint: Option<String>,
    pub bucket: String,
    /// Absent: `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
}

/// [`FileContent`] kept in an object store.
#[derive(Debug, Clone)]
pub struct ObjectContent {
    store: Arc<dyn ObjectStore>,
}

impl ObjectContent {
    /// Files in `store` (any `object_store` implementation).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Files in the S3 bucket `settings` name. Nothing is contacted yet: see
    /// [`check`](Self::check).
    pub fn s3(settings: &S3Settings) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // Buckets as the first path segment: what S3-compatible
                // services answer to without wildcard DNS.
                .with_virtual_hosted_style_request(false);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        let store = builder
            .build()
            .map_err(|e| StoreError::Internal(format!("configuring S3: {e}")))?;
        Ok(Self::new(Arc::new(store)))
    }

    /// Lists one page of the files prefix: fails when the bucket cannot be
    /// reached, does not exist or the credentials are refused, so that a node
    /// with a wrong setting stops at start instead of failing every upload.
    pub async fn check(&self) -> Result<(), StoreError> {
        let mut files = self.store.list(Some(&ObjectPath::from("files")));
        match files.next().await {
            Some(Err(e)) => Err(object_error(e)),
            None | Some(Ok(_)) => Ok(()),
        }
    }
}

/// The object holding file `id`.
fn location(id: &str) -> ObjectPath {
    ObjectPath::from(format!("files/{id}"))
}

/// A missing object is not found; a service that cannot be reached or
/// refuses (after `object_store`'s retries) is unavailable, so the client may
/// retry; anything else is internal.
fn object_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound(format!("object store: {e}")),
        object_store::Error::Generic { .. } | object_store::Error::PermissionDenied { .. } => {
            StoreError::Unavailable(format!("object store: {e}"))
        }
        other => StoreError::Internal(format!("object store: {other}")),
    }
}

fn io_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

/// The next part of `file`: [`PART`] bytes, fewer at its end, none past it.
async fn next_part(file: &mut tokio::fs::File) -> Result<Vec<u8>, StoreError> {
    let mut part = vec![0; PART];
    let filled = read_full(file, &mut part)
        .await
        .map_err(|e| io_error("reading the upload", e))?;
    part.truncate(filled);
    Ok(part)
}

impl ObjectContent {
    /// Uploads `first` and the rest of `file` as the parts of one multipart
    /// upload, one part in flight at a time.
    async fn put_parts(
        &self,
        upload: &mut dyn MultipartUpload,
        first: Vec<u8>,
        file: &mut tokio::fs::File,
    ) -> Result<(), StoreError> {
        let mut part = first;
        while !part.is_empty() {
            upload
                .put_part(PutPayload::from(part))
                .await
                .map_err(object_error)?;
            part = next_part(file).await?;
        }
        upload.complete().await.map_err(object_error)?;
        Ok(())
    }
}

#[async_trait]
impl FileContent for ObjectContent {
    async fn keep(&self, id: &str, path: &Path) -> Result<(), StoreError> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error("opening the upload", e))?;
        let location = location(id);
        let first = next_part(&mut file).await?;
        if first.len() < PART {
            self.store
                .put(&location, PutPayload::from(first))
                .await
                .map_err(object_error)?;
            return Ok(());
        }
        let mut upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(object_error)?;
        let result = self.put_parts(upload.as_mut(), first, &mut file).await;
        if result.is_err()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(error = %e, file = id, "aborting a failed multipart upload failed");
        }
        result
    }

    async fn fetch(&self, id: &str, path: &Path) -> Result<bool, StoreError> {
        if tokio::fs::try_exists(path).await.unwrap_or(false) {
            return Ok(true);
        }
        let mut stream = match self.store.get(&location(id)).await {
            Ok(found) => found.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(object_error(e)),
        };
        let mut copy = PartFile::create(path).await?;
        while let Some(chunk) = stream.next().await {
            let written = match chunk {
                Ok(chunk) => copy.write(&chunk).await,
                Err(e) => Err(object_error(e)),
            };
            if let Err(e) = written {
                copy.abandon().await;
                return Err(e);
            }
        }
        copy.finish(path).await?;
        Ok(true)
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        match self.store.delete(&location(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(object_error(e)),
        }
    }
}
