//! Pairs over a bare NATS broker: the ceiling of moving small messages through
//! one broker on this machine.
//!
//! Each user is one client connection, as on Koi. Receiver `i` subscribes to
//! `bench.r<i>`; sender `i` publishes there. A message's payload is a header
//! line `<n + 1> <id> <meta>` and then the text, so it carries what a Koi
//! message carries for the bench. Core NATS has no acknowledgement: a publish
//! counts as acked once the client library took it (send→ack is that hand-over
//! time), and a message the broker drops (a slow consumer) is lost.

pub mod fanout;
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use async_nats::connection::State;
use async_nats::{Client, Event, Subject, Subscriber};
use bytes::{BufMut, Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use super::link::{Delivery, Draft, Inlet, Outlet, Pairs};

pub use server::NatsServer;

/// Client troubles (a slow consumer, a server error) echoed on stderr; later ones dropped.
const ECHOED: usize = 5;

/// Connects `pairs` receivers (subscribed) and then `pairs` senders to `url`,
/// `concurrency` connections at a time.
pub async fn connect(
    url: &str,
    pairs: usize,
    concurrency: usize,
) -> anyhow::Result<Pairs<Publisher, Subscription>> {
    let echoed = Arc::new(AtomicUsize::new(0));
    let connect = |name: String| {
        let echoed = echoed.clone();
        async_nats::ConnectOptions::new()
            .name(name)
            .event_callback(move |event| {
                // Connecting, and the I/O errors of connections torn down with
                // the server at the end, are the normal course; a connection
                // lost during a phase shows in its tally.
                let echo = matches!(event, Event::SlowConsumer(_) | Event::ServerError(_))
                    && echoed.fetch_add(1, Ordering::Relaxed) < ECHOED;
                async move {
                    if echo {
                        eprintln!("bench: nats client: {event}");
                    }
                }
            })
            .connect(url.to_owned())
    };
    let receivers = futures::stream::iter(0..pairs)
        .map(|i| {
            let client = connect(format!("bench-r{i}"));
            async move {
                let client = client.await.context("connecting to nats-server")?;
                let subscriber = client.subscribe(subject(i)).await?;
                // The broker has the subscription once it answered this round trip.
                client.flush().await?;
                anyhow::Ok(Arc::new(Subscription {
                    client,
                    subscriber: tokio::sync::Mutex::new(subscriber),
                }))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let senders = futures::stream::iter(0..pairs)
        .map(|i| {
            let client = connect(format!("bench-s{i}"));
            async move {
                let client = client.await.context("connecting to nats-server")?;
                anyhow::Ok(Arc::new(Publisher {
                    client,
                    subject: subject(i).into(),
                }))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Pairs { senders, receivers })
}

fn subject(pair: usize) -> String {
    format!("bench.r{pair}")
}

/// A sender's connection: each draft is one publish to its receiver's subject.
#[derive(Debug)]
pub struct Publisher {
    client: Client,
    subject: Subject,
}

impl Outlet for Publisher {
    /// Every draft is a publish: the NATS ceiling carries messages only
    /// (`relay-baseline` mixes in no reactions).
    async fn send(&self, draft: Draft) -> Result<Option<u64>, String> {
        let header = format!("{} {} {}\n", draft.n + 1, draft.id, draft.meta);
        let mut payload = BytesMut::with_capacity(header.len() + draft.text.len());
        payload.put_slice(header.as_bytes());
        payload.put_slice(draft.text.as_bytes());
        self.client
            .publish(self.subject.clone(), payload.freeze())
            .await
            .map(|()| None)
            .map_err(|_| "closed".to_owned())
    }

    fn is_closed(&self) -> bool {
        self.client.connection_state() == State::Disconnected
    }

    fn ended(&self) -> Option<String> {
        ended(&self.client)
    }
}

/// A receiver's connection and its one subscription.
#[derive(Debug)]
pub struct Subscription {
    client: Client,
    subscriber: tokio::sync::Mutex<Subscriber>,
}

impl Inlet for Subscription {
    async fn next(&self) -> Option<Delivery> {
        let message = self.subscriber.lock().await.next().await?;
        // Anything unreadable comes back without an id: the receiver counts it
        // as unexpected.
        Some(parse(&message.payload).unwrap_or(Delivery {
            id: String::new(),
            seq: 0,
            meta: None,
            reaction: None,
        }))
    }

    fn ended(&self) -> Option<String> {
        ended(&self.client)
    }
}

fn ended(client: &Client) -> Option<String> {
    (client.connection_state() == State::Disconnected)
        .then(|| "disconnected from nats-server".to_owned())
}

/// Reads the header line of a payload: `<seq> <id> <meta>`.
fn parse(payload: &Bytes) -> Option<Delivery> {
    let end = payload.iter().position(|b| *b == b'\n')?;
    let header = std::str::from_utf8(&payload[..end]).ok()?;
    let mut fields = header.split(' ');
    let seq = fields.next()?.parse().ok()?;
    let id = fields.next()?.to_owned();
    let meta = fields.next().map(str::to_owned);
    Some(Delivery {
        id,
        seq,
        meta,
        reaction: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_header_reads_back() {
        let delivery = parse(&Bytes::from_static(b"8 ab-3-7 1234\nxxxx")).unwrap();
        assert_eq!((delivery.seq, delivery.id.as_str()), (8, "ab-3-7"));
        assert_eq!(delivery.meta.as_deref(), Some("1234"));
        assert!(parse(&Bytes::from_static(b"no header")).is_none());
    }
}
