//! The contract against the embedded implementations (one node).

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use koi_cluster::contract::{self, Cluster};
use koi_cluster::local::{LocalRegistry, LocalRouter};
use koi_cluster::{Hub, Router};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_router_and_registry_pass_the_contract() {
    let cluster = Cluster::single(
        Arc::new(Hub::new()),
        |hub| Arc::new(LocalRouter::new(hub)) as Arc<dyn Router>,
        Arc::new(LocalRegistry::new()),
    );
    contract::run_all(&cluster).await;
}
