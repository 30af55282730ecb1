//! `POST /v1/files?name=N`: checks the name, the type and the user's quota,
//! writes the bytes (see [`spool`](super::spool)), makes them durable, and only
//! then records the file and answers 201.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use koi_core::{ErrorCode, KoiError};
use koi_store::FileRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::spool::{SpoolError, spool};
use crate::gateway::Gateway;
use crate::gateway::bearer::UserAuth;
use crate::http_error::HttpError;

/// How long a refused upload's remaining bytes are read and dropped.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// The longest file name and media type accepted, in bytes.
const MAX_NAME_BYTES: usize = 255;

#[derive(Deserialize)]
pub(in crate::gateway) struct UploadQuery {
    name: Option<String>,
}

/// Why an upload failed: a protocol error, or a full disk (507).
pub(in crate::gateway) enum UploadError {
    Koi(KoiError),
    DiskFull,
}

impl From<KoiError> for UploadError {
    fn from(e: KoiError) -> Self {
        UploadError::Koi(e)
    }
}

impl From<koi_store::StoreError> for UploadError {
    fn from(e: koi_store::StoreError) -> Self {
        UploadError::Koi(e.into())
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        match self {
            UploadError::Koi(e) => HttpError(e).into_response(),
            // 507 Insufficient Storage, with the code a client retries on.
            UploadError::DiskFull => {
                let body = json!({"error": {
                    "code": ErrorCode::Unavailable.as_str(),
                    "message": "the file store is full; nothing was kept",
                }});
                (StatusCode::INSUFFICIENT_STORAGE, Json(body)).into_response()
            }
        }
    }
}

pub(in crate::gateway) async fn upload(
    State(gateway): State<Arc<Gateway>>,
    UserAuth(user): UserAuth,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), UploadError> {
    let max_file = gateway.max_file_bytes;
    let max_user = gateway.max_user_bytes;
    let name = clean_name(query.name.as_deref())?;
    let mime = media_type(&headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let file_too_large = || format!("file over max_file_bytes ({max_file})");
    let quota_exceeded = || format!("uploads over max_user_bytes ({max_user})");
    let mut body = body.into_data_stream();
    // Refused by its declared length: the body is still read (bounded), so
    // that a client sending it all before reading the answer gets the 413,
    // not a reset connection.
    let refuse_declared = async |body: &mut axum::body::BodyDataStream,
                                 why: String|
           -> Result<(StatusCode, Json<Value>), UploadError> {
        drain(body, declared.unwrap_or(0)).await;
        Err(KoiError::new(ErrorCode::TooLarge, why).into())
    };
    if declared.is_some_and(|n| n > max_file) {
        return refuse_declared(&mut body, file_too_large()).await;
    }
    let stored = gateway.logic.store().user_file_bytes(&user).await?;
    let allowed = max_user.saturating_sub(stored);
    let mut claim = gateway.uploads.claim(user.as_str());
    if let Some(n) = declared
        && !claim.grow(n, allowed)
    {
        return refuse_declared(&mut body, quota_exceeded()).await;
    }
    let mut claimed = declared.unwrap_or(0);

    let id = koi_store::new_id();
    let part = gateway.files_dir.join(format!("{id}.part"));
    let mut size: u64 = 0;
    let admit = |n: usize| {
        size += n as u64;
        if size > max_file {
            return Err(file_too_large());
        }
        if size > claimed {
            if !claim.grow(size - claimed, allowed) {
                return Err(quota_exceeded());
            }
            claimed = size;
        }
        Ok(())
    };
    let spooled = match spool(&part, &mut body, admit).await {
        Ok(spooled) => spooled,
        Err(SpoolError::TooLarge(why)) => {
            drain(&mut body, max_file).await;
            return Err(KoiError::new(ErrorCode::TooLarge, why).into());
        }
        Err(SpoolError::Interrupted(why)) => {
            return Err(KoiError::bad_request(format!("upload interrupted: {why}")).into());
        }
        Err(SpoolError::DiskFull(e)) => {
            tracing::warn!(error = %e, "an upload found the file store full");
            drain(&mut body, max_file).await;
            return Err(UploadError::DiskFull);
        }
        Err(SpoolError::Io(e)) => return Err(file_store_failed(&e)),
    };

    let path = gateway.files_dir.join(&id);
    if let Err(e) = place(&part, &path).await {
        let _ = tokio::fs::remove_file(&part).await;
        let _ = tokio::fs::remove_file(&path).await;
        if super::spool::is_disk_full(&e) {
            return Err(UploadError::DiskFull);
        }
        return Err(file_store_failed(&e));
    }
    if let Err(e) = gateway.content.keep(&id, &path).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    let record = FileRecord {
        id: id.clone(),
        owner: user.to_string(),
        name: name.clone(),
        size: spooled.size,
        mime: mime.clone(),
        sha256: spooled.sha256.clone(),
        created_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    if let Err(e) = gateway.logic.store().put_file(record).await {
        let _ = tokio::fs::remove_file(&path).await;
        if let Err(left) = gateway.content.forget(&id).await {
            tracing::warn!(error = %left, file = %id, "removing an unrecorded upload's bytes failed");
        }
        return Err(e.into());
    }
    drop(claim);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "file_id": id,
            "name": name,
            "size": spooled.size,
            "mime": mime,
            "sha256": spooled.sha256,
        })),
    ))
}

/// Reads and drops the rest of a refused body (at most `limit` bytes, for at
/// most [`DRAIN_FOR`]), so that the client, still sending, gets the answer
/// instead of a reset connection.
async fn drain(body: &mut axum::body::BodyDataStream, limit: u64) {
    let mut left = limit;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while let Some(Ok(chunk)) = body.next().await {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                break;
            }
        }
    })
    .await;
}

/// Moves the synced part file to its name and syncs the directory, so that
/// the name survives a crash too.
async fn place(part: &Path, path: &Path) -> std::io::Result<()> {
    tokio::fs::rename(part, path).await?;
    if let Some(dir) = path.parent() {
        tokio::fs::File::open(dir).await?.sync_all().await?;
    }
    Ok(())
}

/// A file-system failure: logged here, answered without its details.
fn file_store_failed(e: &std::io::Error) -> UploadError {
    tracing::error!(error = %e, "the file store failed");
    KoiError::new(ErrorCode::Internal, "the file store failed").into()
}

/// The file name to keep: at most [`MAX_NAME_BYTES`], without control or
/// bidirectional-override characters; `file` when none is left.
fn clean_name(name: Option<&str>) -> Result<String, KoiError> {
    let name = name.unwrap_or("");
    if name.len() > MAX_NAME_BYTES {
        return Err(KoiError::bad_request(format!(
            "file name over {MAX_NAME_BYTES} bytes"
        )));
    }
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let cleaned = cleaned.trim();
    Ok(if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned.to_owned()
    })
}

/// Characters that reorder how a name is displayed ("txt.exe" shown as
/// "exe.txt"), and invisible ones.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// The declared `Content-Type`: `type/subtype` (parameters allowed) of
/// visible ASCII, at most [`MAX_NAME_BYTES`]; `application/octet-stream`
/// when absent.
fn media_type(headers: &HeaderMap) -> Result<String, KoiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok("application/octet-stream".into());
    };
    let invalid = || KoiError::bad_request("Content-Type is not a media type");
    let value = value.to_str().map_err(|_| invalid())?.trim();
    if value.is_empty() {
        return Ok("application/octet-stream".into());
    }
    let essence = value.split(';').next().unwrap_or("").trim();
    let valid = value.len() <= MAX_NAME_BYTES
        && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'));
    if !valid {
        return Err(invalid());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_characters_and_stay_bounded() {
        assert_eq!(clean_name(Some("a\r\nb\u{0}c.txt")).unwrap(), "abc.txt");
        assert_eq!(
            clean_name(Some("evil\u{202E}txt.exe")).unwrap(),
            "eviltxt.exe"
        );
        assert_eq!(clean_name(Some("\u{7}\t")).unwrap(), "file");
        assert_eq!(clean_name(None).unwrap(), "file");
        assert_eq!(clean_name(Some("ü pond.png")).unwrap(), "ü pond.png");
        assert!(clean_name(Some(&"x".repeat(256))).is_err());
        assert!(clean_name(Some(&"x".repeat(255))).is_ok());
    }

    #[test]
    fn media_types_are_checked() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            media_type(&h)
        };
        assert_eq!(with("image/png").unwrap(), "image/png");
        assert_eq!(
            with("text/plain; charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert!(with("nonsense").is_err());
        assert!(with("a/b/c").is_err());
        assert_eq!(
            media_type(&HeaderMap::new()).unwrap(),
            "application/octet-stream"
        );
    }
}
