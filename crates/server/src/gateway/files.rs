//! `POST /v1/files` streams an upload to the file store; `GET /v1/files/{id}`
//! serves it back with its content type and HTTP Range support.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use koi_core::{ErrorCode, KoiError};
use koi_store::FileRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::Gateway;
use super::bearer::UserAuth;
use crate::http_error::HttpError;

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    name: Option<String>,
}

pub(super) async fn upload(
    State(gateway): State<Arc<Gateway>>,
    UserAuth(user): UserAuth,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let max = gateway.max_file_bytes;
    let too_large = || {
        KoiError::new(
            ErrorCode::TooLarge,
            format!("file over max_file_bytes ({max})"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large().into());
    }
    let name = query
        .name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "file".into());
    if name.len() > 255 {
        return Err(KoiError::bad_request("file name over 255 bytes").into());
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream")
        .to_owned();

    let id = koi_store::new_id();
    let tmp = gateway.files_dir.join(format!("{id}.part"));
    let internal =
        |e: std::io::Error| KoiError::new(ErrorCode::Internal, format!("file store: {e}"));
    let mut file = tokio::fs::File::create(&tmp).await.map_err(internal)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    let result: Result<(), KoiError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| KoiError::bad_request(format!("upload interrupted: {e}")))?;
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(internal)?;
        }
        file.sync_all().await.map_err(internal)?;
        Ok(())
    }
    .await;
    drop(file);
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e.into());
    }
    let path = gateway.files_dir.join(&id);
    tokio::fs::rename(&tmp, &path).await.map_err(internal)?;
    if let Err(e) = gateway.content.keep(&id, &path).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(KoiError::from(e).into());
    }
    let record = FileRecord {
        id: id.clone(),
        owner: user.to_string(),
        name: name.clone(),
        size,
        mime: mime.clone(),
        sha256: hex::encode(hasher.finalize()),
        created_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    let sha256 = record.sha256.clone();
    gateway.logic.store().put_file(record).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"file_id": id, "name": name, "size": size, "mime": mime, "sha256": sha256})),
    ))
}

pub(super) async fn download(
    State(gateway): State<Arc<Gateway>>,
    _user: UserAuth,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let not_found = || KoiError::not_found(format!("no file {id}"));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found().into());
    }
    let record = gateway
        .logic
        .store()
        .file(&id)
        .await?
        .ok_or_else(not_found)?;
    let path = gateway.files_dir.join(&record.id);
    if !gateway.content.fetch(&record.id, &path).await? {
        return Err(not_found().into());
    }
    let mut response = ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|e| KoiError::new(ErrorCode::Internal, e.to_string()))?
        .map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(not_found().into());
    }
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&record.mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    let disposition = format!(
        "inline; filename=\"{}\"",
        record.name.replace(['"', '\\', '\r', '\n'], "_")
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response.into_response())
}
