//! Admin endpoints: the cluster view and the word filter.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use koi_core::{ErrorCode, KoiError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Gateway;
use super::bearer::AdminAuth;
use crate::filter_sync::FilterChange;
use crate::http_error::HttpError;

pub(super) async fn cluster(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
) -> Result<Json<Value>, HttpError> {
    gateway.node.announce().await;
    let nodes = gateway
        .logic
        .registry()
        .nodes()
        .await
        .map_err(|e| KoiError::new(ErrorCode::Unavailable, e.to_string()))?;
    Ok(Json(json!({ "nodes": nodes })))
}

#[derive(Deserialize)]
pub(super) struct FilterBody {
    words: Vec<String>,
    action: Option<String>,
}

/// `POST /v1/admin/filter {words, action?}` replaces the word list at once.
pub(super) async fn set_filter(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    body: Result<Json<FilterBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(body) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let change = FilterChange {
        words: body.words,
        action: body.action.unwrap_or_else(|| "mask".into()),
    };
    let filter = change
        .filter()
        .ok_or_else(|| KoiError::bad_request(format!("unknown action {:?}", change.action)))?;
    gateway.logic.set_filter(filter);
    if let Some(settings) = &gateway.settings {
        let others = gateway.node.others_alive().await;
        crate::filter_sync::publish(settings, &change, others).await?;
    }
    Ok(Json(json!({"words": gateway.logic.filter_len()})))
}

/// `POST /v1/admin/filter/reload` re-reads `[filter]` from the configuration file.
pub(super) async fn reload_filter(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
) -> Result<Json<Value>, HttpError> {
    let path = gateway
        .config_file
        .as_ref()
        .ok_or_else(|| KoiError::bad_request("the node was started without --config"))?;
    let filter =
        crate::config::reload_filter(path).map_err(|e| KoiError::bad_request(format!("{e:#}")))?;
    gateway.logic.set_filter(filter);
    Ok(Json(json!({"words": gateway.logic.filter_len()})))
}
