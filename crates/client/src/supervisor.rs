//! The client's background task: reads pushes, fills gaps, reconnects and
//! catches up. It is the only writer of events, so their order is the order in
//! which it decides about messages.

use std::sync::Arc;
use std::time::Duration;

use koi_proto::Message;
use koi_proto::frame::Op;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::api::Api;
use crate::backoff::Backoff;
use crate::client::{Event, Inner, State};
use crate::connection::Connection;
use crate::dialer::is_fatal;
use crate::error::{ClientError, Result};
use crate::http::Node;
use crate::tracker::Verdict;

/// A connection that lasted this long resets the reconnect backoff.
const STABLE: Duration = Duration::from_secs(10);
/// Attempts of a catch-up request that fails for a passing reason.
const ATTEMPTS: u32 = 5;

type Events = mpsc::UnboundedSender<Event>;

/// Runs until the client is closed or gives up.
pub(crate) async fn run(inner: Arc<Inner>, first: Arc<Connection>, events: Events) {
    let mut closing = inner.closing.subscribe();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = now.as_nanos() as u64 ^ (Arc::as_ptr(&inner) as u64);
    let mut backoff = Backoff::new(inner.options.backoff_min, inner.options.backoff_max, seed);
    let mut conn = first;
    let mut since = Instant::now();
    loop {
        pump(&inner, &conn, &events, &mut closing).await;
        if *closing.borrow() {
            break;
        }
        let reason = conn
            .disconnect()
            .map_or_else(|| "connection lost".to_owned(), |d| d.to_string());
        // A revoked token is a logout (of this device, or by the admin): the
        // client must not log itself back in.
        if conn
            .disconnect()
            .is_some_and(|d| d.kicked.as_deref() == Some("token_revoked"))
        {
            tracing::info!(%reason, "logged out by the server; not reconnecting");
            let _ = events.send(Event::Disconnected {
                reason,
                reconnecting: false,
            });
            break;
        }
        tracing::info!(%reason, "disconnected; reconnecting");
        inner.state.send_replace(State::Connecting);
        drop(conn);
        let _ = events.send(Event::Disconnected {
            reason,
            reconnecting: true,
        });
        if since.elapsed() >= STABLE {
            backoff.reset();
        }
        let Some((next, node)) = reconnect(&inner, &events, &mut backoff, &mut closing).await
        else {
            break;
        };
        conn = Arc::new(next);
        since = Instant::now();
        inner.state.send_replace(State::Up(conn.clone()));
        let _ = events.send(Event::Connected {
            auth: conn.auth().clone(),
            node,
            reconnect: true,
        });
        if let Err(e) = catch_up(&inner, &conn, &events).await {
            tracing::warn!(error = %e, "catching up failed");
        }
    }
    inner.state.send_replace(State::Closed);
}

async fn is_closing(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}

/// Hands pushes to the user until the connection ends or the client closes.
async fn pump(
    inner: &Inner,
    conn: &Connection,
    events: &Events,
    closing: &mut watch::Receiver<bool>,
) {
    loop {
        let push = tokio::select! {
            biased;
            () = is_closing(closing) => return,
            push = conn.next_push() => push,
        };
        match push {
            None => return,
            Some(Op::Msg(msg)) => deliver(inner, conn, events, msg).await,
            Some(other) => {
                let _ = events.send(Event::Push(other));
            }
        }
    }
}

/// Emits `msg` if it is new, fetching the messages before it first when some
/// are missing.
async fn deliver(inner: &Inner, conn: &Connection, events: &Events, msg: Message) {
    let verdict = inner.tracker().observe(&msg, false);
    match verdict {
        Verdict::Deliver => emit(events, msg),
        Verdict::Duplicate | Verdict::Own => {}
        Verdict::Gap { after } => {
            let last = msg.seq - 1;
            match fetch(inner, conn, events, &msg.conv, after, Some(msg.seq), last).await {
                Ok(()) => {}
                Err(e) if e.is_closed() => {
                    // The catch-up after reconnecting fetches this message too.
                    return;
                }
                Err(e) => {
                    tracing::warn!(conv = %msg.conv, after, error = %e, "could not fill a gap");
                }
            }
            if inner.tracker().observe(&msg, true) == Verdict::Deliver {
                emit(events, msg);
            }
        }
    }
}

fn emit(events: &Events, msg: Message) {
    let _ = events.send(Event::Push(Op::Msg(msg)));
}

/// After a reconnect: `sync`, then the messages of every conversation that
/// moved since what was seen.
async fn catch_up(inner: &Inner, conn: &Connection, events: &Events) -> Result<()> {
    let convs = retrying(|| conn.sync()).await?;
    for conv in convs {
        let from = inner.tracker().catch_up_from(&conv.conv);
        if conv.last_seq <= from {
            continue;
        }
        match fetch(inner, conn, events, &conv.conv, from, None, conv.last_seq).await {
            Ok(()) => inner.tracker().mark_seen(&conv.conv, conv.last_seq),
            Err(e) if e.is_closed() => return Err(e),
            Err(e) => {
                tracing::warn!(conv = %conv.conv, from, error = %e, "could not catch up");
            }
        }
    }
    Ok(())
}

/// Pages through `history` of `conv` after `after` (and before `before`),
/// until `last`, emitting what is new.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    inner: &Inner,
    conn: &Connection,
    events: &Events,
    conv: &str,
    after: u64,
    before: Option<u64>,
    last: u64,
) -> Result<()> {
    let limit = Some(inner.options.history_page.max(1));
    let mut cursor = after;
    while cursor < last {
        let page = retrying(|| conn.history(conv, Some(cursor), before, limit)).await?;
        let Some(end) = page.last().map(|m| m.seq) else {
            break;
        };
        if end <= cursor {
            break; // the server is not moving forward: give up rather than loop
        }
        cursor = end;
        for msg in page {
            if inner.tracker().observe(&msg, true) == Verdict::Deliver {
                emit(events, msg);
            }
        }
    }
    Ok(())
}

/// Runs `attempt` again after a short pause while it fails for a passing
/// reason (`rate_limited`, `unavailable`, timeout).
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < ATTEMPTS && passing(&e) => {
                tokio::time::sleep(Duration::from_millis(200) * tries).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

fn passing(e: &ClientError) -> bool {
    matches!(e, ClientError::Timeout) || matches!(e.code(), Some("rate_limited" | "unavailable"))
}

/// Dials with backoff until a connection is up, the client closes, or the
/// credentials are refused.
async fn reconnect(
    inner: &Inner,
    events: &Events,
    backoff: &mut Backoff,
    closing: &mut watch::Receiver<bool>,
) -> Option<(Connection, Node)> {
    loop {
        let delay = backoff.next_delay();
        tokio::select! {
            biased;
            () = is_closing(closing) => return None,
            () = tokio::time::sleep(delay) => {}
        }
        let dialed = tokio::select! {
            biased;
            () = is_closing(closing) => return None,
            dialed = inner.dialer.dial() => dialed,
        };
        match dialed {
            Ok(up) => return Some(up),
            Err(e) if is_fatal(&e) => {
                tracing::warn!(error = %e, "credentials refused; giving up");
                let _ = events.send(Event::Disconnected {
                    reason: e.to_string(),
                    reconnecting: false,
                });
                return None;
            }
            Err(e) => tracing::debug!(error = %e, ?delay, "reconnect failed"),
        }
    }
}
