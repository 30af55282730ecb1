//! `GET /v1/files/{id}`: the bytes, with HTTP Range support, to the users the
//! access rule (§15, [`Logic::may_read_file`](crate::logic::Logic)) allows;
//! everyone else gets the same 404 as for a file that does not exist.
//!
//! Every response carries `X-Content-Type-Options: nosniff` and
//! `Content-Security-Policy: sandbox`, and a `Content-Disposition` that shows
//! only raster images, audio and video inline (see [`disposition`](super::disposition)).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use koi_core::{ErrorCode, KoiError};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::disposition::content_disposition;
use crate::gateway::Gateway;
use crate::gateway::bearer::UserAuth;
use crate::http_error::HttpError;

pub(in crate::gateway) async fn download(
    State(gateway): State<Arc<Gateway>>,
    UserAuth(user): UserAuth,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let not_found = || KoiError::not_found(format!("no file {id}"));
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found().into());
    }
    let record = gateway
        .logic
        .store()
        .file(&id)
        .await?
        .ok_or_else(not_found)?;
    if !gateway.logic.may_read_file(&user, &record).await? {
        return Err(not_found().into());
    }
    let path = gateway.files_dir.join(&record.id);
    if !gateway.content.fetch(&record.id, &path).await? {
        return Err(not_found().into());
    }
    let mut response = ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "serving a file failed");
            KoiError::new(ErrorCode::Internal, "the file store failed")
        })?
        .map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(not_found().into());
    }
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&record.mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    } else {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&record.mime, &record.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    // Answered per user: no shared cache may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response.into_response())
}
