//! `GET /v1/conversations/{conv}/messages`: `history` over HTTP.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use koi_core::{ErrorCode, KoiError};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{History, HistoryOk};
use serde::Deserialize;

use super::Gateway;
use super::bearer::UserAuth;
use crate::http_error::HttpError;
use crate::logic::Caller;

#[derive(Deserialize)]
pub(super) struct Range {
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<u32>,
}

pub(super) async fn history(
    State(gateway): State<Arc<Gateway>>,
    UserAuth(user): UserAuth,
    Path(conv): Path<String>,
    range: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HistoryOk>, HttpError> {
    let Query(range) = range.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let caller = Caller { user, conn: None };
    let request = Op::History(History {
        conv,
        after: range.after,
        before: range.before,
        limit: range.limit,
    });
    match gateway.logic.handle(&caller, request).await {
        Ok(Body::History(ok)) => Ok(Json(ok)),
        Ok(_) => Err(KoiError::new(ErrorCode::Internal, "unexpected reply").into()),
        // A malformed conversation name is a resource that does not exist.
        Err(e) if e.code == ErrorCode::BadRequest => Err(KoiError::not_found(e.message).into()),
        Err(e) => Err(e.into()),
    }
}
