//! The gateway role: the HTTP API, the WebSocket endpoint and the web pages.
//!
//! Every handler maps its failures through [`crate::http_error::HttpError`].

mod account;
mod accounts;
mod addr_limits;
mod admin;
mod admin_users;
mod bearer;
mod dispatch;
mod files;
mod health;
mod login_session;
mod login_throttle;
mod logout;
mod messages;
mod new_account;
mod pages;
mod password;
mod provisioning;
mod push;
mod revoke;
mod sessions;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use metrics_exporter_prometheus::PrometheusHandle;

pub use addr_limits::{AddrKey, AddrLimits, AddrUse};
pub use files::{InFlight, spawn_sweep};
pub use login_throttle::{AttemptKey, LoginThrottle};

use crate::access::{Access, ws_upgrade};
use crate::edge::slots::HeldSlot;
use crate::logic::Logic;
use crate::node_info::NodeSelf;
use crate::revocation::Revocations;
use crate::tokens::Tokens;

/// What the HTTP handlers share.
pub struct Gateway {
    pub logic: Arc<Logic>,
    pub tokens: Arc<Tokens>,
    /// Which tokens are revoked; applies revocations and kicks their connections.
    pub revocations: Arc<Revocations>,
    /// Present when this node runs the access role (serves `/ws`).
    pub access: Option<Arc<Access>>,
    pub admin_token: Option<String>,
    pub files_dir: PathBuf,
    /// Where uploads are kept beyond `files_dir` (a cluster's database).
    pub content: Arc<dyn koi_store::FileContent>,
    /// In a cluster, where admin changes to the filter are shared with every node.
    pub settings: Option<koi_cluster::nats::SharedSettings>,
    pub max_file_bytes: u64,
    /// The bound on one user's kept uploads (§15).
    pub max_user_bytes: u64,
    /// Live login sessions per user; a login beyond it ends the least recently
    /// used ones.
    pub max_sessions_per_user: usize,
    /// Bytes of uploads being received, per user, counted against the bound.
    pub uploads: InFlight,
    pub throttle: Arc<LoginThrottle>,
    /// Register and login buckets per client address.
    pub addr_limits: Arc<AddrLimits>,
    pub prometheus: Option<PrometheusHandle>,
    pub node: Arc<NodeSelf>,
    /// False once shutdown began: `/healthz` answers 503.
    pub serving: AtomicBool,
    /// The configuration file, to reload the filter from.
    pub config_file: Option<PathBuf>,
}

/// The HTTP routes of a node: the API and pages with the gateway role, `/ws`
/// with the access role, and health and metrics (the monitor) always.
pub fn routes(gateway: Arc<Gateway>) -> Router {
    let node = Router::new()
        .route("/ws", get(ws))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics));
    let node = if gateway.node.roles.iter().any(|r| r == "gateway") {
        node.merge(api())
    } else {
        node
    };
    node.fallback(health::not_found).with_state(gateway)
}

/// The gateway role's routes.
fn api() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/", get(pages::chat))
        .route("/admin", get(pages::monitor))
        .route("/static/{*file}", get(pages::asset))
        .route("/v1/register", post(accounts::register))
        .route("/v1/login", post(accounts::login))
        .route("/v1/logout", post(logout::logout))
        .route("/v1/password", post(password::change))
        .route("/v1/sessions", get(sessions::list))
        .route("/v1/sessions/{id}", delete(sessions::revoke))
        .route("/v1/account", delete(account::delete))
        .route("/v1/admin/users/{user}/disable", post(admin_users::disable))
        .route("/v1/admin/users/{user}/enable", post(admin_users::enable))
        .route("/v1/dispatch", get(dispatch::dispatch))
        .route("/v1/files", post(files::upload))
        .route("/v1/files/{id}", get(files::download))
        .route("/v1/conversations/{conv}/messages", get(messages::history))
        .route("/v1/push", post(push::push))
        .route("/v1/admin/cluster", get(admin::cluster))
        .route("/v1/admin/filter", post(admin::set_filter))
        .route("/v1/admin/filter/reload", post(admin::reload_filter))
        .route("/v1/admin/users", post(provisioning::create_users))
        .route("/v1/admin/tokens", post(provisioning::issue_tokens))
}

async fn ws(
    State(gateway): State<Arc<Gateway>>,
    held: Option<Extension<HeldSlot>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    match &gateway.access {
        Some(access) => ws_upgrade(access.clone(), upgrade, held.map(|Extension(h)| h)),
        None => health::not_found().await,
    }
}
