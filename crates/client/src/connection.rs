//! One live, authenticated connection: request/reply by id, a push stream, a
//! heartbeat.
//!
//! Three tasks per connection, none per request:
//! - the **reader** decodes frames, completes the waiting request of each reply
//!   and queues pushes;
//! - the **writer** drains a queue of encoded frames, flushing once per batch;
//! - the **heartbeat** sends `ping` every `heartbeat_s` and drops the connection
//!   when a ping goes unanswered.
//!
//! A request allocates an id under a `std::sync::Mutex` (held for a map insert
//! only), encodes the frame once on the caller's task, queues it, and awaits a
//! oneshot. When either half of the socket ends, everything stops together:
//! waiting requests fail with [`ClientError::Closed`] and the push stream ends.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{Auth, AuthOk, Empty, Frame};
use tokio::sync::{mpsc, watch};

use crate::error::{ClientError, Result};
use crate::pending::Pending;
use crate::transport::Transport;
use crate::trust::Trust;
use crate::wire::{self, CloseInfo, Outgoing, RawEvent, RawReader, RawWriter};

/// Used when the server's `heartbeat_s` is 0 or missing.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// How long [`Connection::close`] waits for the server to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Most frames written between two flushes.
const MAX_BATCH: usize = 256;

/// Settings of a [`Connection`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long a request waits for its reply, and how long connecting and
    /// `auth` may take. Default 10 s.
    pub request_timeout: Duration,
    /// Ping interval; `None` (default) uses `heartbeat_s` from the `auth` reply.
    pub heartbeat: Option<Duration>,
    /// When false, pushes are read and dropped instead of queued (for
    /// connections that only send and never call [`Connection::next_push`]).
    /// Default true.
    pub deliver_pushes: bool,
    /// Frames that may wait for the writer before [`Connection::request`] waits
    /// too. Default 4096.
    pub write_queue: usize,
    /// The authorities a `wss://` or `tls://` node's certificate is checked
    /// against. Default: the system's.
    pub trust: Trust,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            request_timeout: Duration::from_secs(10),
            heartbeat: None,
            deliver_pushes: true,
            write_queue: 4096,
            trust: Trust::system(),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectCause {
    /// The server or the network ended it (see [`Disconnect::close`]).
    Remote,
    /// [`Connection::close`].
    Close,
    /// [`Connection::abort`].
    Abort,
    /// The [`Connection`] was dropped.
    Drop,
    /// A `ping` went unanswered for the request timeout.
    HeartbeatTimeout,
    /// Writing to the socket failed.
    WriteFailed(String),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// What ended it.
    pub cause: DisconnectCause,
    /// What the socket saw (WebSocket close code, socket error).
    pub close: CloseInfo,
    /// The reason of a `kicked` push received before the end, if any.
    pub kicked: Option<String>,
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            DisconnectCause::Remote => f.write_str("closed by the server")?,
            DisconnectCause::Close => f.write_str("closed by the client")?,
            DisconnectCause::Abort => f.write_str("aborted by the client")?,
            DisconnectCause::Drop => f.write_str("dropped")?,
            DisconnectCause::HeartbeatTimeout => f.write_str("heartbeat timed out")?,
            DisconnectCause::WriteFailed(e) => write!(f, "write failed: {e}")?,
        }
        if let Some(reason) = &self.kicked {
            write!(f, ", kicked: {reason}")?;
        }
        if let Some(code) = self.close.code {
            write!(f, ", close code {code}")?;
        }
        if let Some(error) = &self.close.error {
            write!(f, ", {error}")?;
        }
        Ok(())
    }
}

/// What the tasks and the handle share.
struct Shared {
    transport: Transport,
    timeout: Duration,
    pending: Mutex<Pending>,
    out: mpsc::Sender<Outgoing>,
    /// Set once: every task stops.
    stop: watch::Sender<bool>,
    /// The first cause given for stopping.
    cause: Mutex<Option<DisconnectCause>>,
    kicked: Mutex<Option<String>>,
    /// Set by the reader once everything is torn down.
    done: watch::Sender<Option<Disconnect>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn set_cause(&self, cause: DisconnectCause) {
        lock(&self.cause).get_or_insert(cause);
    }

    fn stop(&self, cause: DisconnectCause) {
        self.set_cause(cause);
        self.stop.send_replace(true);
    }

    fn is_closed(&self) -> bool {
        *self.stop.borrow() || self.done.borrow().is_some()
    }

    async fn request(&self, op: Op) -> Result<Body> {
        let (id, rx) = lock(&self.pending)
            .register()
            .map_err(|_| ClientError::Closed)?;
        let out = wire::encode(self.transport, &Frame { id, op: Some(op) });
        let exchange = async {
            self.out.send(out).await.map_err(|_| ClientError::Closed)?;
            match rx.await {
                Ok(Ok(body)) => Ok(body.unwrap_or(Body::Ping(Empty {}))),
                Ok(Err(error)) => Err(ClientError::from(error)),
                Err(_) => Err(ClientError::Closed),
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => {
                lock(&self.pending).cancel(id);
                Err(e)
            }
            Err(_) => {
                lock(&self.pending).cancel(id);
                Err(ClientError::Timeout)
            }
        }
    }
}

/// One authenticated connection to a node. `Send + Sync`: share it in an `Arc`
/// to issue requests from many tasks while one task reads pushes.
///
/// Dropping it drops the socket. The convenience requests (`send_text`,
/// `history`, ...) come from the [`Api`](crate::Api) trait.
pub struct Connection {
    shared: Arc<Shared>,
    auth: AuthOk,
    pushes: tokio::sync::Mutex<mpsc::UnboundedReceiver<Op>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("transport", &self.shared.transport)
            .field("user", &self.auth.user)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `addr` (a `ws://` or `wss://` URL for the WebSocket
    /// transports, `host:port` or `tls://host:port` for TCP), sends `auth {token}` as the first frame and waits for its reply.
    /// A refused `auth` is [`ClientError::Server`] (`unauthorized`).
    pub async fn open(addr: &str, transport: Transport, token: &str) -> Result<Connection> {
        Self::open_with(addr, transport, token, &ConnectOptions::default()).await
    }

    /// [`Connection::open`] with settings.
    pub async fn open_with(
        addr: &str,
        transport: Transport,
        token: &str,
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (reader, writer) = tokio::time::timeout(
            options.request_timeout,
            wire::connect(addr, transport, &options.trust),
        )
        .await
        .map_err(|_| ClientError::Timeout)??;

        let (out, out_rx) = mpsc::channel(options.write_queue.max(1));
        let shared = Arc::new(Shared {
            transport,
            timeout: options.request_timeout,
            pending: Mutex::new(Pending::new(1)),
            out,
            stop: watch::Sender::new(false),
            cause: Mutex::new(None),
            kicked: Mutex::new(None),
            done: watch::Sender::new(None),
        });
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let push_tx = options.deliver_pushes.then_some(push_tx);
        tokio::spawn(read_loop(shared.clone(), reader, push_tx));
        tokio::spawn(write_loop(shared.clone(), writer, out_rx));
        let mut conn = Connection {
            shared,
            auth: AuthOk::default(),
            pushes: tokio::sync::Mutex::new(push_rx),
        };

        let body = conn
            .request(Op::Auth(Auth {
                token: token.to_owned(),
            }))
            .await?;
        let auth: AuthOk = crate::reply::expect(body)?;
        let period = options.heartbeat.unwrap_or(match auth.heartbeat_s {
            0 => DEFAULT_HEARTBEAT,
            s => Duration::from_secs(u64::from(s)),
        });
        tokio::spawn(heartbeat_loop(conn.shared.clone(), period));
        conn.auth = auth;
        Ok(conn)
    }

    /// The `auth` reply: user, session, heartbeat and server time.
    pub fn auth(&self) -> &AuthOk {
        &self.auth
    }

    /// The authenticated username.
    pub fn user(&self) -> &str {
        &self.auth.user
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.shared.transport
    }

    /// Sends `op` as a request with the next id and waits for its reply.
    /// An `error` reply is [`ClientError::Server`]; no reply within the timeout
    /// is [`ClientError::Timeout`]; the connection ending first is
    /// [`ClientError::Closed`]. An `ok` with no body comes back as `Body::Ping`.
    pub async fn request(&self, op: Op) -> Result<Body> {
        self.shared.request(op).await
    }

    /// The next push (a frame without id: `msg`, `receipt`, `kicked`, an
    /// `error` about an unreadable frame, ...), in arrival order. `None` once the
    /// connection is closed and every push before the close was taken.
    pub async fn next_push(&self) -> Option<Op> {
        self.pushes.lock().await.recv().await
    }

    /// Requests waiting for their replies.
    pub fn in_flight(&self) -> usize {
        lock(&self.shared.pending).len()
    }

    /// True once the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// How the connection ended, once it has.
    pub fn disconnect(&self) -> Option<Disconnect> {
        self.shared.done.borrow().clone()
    }

    /// Waits until the connection has ended, and tells how.
    pub async fn closed(&self) -> Disconnect {
        let mut done = self.shared.done.subscribe();
        loop {
            if let Some(d) = done.borrow_and_update().clone() {
                return d;
            }
            if done.changed().await.is_err() {
                return Disconnect {
                    cause: DisconnectCause::Drop,
                    close: CloseInfo::default(),
                    kicked: None,
                };
            }
        }
    }

    /// Closes cleanly: a WebSocket close frame (TCP: shuts the write side), then
    /// waits up to 2 s for the server to close its side, then drops the socket.
    pub async fn close(&self) {
        self.shared.set_cause(DisconnectCause::Close);
        if !self.is_closed() {
            let sent =
                tokio::time::timeout(CLOSE_WAIT, self.shared.out.send(Outgoing::Close(None))).await;
            if matches!(sent, Ok(Ok(()))) {
                let _ = tokio::time::timeout(CLOSE_WAIT, self.closed()).await;
            }
        }
        self.shared.stop(DisconnectCause::Close);
        self.closed().await;
    }

    /// Drops the socket at once, without a closing handshake, as a network
    /// failure would. Requests in flight fail with [`ClientError::Closed`].
    pub fn abort(&self) {
        self.shared.stop(DisconnectCause::Abort);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.stop(DisconnectCause::Drop);
    }
}

/// Resolves when the stop flag is set.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn read_loop(
    shared: Arc<Shared>,
    mut reader: RawReader,
    pushes: Option<mpsc::UnboundedSender<Op>>,
) {
    let mut stop = shared.stop.subscribe();
    let close = loop {
        let event = tokio::select! {
            biased;
            event = reader.next() => event,
            () = stopped(&mut stop) => break CloseInfo::default(),
        };
        match event {
            RawEvent::Frame(frame) => {
                let id = frame.id;
                match frame.op {
                    Some(Op::Ok(ok)) if id != 0 => complete(&shared, id, Ok(ok.body)),
                    Some(Op::Error(error)) if id != 0 => complete(&shared, id, Err(error)),
                    Some(op) => {
                        if let Op::Kicked(k) = &op {
                            tracing::info!(reason = %k.reason, "kicked");
                            *lock(&shared.kicked) = Some(k.reason.clone());
                        }
                        if let Some(tx) = &pushes {
                            let _ = tx.send(op);
                        }
                    }
                    None => {}
                }
            }
            RawEvent::Undecodable { bytes, error } => {
                tracing::warn!(len = bytes.len(), %error, "undecodable frame from server");
            }
            RawEvent::Closed(info) => break info,
        }
    };
    shared.stop(DisconnectCause::Remote);
    lock(&shared.pending).close();
    let disconnect = Disconnect {
        cause: lock(&shared.cause)
            .clone()
            .unwrap_or(DisconnectCause::Remote),
        close,
        kicked: lock(&shared.kicked).clone(),
    };
    tracing::debug!(%disconnect, "connection ended");
    shared.done.send_replace(Some(disconnect));
    // The push stream ends only after `done` is set, so a reader of pushes that
    // sees the end can read how it ended.
    drop(pushes);
}

/// Hands a reply to the request waiting for it.
fn complete(shared: &Shared, id: u64, reply: crate::pending::Reply) {
    if !lock(&shared.pending).complete(id, reply) {
        tracing::debug!(id, "reply to no waiting request");
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    mut writer: RawWriter,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    let mut stop = shared.stop.subscribe();
    loop {
        let first = tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            item = queue.recv() => match item {
                Some(item) => item,
                None => return,
            },
        };
        let result = tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            result = write_batch(&mut writer, first, &mut queue) => result,
        };
        match result {
            Ok(Batch::More) => {}
            Ok(Batch::Closed) => return,
            Err(e) => {
                shared.stop(DisconnectCause::WriteFailed(e.to_string()));
                return;
            }
        }
    }
}

enum Batch {
    More,
    Closed,
}

/// Writes `first` and whatever else is queued, then flushes once.
async fn write_batch(
    writer: &mut RawWriter,
    first: Outgoing,
    queue: &mut mpsc::Receiver<Outgoing>,
) -> Result<Batch> {
    let mut item = first;
    for _ in 0..MAX_BATCH {
        let closing = matches!(item, Outgoing::Close(_));
        writer.feed(item).await?;
        if closing {
            return Ok(Batch::Closed);
        }
        match queue.try_recv() {
            Ok(next) => item = next,
            Err(_) => break,
        }
    }
    writer.flush().await?;
    Ok(Batch::More)
}

async fn heartbeat_loop(shared: Arc<Shared>, period: Duration) {
    let mut stop = shared.stop.subscribe();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        match shared.request(Op::Ping(Empty {})).await {
            Ok(_) => {}
            Err(ClientError::Timeout) => {
                tracing::warn!("ping unanswered: dropping the connection");
                shared.stop(DisconnectCause::HeartbeatTimeout);
                return;
            }
            Err(ClientError::Closed) => return,
            Err(e) => tracing::debug!(error = %e, "ping failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::UserRef;

    use super::*;
    use crate::api::Api;
    use crate::fake::{FakeServer, USER};

    fn addr(server: &FakeServer, transport: Transport) -> &str {
        if transport.is_ws() {
            &server.ws
        } else {
            &server.tcp
        }
    }

    #[tokio::test]
    async fn requests_pushes_and_the_close_over_every_transport() {
        let server = FakeServer::start().await;
        for transport in Transport::ALL {
            let conn = Connection::open(addr(&server, transport), transport, "good")
                .await
                .unwrap();
            assert_eq!(conn.user(), USER);
            assert_eq!(conn.auth().heartbeat_s, 30);
            conn.ping().await.unwrap();
            let sent = conn.send_text("bob", "c1", "hi").await.unwrap();
            assert_eq!(sent.conv, "d:alice:bob");
            let (history, convs) =
                tokio::join!(conn.history(&sent.conv, None, None, Some(1)), conn.sync());
            assert_eq!(history.unwrap()[0].seq, sent.seq, "{transport:?}");
            assert_eq!(convs.unwrap()[0].last_seq, sent.seq);
            assert_eq!(conn.in_flight(), 0);

            let seq = server.inject("d:alice:bob", "bob", true);
            match conn.next_push().await {
                Some(Op::Msg(m)) => assert_eq!((m.seq, m.from.as_str()), (seq, "bob")),
                other => panic!("{transport:?}: {other:?}"),
            }
            let refused = conn
                .request(Op::Block(UserRef { user: "x".into() }))
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Some("bad_request"));

            server.kill_connections();
            assert!(conn.next_push().await.is_none());
            assert_eq!(conn.closed().await.cause, DisconnectCause::Remote);
            assert!(conn.is_closed());
            assert!(matches!(conn.ping().await, Err(ClientError::Closed)));
        }
    }

    #[tokio::test]
    async fn a_refused_auth_is_the_server_error() {
        let server = FakeServer::start().await;
        for transport in Transport::ALL {
            let err = Connection::open(addr(&server, transport), transport, "bad")
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some("unauthorized"), "{transport:?}");
        }
    }

    #[tokio::test]
    async fn close_and_abort_end_the_connection() {
        let server = FakeServer::start().await;
        for transport in Transport::ALL {
            let conn = Connection::open(addr(&server, transport), transport, "good")
                .await
                .unwrap();
            conn.close().await;
            assert_eq!(conn.disconnect().unwrap().cause, DisconnectCause::Close);
            assert!(conn.next_push().await.is_none());

            let conn = Connection::open(addr(&server, transport), transport, "good")
                .await
                .unwrap();
            conn.abort();
            assert_eq!(conn.closed().await.cause, DisconnectCause::Abort);
            assert!(matches!(conn.ping().await, Err(ClientError::Closed)));
        }
        // The server sees every socket go.
        for _ in 0..100 {
            if server.live() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server still has {} connections", server.live());
    }

    #[tokio::test]
    async fn an_unanswered_request_times_out_and_is_forgotten() {
        let server = FakeServer::start().await;
        let options = ConnectOptions {
            request_timeout: Duration::from_millis(200),
            ..ConnectOptions::default()
        };
        let conn = Connection::open_with(&server.tcp, Transport::TcpProtobuf, "good", &options)
            .await
            .unwrap();
        // The fake drops frames it cannot decode: this one never gets a reply.
        conn.shared
            .out
            .send(Outgoing::Raw(bytes::Bytes::from_static(&[
                0, 0, 0, 1, 0xff,
            ])))
            .await
            .unwrap();
        let (id, rx) = lock(&conn.shared.pending).register().unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), rx)
                .await
                .is_err()
        );
        lock(&conn.shared.pending).cancel(id);
        // A kicked push is remembered for the disconnect.
        server.push(Op::Kicked(koi_proto::Kicked {
            reason: "shutdown".into(),
        }));
        assert!(matches!(conn.next_push().await, Some(Op::Kicked(_))));
        server.kill_connections();
        assert_eq!(conn.closed().await.kicked.as_deref(), Some("shutdown"));
    }
}
