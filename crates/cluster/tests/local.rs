//! The contract against the embedded implementations (one node).

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
