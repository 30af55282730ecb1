//! Scenario tests against the real `koi` binary over real sockets.
//!
//! Every test starts its own node (fresh data dir, free ports) and talks to it
//! the way any client would: HTTP, WebSocket (JSON and protobuf) and TCP.

mod harness;

mod bad_input;
mod cluster;
mod contacts;
mod durability;
mod files;
mod filter;
mod groups;
mod http_api;
mod messaging;
mod presence;
mod push_api;
mod session;
mod shutdown;
