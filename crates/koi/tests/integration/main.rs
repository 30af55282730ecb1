//! Scenario tests against the real `koi` binary over real sockets.
//!
//! Every test starts its own deployment (fresh data dirs, free ports) and talks
//! to it the way any client would: HTTP, WebSocket (JSON and protobuf) and TCP.
//! The protocol tests run twice, on one embedded node (`<module>::embedded::<test>`)
//! and on a three-node cluster with clients spread over the nodes
//! (`<module>::cluster::<test>`); tests about one process are plain
//! `<module>::<test>`, and each module says which and why.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

mod harness;

mod abuse;
mod accounts;
mod bad_input;
mod cluster;
mod contacts;
mod durability;
mod edge;
mod files;
mod files_s3;
mod filter;
mod group_settings;
mod groups;
mod http_api;
mod input_bounds;
mod lifecycle;
mod messaging;
mod people;
mod presence;
mod privacy;
mod provisioning;
mod push_api;
mod roles;
mod search;
mod session;
mod shutdown;
mod tls;
