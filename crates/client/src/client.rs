//! The resilient client: one logical session over connections that come and go.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{AuthOk, Message};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::Api;
use crate::connection::{ConnectOptions, Connection};
use crate::dialer::{Credentials, Dialer};
use crate::error::{ClientError, Result};
use crate::http::{Http, Node};
use crate::supervisor;
use crate::tracker::SeqTracker;
use crate::transport::Transport;

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The transport of every connection.
    pub transport: Transport,
    /// Settings of each connection (request timeout, heartbeat, ...).
    pub connection: ConnectOptions,
    /// First delay before a reconnect attempt. Default 100 ms.
    pub backoff_min: Duration,
    /// Longest delay between reconnect attempts. Default 5 s.
    pub backoff_max: Duration,
    /// `limit` of each `history` page when catching up. Default 200.
    pub history_page: u32,
}

impl ClientOptions {
    /// Defaults for `transport`.
    pub fn new(transport: Transport) -> Self {
        ClientOptions {
            transport,
            connection: ConnectOptions::default(),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            history_page: 200,
        }
    }
}

/// What a [`Client`] reports, in order.
// A push is the common case and is moved once per message; boxing it would
// cost an allocation per push to shrink the rare `Connected`/`Disconnected`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// A connection is up and authenticated. After a reconnect
    /// (`reconnect: true`) the messages missed while away follow, then live pushes.
    Connected {
        /// The `auth` reply.
        auth: AuthOk,
        /// The node connected to.
        node: Node,
        /// False for the first connection.
        reconnect: bool,
    },
    /// The connection ended. With `reconnecting` the client is already trying
    /// again; without, it has given up (refused credentials) or was closed, and
    /// no event follows.
    Disconnected {
        /// Why, for logs.
        reason: String,
        /// Whether a reconnect follows.
        reconnecting: bool,
    },
    /// A push. `Op::Msg` comes exactly once per `(conv, seq)`, in seq order per
    /// conversation, including messages fetched to fill gaps and after
    /// reconnects; messages sent through this client are left out (their `send`
    /// reply is their record). Other pushes (`receipt`, `typing`, `recalled`,
    /// `signal`, `presence`, `kicked`, ...) pass through as they come.
    Push(Op),
}

impl Event {
    /// The message, for an `Op::Msg` push.
    pub fn msg(&self) -> Option<&Message> {
        match self {
            Event::Push(Op::Msg(m)) => Some(m),
            _ => None,
        }
    }
}

/// Where the client is.
#[derive(Debug, Clone)]
pub(crate) enum State {
    Up(Arc<Connection>),
    Connecting,
    Closed,
}

/// What the client handle and its supervisor task share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) dialer: Dialer,
    pub(crate) options: ClientOptions,
    pub(crate) tracker: Mutex<SeqTracker>,
    pub(crate) state: watch::Sender<State>,
    pub(crate) closing: watch::Sender<bool>,
}

impl Inner {
    pub(crate) fn tracker(&self) -> MutexGuard<'_, SeqTracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A session that survives connection loss.
///
/// [`Client::connect`] dispatches, connects to the first node that accepts,
/// and reads `sync` to learn where each conversation stands (older messages are
/// history, not events). From then on a background task reads pushes and
/// de-duplicates messages by `(conv, seq)`; on a gap in a conversation's seq it
/// fetches the missing messages with `history` first. When the connection
/// drops (not on [`Client::close`]) it reconnects with backoff (dispatch
/// again, log in again with a password when the token is refused), then calls
/// `sync` and pages through `history` for every conversation that moved, so
/// [`Client::next_event`] yields every message exactly once.
///
/// Requests ([`Client::request`] and the [`Api`] methods) wait while the
/// client is reconnecting, for at most the request timeout, then fail with
/// [`ClientError::Timeout`]; a request in flight when the connection drops
/// fails with [`ClientError::Closed`] and is not retried (a `send` may be
/// retried with the same `client_msg_id`: the server de-duplicates it).
#[derive(Debug)]
pub struct Client {
    inner: Arc<Inner>,
    user: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    /// Connects with default options. `http` is the gateway (its token, if
    /// any, is replaced by the one from `credentials`).
    pub async fn connect(
        http: Http,
        credentials: Credentials,
        transport: Transport,
    ) -> Result<Client> {
        Self::connect_with(http, credentials, ClientOptions::new(transport)).await
    }

    /// Connects. Fails at once (no retry) when the first connection cannot be made.
    pub async fn connect_with(
        http: Http,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Client> {
        let dialer = Dialer::new(
            http,
            credentials,
            options.transport,
            options.connection.clone(),
        );
        let (conn, node) = dialer.dial().await?;
        let conn = Arc::new(conn);
        let mut tracker = SeqTracker::new(conn.user());
        for conv in conn.sync().await? {
            tracker.set_floor(&conv.conv, conv.last_seq);
        }
        let user = conn.user().to_owned();
        let inner = Arc::new(Inner {
            dialer,
            options,
            tracker: Mutex::new(tracker),
            state: watch::Sender::new(State::Up(conn.clone())),
            closing: watch::Sender::new(false),
        });
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let _ = events_tx.send(Event::Connected {
            auth: conn.auth().clone(),
            node,
            reconnect: false,
        });
        let task = tokio::spawn(supervisor::run(inner.clone(), conn, events_tx));
        Ok(Client {
            inner,
            user,
            events: tokio::sync::Mutex::new(events_rx),
            supervisor: Mutex::new(Some(task)),
        })
    }

    /// The username.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The gateway client, with the current token (for files, REST history).
    pub fn http(&self) -> Http {
        self.inner.dialer.http()
    }

    /// The current connection, when one is up (e.g. to
    /// [`abort`](Connection::abort) it in a test).
    pub fn connection(&self) -> Option<Arc<Connection>> {
        match &*self.inner.state.borrow() {
            State::Up(conn) if !conn.is_closed() => Some(conn.clone()),
            _ => None,
        }
    }

    /// True while a connection is up.
    pub fn is_connected(&self) -> bool {
        self.connection().is_some()
    }

    /// The highest seq of `conv` delivered (or skipped as own), if any.
    pub fn seen(&self, conv: &str) -> Option<u64> {
        self.inner.tracker().seen(conv)
    }

    /// The next event; `None` after [`Client::close`], or once the client has
    /// given up and every event before was taken.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    /// Sends `op` on the current connection and waits for its reply, waiting
    /// first for a connection while reconnecting (see [`Client`]).
    pub async fn request(&self, op: Op) -> Result<Body> {
        let conn = self.wait_connected().await?;
        let Op::Send(send) = &op else {
            return conn.request(op).await;
        };
        let guard = Sending::new(&self.inner, send.client_msg_id.clone());
        let reply = conn.request(op).await;
        if let Ok(Body::Send(ok)) = &reply {
            guard.sent(&ok.conv, ok.seq);
        }
        reply
    }

    async fn wait_connected(&self) -> Result<Arc<Connection>> {
        let deadline = tokio::time::Instant::now() + self.inner.options.connection.request_timeout;
        let mut state = self.inner.state.subscribe();
        loop {
            let ready = match &*state.borrow_and_update() {
                State::Up(conn) if !conn.is_closed() => Some(Ok(conn.clone())),
                State::Closed => Some(Err(ClientError::Closed)),
                State::Up(_) | State::Connecting => None,
            };
            if let Some(ready) = ready {
                return ready;
            }
            match tokio::time::timeout_at(deadline, state.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ClientError::Closed),
                Err(_) => return Err(ClientError::Timeout),
            }
        }
    }

    /// Closes the connection cleanly and stops reconnecting. The event stream
    /// ends after the events already queued.
    pub async fn close(&self) {
        self.inner.closing.send_replace(true);
        if let Some(conn) = self.connection() {
            conn.close().await;
        }
        let task = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.inner.closing.send_replace(true);
    }
}

impl Api for Client {
    fn request(&self, op: Op) -> impl Future<Output = Result<Body>> + Send {
        Client::request(self, op)
    }
}

/// A `send` in flight through the client: recorded so that its message is not
/// handed out as an event; forgotten if the send fails or is abandoned.
struct Sending<'a> {
    inner: &'a Inner,
    client_msg_id: Option<String>,
}

impl<'a> Sending<'a> {
    fn new(inner: &'a Inner, client_msg_id: String) -> Self {
        inner.tracker().sending(&client_msg_id);
        Sending {
            inner,
            client_msg_id: Some(client_msg_id),
        }
    }

    fn sent(mut self, conv: &str, seq: u64) {
        if let Some(id) = self.client_msg_id.take() {
            self.inner.tracker().sent(&id, conv, seq);
        }
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.client_msg_id.take() {
            self.inner.tracker().send_failed(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeServer;

    const C: &str = "d:alice:bob";

    async fn next(client: &Client) -> Event {
        tokio::time::timeout(Duration::from_secs(5), client.next_event())
            .await
            .expect("an event")
            .expect("the stream is open")
    }

    async fn next_msg(client: &Client) -> (String, u64) {
        match next(client).await {
            Event::Push(Op::Msg(m)) => (m.conv, m.seq),
            other => panic!("not a message: {other:?}"),
        }
    }

    async fn quiet(client: &Client) {
        let extra = tokio::time::timeout(Duration::from_millis(200), client.next_event()).await;
        assert!(extra.is_err(), "unexpected event: {extra:?}");
    }

    fn options(transport: Transport) -> ClientOptions {
        ClientOptions {
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            ..ClientOptions::new(transport)
        }
    }

    #[tokio::test]
    async fn every_message_once_across_gaps_and_reconnects() {
        for transport in Transport::ALL {
            let server = FakeServer::start().await;
            server.inject(C, "bob", false); // history before connecting: not an event
            let http = Http::new(&server.http).unwrap();
            let client = Client::connect_with(http, Credentials::token("good"), options(transport))
                .await
                .unwrap();
            assert!(matches!(
                next(&client).await,
                Event::Connected {
                    reconnect: false,
                    ..
                }
            ));
            assert_eq!(client.user(), "alice");

            server.inject(C, "bob", true);
            assert_eq!(next_msg(&client).await, (C.to_owned(), 2));
            // A skipped push is fetched when the next one shows the gap.
            server.inject(C, "bob", false);
            server.inject(C, "bob", true);
            assert_eq!(next_msg(&client).await.1, 3);
            assert_eq!(next_msg(&client).await.1, 4);
            // A duplicate push is dropped; our own send is not an event.
            server.repush(C, 4);
            let sent = client.send_text("bob", "a1", "mine").await.unwrap();
            assert_eq!(sent.seq, 5);
            server.inject(C, "bob", true);
            assert_eq!(next_msg(&client).await.1, 6);

            // Messages stored while the connection is down come after the reconnect.
            server.inject(C, "bob", false);
            server.inject("d:alice:carol", "carol", false);
            server.kill_connections();
            assert!(matches!(
                next(&client).await,
                Event::Disconnected {
                    reconnecting: true,
                    ..
                }
            ));
            // A request waits for the new connection.
            client.ping().await.unwrap();
            assert!(matches!(
                next(&client).await,
                Event::Connected {
                    reconnect: true,
                    ..
                }
            ));
            assert_eq!(next_msg(&client).await, (C.to_owned(), 7));
            assert_eq!(next_msg(&client).await, ("d:alice:carol".to_owned(), 1));
            server.repush(C, 7);
            server.inject(C, "bob", true);
            assert_eq!(next_msg(&client).await.1, 8, "{transport:?}");
            quiet(&client).await;
            assert_eq!(client.seen(C), Some(8));

            // Other pushes pass through.
            server.push(Op::Kicked(koi_proto::Kicked {
                reason: "test".into(),
            }));
            assert!(matches!(next(&client).await, Event::Push(Op::Kicked(_))));

            client.close().await;
            assert!(client.next_event().await.is_none());
            assert!(matches!(client.ping().await, Err(ClientError::Closed)));
        }
    }

    #[tokio::test]
    async fn a_refused_token_fails_the_connect() {
        let server = FakeServer::start().await;
        let http = Http::new(&server.http).unwrap();
        let err = Client::connect(http, Credentials::token("bad"), Transport::WsJson)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("unauthorized"));
    }

    #[tokio::test]
    async fn an_aborted_connection_is_replaced() {
        let server = FakeServer::start().await;
        let http = Http::new(&server.http).unwrap();
        let client = Client::connect_with(
            http,
            Credentials::token("good"),
            options(Transport::WsProtobuf),
        )
        .await
        .unwrap();
        next(&client).await;
        client.connection().unwrap().abort();
        assert!(matches!(next(&client).await, Event::Disconnected { .. }));
        assert!(matches!(next(&client).await, Event::Connected { .. }));
        assert!(client.is_connected());
        client.close().await;
    }
}
