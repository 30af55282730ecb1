//! Pairs over the Koi protocol, to a node or to the null relay (which serves
//! the same HTTP and frames):
//!
//! 1. registers and logs in `<prefix>-s<i>` and `<prefix>-r<i>`;
//! 2. connects every receiver (pushes on), then every sender (pushes off), to
//!    the nodes from dispatch, round robin;
//! 3. hands them over as [`Pairs`]: a sender's outlet sends direct messages to
//!    its receiver, a receiver's inlet yields its `msg` pushes.
//!
//! [`Sender`] and [`Receiver`] serve `group` too, on the connections it opens.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use koi_client::{ClientError, ConnectOptions, Connection, Http, Node, Transport};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use tokio::time::Instant;

use super::link::{Action, Delivery, Draft, Inlet, Outlet, Pairs, Reacted};
use super::phase::LoadArgs;
use super::transport::TransportArg;
use super::users;

/// The server's default `msgs_per_sec`.
pub const DEFAULT_SERVER_RATE: f64 = 50.0;

/// Who the pairs are and how they connect.
#[derive(Debug, Clone, Args)]
pub struct PairsArgs {
    /// Users, an even number: U/2 sender → receiver pairs, one connection each.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Transport and encoding of every connection.
    #[arg(long, value_enum, default_value_t = TransportArg::WsJson)]
    pub transport: TransportArg,
    /// Username prefix (users are `<prefix>-s<i>`, `<prefix>-r<i>`) [default: from the time].
    #[arg(long)]
    pub prefix: Option<String>,
    /// Seconds a request waits for its reply.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Concurrent registrations and logins during setup. Each costs the node an
    /// argon2 hash (19 MiB, tens of ms of CPU); more at once than the node has
    /// cores does not go faster, and swells the node's memory (docs/benchmarks.md).
    #[arg(long, default_value_t = 4)]
    pub login_concurrency: usize,
    /// Concurrent connection attempts during setup.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// The node's `msgs_per_sec` (frames per second per connection), to warn
    /// before the run when the offered rate per sender is over it.
    #[arg(long, default_value_t = DEFAULT_SERVER_RATE)]
    pub server_msgs_per_sec: f64,
}

impl PairsArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.users < 2 || !self.users.is_multiple_of(2) {
            bail!("--users must be even and at least 2 (U/2 sender → receiver pairs)");
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            bail!("--timeout must be positive");
        }
        Ok(())
    }

    /// [`PairsArgs::check`], then the load the pairs are to carry.
    pub fn check_with(&self, load: &LoadArgs) -> anyhow::Result<()> {
        self.check()?;
        load.check()
    }

    pub fn pairs(&self) -> usize {
        self.users / 2
    }

    /// The given prefix, or one made from the time; checked either way.
    pub fn prefix(&self) -> anyhow::Result<String> {
        let prefix = self.prefix.clone().unwrap_or_else(users::default_prefix);
        users::check_prefix(&prefix)?;
        Ok(prefix)
    }

    /// A warning when `rate` gives each sender more than the node allows one
    /// connection, with the flags that would allow it.
    pub fn rate_warning(&self, rate: f64) -> Option<String> {
        let per_sender = rate / self.pairs() as f64;
        (per_sender > self.server_msgs_per_sec).then(|| {
            format!(
                "each sender offers {per_sender:.1} msgs/s, over the node's limit of {} frames/s per connection \
                 (--server-msgs-per-sec): sends over it fail with rate_limited. Run the node with \
                 --msgs-per-sec {} --msgs-burst {} --user-msgs-per-sec {} or more (see docs/benchmarks.md), or use --users {} or more",
                self.server_msgs_per_sec,
                (per_sender * 2.0).ceil(),
                (per_sender * 2.0).ceil().max(100.0),
                (per_sender * 2.0).ceil().max(100.0),
                ((rate / self.server_msgs_per_sec).ceil() as usize * 2).max(2),
            )
        })
    }
}

/// The pairs of one target, connected.
#[derive(Debug)]
pub struct Connected {
    pub pairs: Pairs<Sender, Receiver>,
    /// Nodes listed by dispatch.
    pub nodes: usize,
    /// Seconds taken by sign-in and connecting.
    pub setup_s: f64,
}

/// Signs the users of `args` in at the gateway `url` and connects them.
pub async fn connect(url: &str, args: &PairsArgs, prefix: &str) -> anyhow::Result<Connected> {
    let started = Instant::now();
    let pairs = args.pairs();
    let http = Http::new(url)?;
    let names: Vec<String> = (0..pairs)
        .flat_map(|i| [users::receiver(prefix, i), users::sender(prefix, i)])
        .collect();
    progress!(
        "registering and logging in {} users (prefix {prefix})",
        names.len()
    );
    let sessions = users::sign_in(&http, &names, args.login_concurrency).await?;
    let nodes = http
        .clone()
        .with_token(sessions[0].token.clone())
        .dispatch()
        .await
        .context("GET /v1/dispatch")?;
    if nodes.is_empty() {
        bail!("dispatch listed no node");
    }
    let transport = args.transport.transport();
    progress!(
        "connecting {} {} connections to {}",
        names.len(),
        args.transport.name(),
        nodes
            .iter()
            .map(|n| transport.addr(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let timeout = Duration::from_secs_f64(args.timeout);
    // Receivers (even indexes) first, so they are online before anything is sent.
    let order: Vec<usize> = (0..pairs)
        .map(|i| 2 * i)
        .chain((0..pairs).map(|i| 2 * i + 1))
        .collect();
    let mut conns = futures::stream::iter(order.iter().copied())
        .map(|k| {
            let node = &nodes[k % nodes.len()];
            let options = ConnectOptions {
                request_timeout: timeout,
                deliver_pushes: k % 2 == 0,
                ..ConnectOptions::default()
            };
            open(node, transport, &sessions[k].token, options)
        })
        .buffered(args.connect_concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let senders = conns
        .split_off(pairs)
        .into_iter()
        .enumerate()
        .map(|(pair, conn)| Sender::new(conn, Target::User(users::receiver(prefix, pair))).into())
        .collect();
    let receivers = conns
        .into_iter()
        .map(|conn| Receiver::new(conn).into())
        .collect();
    Ok(Connected {
        pairs: Pairs { senders, receivers },
        nodes: nodes.len(),
        setup_s: started.elapsed().as_secs_f64(),
    })
}

async fn open(
    node: &Node,
    transport: Transport,
    token: &str,
    options: ConnectOptions,
) -> anyhow::Result<Connection> {
    let addr = transport.addr(node);
    Connection::open_with(addr, transport, token, &options)
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// Where a sender's messages go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A conversation, e.g. `g:<id>`.
    Conv(String),
    /// A user: their direct conversation with the sender.
    User(String),
}

impl Target {
    /// The request of `draft` to this target: the `send` of a text message,
    /// or a `react` / `unreact` in `conv` (the target's conversation, known
    /// once a send to it was acknowledged).
    fn op(&self, draft: Draft, conv: Option<&str>) -> Result<Op, String> {
        let seq = match draft.action {
            Action::Send => return Ok(self.send_op(draft)),
            Action::React { seq } | Action::Unreact { seq } => seq,
        };
        let conv = match self {
            Target::Conv(conv) => conv.as_str(),
            Target::User(_) => conv.ok_or_else(|| "no_conv".to_owned())?,
        };
        let react = koi_proto::React {
            conv: conv.to_owned(),
            seq,
            emoji: draft.id,
        };
        Ok(match draft.action {
            Action::Unreact { .. } => Op::Unreact(react),
            _ => Op::React(react),
        })
    }

    /// The `send` of `draft`, a text message, to this target.
    fn send_op(&self, draft: Draft) -> Op {
        let (to, conv) = match self {
            Target::Conv(conv) => (None, Some(conv.clone())),
            Target::User(user) => (Some(user.clone()), None),
        };
        Op::Send(koi_proto::Send {
            to,
            conv,
            client_msg_id: draft.id,
            kind: "text".to_owned(),
            text: Some(draft.text.to_string()),
            file: None,
            meta: Some(draft.meta),
            ..koi_proto::Send::default()
        })
    }
}

/// A sender's connection: each draft is a `send` of a text message to its
/// target, or a reaction in the target's conversation.
#[derive(Debug)]
pub struct Sender {
    conn: Connection,
    target: Target,
    /// The target's conversation, from the first acknowledged send.
    conv: OnceLock<String>,
}

impl Sender {
    /// Sends over `conn` (no pushes needed) to `target`.
    pub fn new(conn: Connection, target: Target) -> Self {
        Sender {
            conn,
            target,
            conv: OnceLock::new(),
        }
    }
}

impl Outlet for Sender {
    async fn send(&self, draft: Draft) -> Result<Option<u64>, String> {
        let op = self.target.op(draft, self.conv.get().map(String::as_str))?;
        match self.conn.request(op).await {
            Ok(Body::Send(ok)) => {
                let seq = ok.seq;
                let _ = self.conv.set(ok.conv);
                Ok(Some(seq))
            }
            Ok(_) => Ok(None),
            Err(ClientError::Timeout) => Err("timeout".to_owned()),
            Err(e) if e.is_closed() => Err("closed".to_owned()),
            Err(e) => Err(e.code().unwrap_or("other").to_owned()),
        }
    }

    fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    fn ended(&self) -> Option<String> {
        ended(&self.conn)
    }
}

/// A receiver's connection: its `msg` pushes.
#[derive(Debug)]
pub struct Receiver {
    conn: Connection,
}

impl Receiver {
    /// `conn` must deliver pushes.
    pub fn new(conn: Connection) -> Self {
        Receiver { conn }
    }
}

impl Inlet for Receiver {
    async fn next(&self) -> Option<Delivery> {
        loop {
            if let Op::Msg(msg) = self.conn.next_push().await? {
                let reaction = msg.event.as_ref().and_then(|e| match e.r#type.as_str() {
                    "react" => Some(Reacted::React),
                    "unreact" => Some(Reacted::Unreact),
                    _ => None,
                });
                let id = match (reaction, msg.event) {
                    (Some(_), Some(event)) => event.emoji.unwrap_or_default(),
                    _ => msg.client_msg_id,
                };
                return Some(Delivery {
                    id,
                    seq: msg.seq,
                    meta: msg.meta,
                    reaction,
                });
            }
        }
    }

    fn ended(&self) -> Option<String> {
        ended(&self.conn)
    }
}

fn ended(conn: &Connection) -> Option<String> {
    conn.is_closed().then(|| match conn.disconnect() {
        Some(d) => d.to_string(),
        None => "closed".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_goes_to_the_target() {
        let draft = Draft {
            n: 7,
            id: "r-3-7".to_owned(),
            action: Action::Send,
            meta: "42".to_owned(),
            text: "t".into(),
        };
        let send = |target: Target| match target.op(draft.clone(), None) {
            Ok(Op::Send(send)) => send,
            op => panic!("a send, not {op:?}"),
        };
        let to_group = send(Target::Conv("g:x".into()));
        assert_eq!(to_group.client_msg_id, "r-3-7");
        assert_eq!(
            (to_group.to.as_deref(), to_group.conv.as_deref()),
            (None, Some("g:x"))
        );
        assert_eq!(
            (to_group.text.as_deref(), to_group.meta.as_deref()),
            (Some("t"), Some("42"))
        );
        let to_user = send(Target::User("u".into()));
        assert_eq!(
            (to_user.to.as_deref(), to_user.conv.as_deref()),
            (Some("u"), None)
        );
    }

    #[test]
    fn a_reaction_goes_to_the_targets_conversation_with_the_key_as_emoji() {
        let draft = |action| Draft {
            n: 9,
            id: "k-3-2".to_owned(),
            action,
            meta: "42".to_owned(),
            text: "t".into(),
        };
        let group = Target::Conv("g:x".into());
        match group.op(draft(Action::React { seq: 5 }), None) {
            Ok(Op::React(r)) => assert_eq!(
                (r.conv.as_str(), r.seq, r.emoji.as_str()),
                ("g:x", 5, "k-3-2")
            ),
            op => panic!("a react, not {op:?}"),
        }
        // A direct conversation is known once a send was acknowledged.
        let user = Target::User("u".into());
        assert_eq!(
            user.op(draft(Action::Unreact { seq: 5 }), None)
                .err()
                .as_deref(),
            Some("no_conv")
        );
        match user.op(draft(Action::Unreact { seq: 5 }), Some("d:a:u")) {
            Ok(Op::Unreact(r)) => assert_eq!((r.conv.as_str(), r.seq), ("d:a:u", 5)),
            op => panic!("an unreact, not {op:?}"),
        }
    }
}
