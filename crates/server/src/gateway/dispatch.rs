//! `GET /v1/dispatch`: the live access nodes, least loaded first.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use koi_core::{ErrorCode, KoiError};
use serde_json::{Value, json};

use super::Gateway;
use super::bearer::UserAuth;
use crate::http_error::HttpError;

pub(super) async fn dispatch(
    State(gateway): State<Arc<Gateway>>,
    _user: UserAuth,
) -> Result<Json<Value>, HttpError> {
    // No announce here: the heartbeat keeps this node's entry fresh, and a
    // registry write per client dispatch would be a cluster-wide hot spot.
    let mut nodes = gateway
        .logic
        .registry()
        .nodes()
        .await
        .map_err(|e| KoiError::new(ErrorCode::Unavailable, e.to_string()))?;
    nodes.retain(|n| n.is_access());
    if nodes.is_empty() {
        return Err(KoiError::new(ErrorCode::Unavailable, "no access node is alive").into());
    }
    nodes.sort_by_key(|n| n.connections);
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|n| json!({"id": n.id, "ws": n.ws, "tcp": n.tcp, "tls": n.tls}))
        .collect();
    Ok(Json(json!({ "nodes": nodes })))
}
