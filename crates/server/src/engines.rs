//! The engines a node runs on: embedded (SQLite, in-process routing) or cluster
//! (PostgreSQL, NATS). Everything above this file sees only the three seams.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use koi_cluster::local::{LocalRegistry, LocalRouter};
use koi_cluster::nats::{NatsRegistry, NatsRouter, RegistryOptions, SharedSettings};
use koi_cluster::{Hub, Registry, Router};
use koi_store::postgres::PostgresStore;
use koi_store::sqlite::SqliteStore;
use koi_store::{FileContent, LocalContent, ObjectContent, Store};

use crate::config::Config;
use crate::tokens::Tokens;

/// The store, router and registry of a node.
pub struct Engines {
    pub store: Arc<dyn Store>,
    pub router: Arc<dyn Router>,
    pub registry: Arc<dyn Registry>,
    /// Where uploaded files' bytes are kept beyond the node's own directory.
    pub content: Arc<dyn FileContent>,
    /// In a cluster, where run-time settings changes go to and come from.
    pub settings: Option<SharedSettings>,
    /// In a cluster, the registry to withdraw from at a clean shutdown.
    pub cluster: Option<Arc<NatsRegistry>>,
    /// The token signing secret: the configured one, else the node's own
    /// (`token.key` in the data dir) or, in a cluster, the one every node reads
    /// from PostgreSQL.
    pub token_secret: Vec<u8>,
}

/// The name of the token signing secret in the cluster's `cluster_secrets`.
const TOKEN_SECRET_NAME: &str = "token";
/// How many random bytes a generated signing secret has.
const GENERATED_SECRET_BYTES: usize = 32;

impl Engines {
    /// Opens the engines the configuration names, for node `node_id` whose
    /// connections live in `hub`.
    pub async fn open(config: &Config, hub: Arc<Hub>, node_id: &str) -> anyhow::Result<Engines> {
        match (&config.nats, &config.postgres) {
            (Some(nats), Some(postgres)) => {
                let store = PostgresStore::connect(postgres)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {postgres}"))?;
                let client = koi_cluster::nats::connect(nats, node_id)
                    .await
                    .with_context(|| format!("connecting to NATS at {nats}"))?;
                let registry = Arc::new(
                    NatsRegistry::new(client.clone(), node_id, RegistryOptions::default())
                        .await
                        .context("opening the NATS registry")?,
                );
                let token_secret = match &config.token_secret {
                    Some(secret) => secret.as_bytes().to_vec(),
                    None => store
                        .shared_secret(TOKEN_SECRET_NAME, GENERATED_SECRET_BYTES)
                        .await
                        .context("reading the cluster's token secret from PostgreSQL")?,
                };
                let settings = SharedSettings::new(client.clone());
                let router =
                    NatsRouter::new(client, hub, node_id).count_remote_with(registry.clone());
                let content: Arc<dyn FileContent> = match &config.s3 {
                    Some(s3) => Arc::new(s3_content(s3).await?),
                    None => Arc::new(store.content()),
                };
                Ok(Engines {
                    content,
                    store: Arc::new(store),
                    router: Arc::new(router),
                    registry: registry.clone(),
                    settings: Some(settings),
                    cluster: Some(registry),
                    token_secret,
                })
            }
            _ => Ok(Engines {
                store: Arc::new(SqliteStore::open(&sqlite_path(&config.data))?),
                router: Arc::new(LocalRouter::new(hub)),
                registry: Arc::new(LocalRegistry::new()),
                content: Arc::new(LocalContent),
                settings: None,
                cluster: None,
                token_secret: Tokens::load_secret(config.token_secret.as_deref(), &config.data)?,
            }),
        }
    }
}

/// Files in the configured S3 bucket, checked once: a node whose bucket
/// cannot be reached does not start.
async fn s3_content(s3: &koi_store::S3Settings) -> anyhow::Result<ObjectContent> {
    let place = || {
        let endpoint = s3.endpoint.as_deref().unwrap_or("AWS");
        format!("the S3 bucket {} at {endpoint}", s3.bucket)
    };
    let content = ObjectContent::s3(s3).with_context(|| format!("configuring {}", place()))?;
    content
        .check()
        .await
        .with_context(|| format!("reaching {}", place()))?;
    Ok(content)
}

fn sqlite_path(data: &Path) -> std::path::PathBuf {
    data.join("koi.db")
}
