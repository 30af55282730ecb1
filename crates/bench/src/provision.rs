//! Setting up many users fast through the node's admin endpoints: accounts
//! from `POST /v1/admin/users` (one password hash per request instead of one
//! per user) and tokens from `POST /v1/admin/tokens` (no hash at all), where
//! `/v1/register` and `/v1/login` would cost an argon2 hash each.

use std::collections::HashMap;

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use koi_client::{ClientError, Http, Node};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::users::PASSWORD;

/// Accounts or tokens per request: the endpoints' limit.
const BATCH: usize = 1000;
/// Users per `POST /v1/push`: that endpoint's limit.
const PUSH_BATCH: usize = 10_000;
/// Account requests at once: each waits for one hash, which the node runs on
/// one core, so two keep both of a small node's cores busy.
const CREATE_CONCURRENCY: usize = 2;
/// Token requests at once (cheap: signing only).
const TOKEN_CONCURRENCY: usize = 4;

/// The node's admin API, authenticated with its `admin_token`.
#[derive(Debug, Clone)]
pub struct Admin {
    http: Http,
}

/// What provisioning found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Provisioned {
    pub created: u64,
    pub existing: u64,
}

#[derive(Deserialize)]
struct Created {
    created: u64,
    existing: u64,
}

#[derive(Deserialize)]
struct Tokens {
    tokens: HashMap<String, String>,
}

#[derive(Deserialize)]
struct Pushed {
    delivered_online: u64,
}

impl Admin {
    pub fn new(url: &str, admin_token: &str) -> anyhow::Result<Admin> {
        Ok(Admin {
            http: Http::new(url)?.with_token(admin_token),
        })
    }

    /// Creates the accounts of `names` with the bench's password; existing
    /// ones are left as they are (so a reused prefix costs no hash).
    pub async fn create_users(&self, names: &[String]) -> anyhow::Result<Provisioned> {
        futures::stream::iter(names.chunks(BATCH))
            .map(|batch| async move {
                let users: Vec<_> = batch
                    .iter()
                    .map(|name| json!({"username": name, "password": PASSWORD}))
                    .collect();
                let created: Created = self
                    .post("v1/admin/users", json!({ "users": users }))
                    .await?;
                anyhow::Ok(Provisioned {
                    created: created.created,
                    existing: created.existing,
                })
            })
            .buffer_unordered(CREATE_CONCURRENCY)
            .try_fold(Provisioned::default(), |sum, p| async move {
                Ok(Provisioned {
                    created: sum.created + p.created,
                    existing: sum.existing + p.existing,
                })
            })
            .await
    }

    /// A login token for each of `names`, in the same order.
    pub async fn tokens(&self, names: &[String]) -> anyhow::Result<Vec<String>> {
        let batches: Vec<Vec<String>> = futures::stream::iter(names.chunks(BATCH))
            .map(|batch| async move {
                let mut tokens: Tokens = self
                    .post("v1/admin/tokens", json!({ "usernames": batch }))
                    .await?;
                batch
                    .iter()
                    .map(|name| {
                        tokens
                            .tokens
                            .remove(name)
                            .with_context(|| format!("no token for {name} in the reply"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .buffered(TOKEN_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(batches.into_iter().flatten().collect())
    }

    /// `POST /v1/push` of `text` to every one of `users`; returns the devices
    /// reached, as the node counted them.
    pub async fn push(&self, users: &[String], text: &str) -> anyhow::Result<u64> {
        futures::stream::iter(users.chunks(PUSH_BATCH))
            .map(|batch| async move {
                let pushed: Pushed = self
                    .post("v1/push", json!({"users": batch, "text": text}))
                    .await?;
                anyhow::Ok(pushed.delivered_online)
            })
            .buffer_unordered(2)
            .try_fold(0, |sum, n| async move { Ok(sum + n) })
            .await
    }

    /// The nodes to connect to, asked with the token of one of the bench's users.
    pub async fn dispatch(&self, user_token: &str) -> anyhow::Result<Vec<Node>> {
        let nodes = self
            .http
            .clone()
            .with_token(user_token)
            .dispatch()
            .await
            .context("GET /v1/dispatch")?;
        if nodes.is_empty() {
            bail!("dispatch listed no node");
        }
        Ok(nodes)
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        let req = self
            .http
            .request(Method::POST, self.http.url(path)?)
            .json(&body);
        self.http.call(req).await.map_err(|e| explain(path, e))
    }
}

/// Turns the failures a user can fix into advice.
fn explain(path: &str, e: ClientError) -> anyhow::Error {
    let hint = match e.status() {
        Some(401 | 403) => {
            "pass the node's admin token with --admin-token (the node needs --admin-token too)"
        }
        Some(404) if e.code() == Some("not_found") && path.contains("users") => {
            "the node has no admin provisioning endpoints (an older build?)"
        }
        _ => "",
    };
    let e = anyhow::Error::new(e).context(format!("POST /{path}"));
    if hint.is_empty() { e } else { e.context(hint) }
}
