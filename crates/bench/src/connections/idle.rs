//! One idle authenticated WebSocket connection, as light as the bench can
//! make it: a socket bound to a chosen loopback address, the handshake over
//! it, `auth`, then nothing but a `ping` every `heartbeat_s` and a look at
//! each incoming frame for the run's check push.
//!
//! Not `koi_client::Connection`: that one cannot choose its local address,
//! and its three tasks and buffers per connection would make the bench, not
//! the node, the larger process.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{Auth, Empty, Frame, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Bytes read from the socket at a time: idle connections get small frames.
const READ_BUFFER: usize = 4 * 1024;
/// The request id of `auth`; pings count up from the next one.
const AUTH_ID: u64 = 1;

pub type Ws = WebSocketStream<TcpStream>;

/// Where the connections go.
#[derive(Debug, Clone)]
pub struct Target {
    pub server: SocketAddr,
    /// The `ws://` URL, for the handshake's `Host` and path.
    pub url: String,
}

/// Why a connection could not be opened: the step that failed and the error.
#[derive(Debug)]
pub struct Failure {
    pub stage: &'static str,
    pub error: String,
}

impl Failure {
    fn at(stage: &'static str) -> impl FnOnce(String) -> Failure {
        move |error| Failure { stage, error }
    }

    /// A short key for counting failures alike.
    pub fn key(&self) -> String {
        let mut key = format!("{}: {}", self.stage, self.error);
        key.truncate(120);
        key
    }
}

/// Connects from `local` (any port), does the WebSocket handshake and
/// `auth`; returns the socket and the node's `heartbeat_s`.
pub async fn open(
    target: &Target,
    local: Option<IpAddr>,
    token: &str,
) -> Result<(Ws, u32), Failure> {
    let socket = match target.server {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| Failure::at("socket")(e.to_string()))?;
    if let Some(ip) = local {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| Failure::at("bind")(e.to_string()))?;
    }
    let stream = socket
        .connect(target.server)
        .await
        .map_err(|e| Failure::at("connect")(e.to_string()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| Failure::at("connect")(e.to_string()))?;
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _response) =
        tokio_tungstenite::client_async_with_config(target.url.as_str(), stream, Some(config))
            .await
            .map_err(|e| Failure::at("handshake")(e.to_string()))?;
    let auth = Frame {
        id: AUTH_ID,
        op: Some(Op::Auth(Auth {
            token: token.to_owned(),
        })),
    };
    ws.send(Message::Text(json::encode(&auth).into()))
        .await
        .map_err(|e| Failure::at("auth")(e.to_string()))?;
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => {
                return Err(Failure::at("auth")("closed by the node".to_owned()));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(Failure::at("auth")(e.to_string())),
        };
        let frame = json::decode(text.as_bytes()).map_err(|e| Failure::at("auth")(e.reason))?;
        match frame.op {
            Some(Op::Ok(ok)) if frame.id == AUTH_ID => {
                let heartbeat_s = match ok.body {
                    Some(Body::Auth(auth)) => auth.heartbeat_s,
                    _ => 0,
                };
                return Ok((ws, heartbeat_s));
            }
            Some(Op::Error(e)) => return Err(Failure::at("auth")(e.code)),
            _ => continue,
        }
    }
}

/// The end-of-run check: one system push whose text is `marker`, sent at `sent`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub marker: Arc<str>,
    pub sent: Arc<OnceLock<Instant>>,
    /// Connections that got it, over all of them.
    pub seen: Arc<AtomicU64>,
}

/// What a held connection saw.
#[derive(Debug, Default)]
pub struct Held {
    /// How many times the probe arrived.
    pub probes: u32,
    /// From the probe's sending to its first arrival.
    pub latency: Option<Duration>,
    /// How the connection ended, if it did before it was let go.
    pub disconnected: Option<String>,
}

/// Keeps `ws` open until `stop`: pings every `heartbeat`, and counts the probe.
pub async fn hold(
    mut ws: Ws,
    heartbeat: Duration,
    probe: Probe,
    mut stop: watch::Receiver<bool>,
) -> Held {
    let mut held = Held::default();
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_id = AUTH_ID + 1;
    // The guard `wait_for` returns must not live on: the arms below await.
    let stopped = async {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            () = &mut stopped => break,
            _ = ping.tick() => {
                let frame = Frame { id: next_id, op: Some(Op::Ping(Empty {})) };
                next_id += 1;
                if let Err(e) = ws.send(Message::Text(json::encode(&frame).into())).await {
                    held.disconnected = Some(e.to_string());
                    break;
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if text.contains(&*probe.marker) && is_probe(text.as_bytes(), &probe.marker) {
                        held.probes += 1;
                        if held.probes == 1 {
                            let sent = probe.sent.get().copied().unwrap_or_else(Instant::now);
                            held.latency = Some(sent.elapsed());
                            probe.seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    held.disconnected = Some(match frame {
                        Some(f) => format!("closed by the node ({})", u16::from(f.code)),
                        None => "closed by the node".to_owned(),
                    });
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    held.disconnected = Some(e.to_string());
                    break;
                }
                None => {
                    held.disconnected = Some("closed".to_owned());
                    break;
                }
            },
        }
    }
    held
}

/// Whether a frame is the `msg` push of a system message with text `marker`.
fn is_probe(bytes: &[u8], marker: &str) -> bool {
    match json::decode(bytes) {
        Ok(Frame {
            op: Some(Op::Msg(msg)),
            ..
        }) => msg.conv.starts_with("s:") && msg.text.as_deref() == Some(marker),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_runs_system_push_is_the_probe() {
        let push = |conv: &str, text: &str| {
            json::encode(&Frame {
                id: 0,
                op: Some(Op::Msg(koi_proto::Message {
                    conv: conv.to_owned(),
                    seq: 1,
                    from: "system".to_owned(),
                    kind: "system".to_owned(),
                    text: Some(text.to_owned()),
                    ..Default::default()
                })),
            })
        };
        assert!(is_probe(push("s:u1", "probe r1").as_bytes(), "probe r1"));
        assert!(!is_probe(push("s:u1", "probe r0").as_bytes(), "probe r1"));
        assert!(!is_probe(push("d:a:b", "probe r1").as_bytes(), "probe r1"));
        assert!(!is_probe(b"{\"id\":2,\"ok\":{}}", "probe r1"));
    }
}
