//! # Koi server
//!
//! One node: any subset of the roles, wired to its engines.
//!
//! - [`config`] — flags, environment, TOML; validated once.
//! - [`edge`] — the HTTP listener's limits, TLS, owner-only data files.
//! - [`gateway`] — HTTP API, WebSocket endpoint, web pages.
//! - [`access`] — client connections (WebSocket and TCP), sessions, outbound queues.
//! - [`logic`] — authorization, filtering, storing, fan-out; groups, contacts, presence.
//! - [`monitor`] — metrics.
//! - [`node`] — starting a node and stopping it gracefully.

pub mod access;
mod addr_sync;
pub mod config;
pub mod edge;
mod engines;
mod filter_sync;
pub mod gateway;
mod http_error;
pub mod logic;
mod login_sync;
pub mod monitor;
pub mod node;
mod node_info;
mod passwords;
mod rate_sync;
pub mod revocation;
pub mod tokens;

pub use config::{Config, ServeArgs};
pub use node::run;
