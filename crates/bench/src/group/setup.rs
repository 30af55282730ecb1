//! Setting a group run up: the members' accounts and tokens, the group itself
//! (found again when a reused prefix already made it), and the connections.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use koi_client::{Api, ConnectOptions, Connection, Node, Transport};

/// Members per `group_create` / `group_add`: 1,000 names of up to 32
/// characters stay well inside the default `max_frame_bytes` (64 KiB).
const ADD_BATCH: usize = 1000;
/// How long one `group_add` of a batch may take (a busy store, a huge group).
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Member `i` of the group; member 0 creates it and owns it.
pub fn member(prefix: &str, i: usize) -> String {
    format!("{prefix}-m{i}")
}

/// The sender of direct pair `i`.
pub fn direct_sender(prefix: &str, i: usize) -> String {
    format!("{prefix}-ds{i}")
}

/// The receiver of direct pair `i`.
pub fn direct_receiver(prefix: &str, i: usize) -> String {
    format!("{prefix}-dr{i}")
}

/// The group's name: a rerun with the same prefix and size finds it again.
pub fn group_name(prefix: &str, members: usize) -> String {
    format!("koi-bench {prefix} {members}")
}

/// The group the run sends to.
#[derive(Debug, Clone)]
pub struct Group {
    /// The bare id: the conversation is `g:<id>`.
    pub id: String,
    /// True when an earlier run with this prefix had made it.
    pub reused: bool,
}

/// Finds the group of `members` that member 0 made in an earlier run, or
/// creates it, then adds every member (those already in it are skipped).
pub async fn group(owner: &Connection, prefix: &str, members: &[String]) -> anyhow::Result<Group> {
    let name = group_name(prefix, members.len());
    let found = owner
        .sync()
        .await
        .context("sync")?
        .into_iter()
        .find(|c| c.kind == "group" && c.name.as_deref() == Some(name.as_str()))
        .and_then(|c| c.group);
    if let Some(id) = found {
        let info = owner.group_info(&id).await.context("group_info")?;
        let size = info.group.map_or(0, |g| g.size) as usize;
        if size == members.len() {
            progress!("reusing group {id} ({size} members) from an earlier run");
            return Ok(Group { id, reused: true });
        }
        progress!("group {id} has {size} of {} members: adding", members.len());
        add(owner, &id, &members[1..]).await?;
        return Ok(Group { id, reused: true });
    }
    let first = &members[1..members.len().min(ADD_BATCH)];
    let group = owner
        .group_create(&name, first, false)
        .await
        .context("group_create")?;
    progress!(
        "created group {} with {} members",
        group.id,
        first.len() + 1
    );
    add(owner, &group.id, &members[first.len() + 1..]).await?;
    Ok(Group {
        id: group.id,
        reused: false,
    })
}

async fn add(owner: &Connection, group: &str, users: &[String]) -> anyhow::Result<()> {
    let mut added = 0;
    for batch in users.chunks(ADD_BATCH) {
        owner
            .group_add(group, batch.iter().map(String::as_str))
            .await
            .with_context(|| format!("group_add of {} members", batch.len()))?;
        added += batch.len();
        if added % 10_000 < ADD_BATCH {
            progress!("added {added} of {} members", users.len());
        }
    }
    Ok(())
}

/// Opens the connection that sets the group up (pushes off, long timeout).
pub async fn owner(node: &Node, transport: Transport, token: &str) -> anyhow::Result<Connection> {
    let options = ConnectOptions {
        request_timeout: SETUP_TIMEOUT,
        deliver_pushes: false,
        ..ConnectOptions::default()
    };
    let addr = transport.addr(node);
    Connection::open_with(addr, transport, token, &options)
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// How the run's connections are opened.
#[derive(Debug, Clone)]
pub struct Dial<'a> {
    pub nodes: &'a [Node],
    pub transport: Transport,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Dial<'_> {
    /// One connection per token, in order, spread over the nodes round robin;
    /// `pushes` false for connections that only send.
    pub async fn open(&self, tokens: &[String], pushes: bool) -> anyhow::Result<Vec<Connection>> {
        if self.nodes.is_empty() {
            bail!("no node to connect to");
        }
        futures::stream::iter(tokens.iter().enumerate())
            .map(|(i, token)| async move {
                let addr = self.transport.addr(&self.nodes[i % self.nodes.len()]);
                let options = ConnectOptions {
                    request_timeout: self.timeout,
                    deliver_pushes: pushes,
                    ..ConnectOptions::default()
                };
                Connection::open_with(addr, self.transport, token, &options)
                    .await
                    .with_context(|| format!("connecting to {addr}"))
            })
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await
    }
}
