//! WebSocket transport: text frames carry JSON, binary frames protobuf.

use std::io;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use koi_proto::Encoding;

use super::transport::LINGER;
use super::{Access, Inbound, Transport};
use crate::edge::slots::HeldSlot;

/// Bytes read from the socket at a time. Small, because every idle connection
/// holds one (tungstenite's default is 128 KiB); a chat frame is a few hundred
/// bytes, and a larger one only takes more reads.
const READ_BUFFER: usize = 1024;

/// Upgrades an HTTP request to a Koi WebSocket session, which keeps the HTTP
/// listener's connection slot (`held`) until it ends.
pub fn ws_upgrade(
    access: Arc<Access>,
    upgrade: WebSocketUpgrade,
    held: Option<HeldSlot>,
) -> Response {
    let max = access.limits.max_frame_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(max * 64)
        // Frames up to 16x the limit (at least 1 MiB) are read whole and refused
        // by us with `too_large` and close 1009; anything bigger is cut off by the
        // library while still arriving, and the unread rest may reset the socket.
        // That is after the first frame: before it the listener reads at most
        // max_frame_bytes + `edge::pre_auth::PRE_AUTH_SLACK`.
        .max_message_size(library_limit(max))
        .max_frame_size(library_limit(max))
        .on_upgrade(move |socket| access.run_session(WsTransport { socket, max, held }))
}

fn library_limit(max: usize) -> usize {
    (max * 16).max(1024 * 1024)
}

/// The socket whole, not split: one task reads and writes it, and a split
/// would add a shared lock to every connection.
struct WsTransport {
    socket: WebSocket,
    max: usize,
    /// The HTTP listener's slot (kept for the session's life) and its bound
    /// on reads before the first frame, lifted once that frame is in.
    held: Option<HeldSlot>,
}

impl WsTransport {
    async fn read(&mut self) -> Inbound {
        match self.socket.next().await {
            Some(Ok(Message::Text(text))) if text.len() > self.max => Inbound::TooLarge,
            Some(Ok(Message::Binary(bytes))) if bytes.len() > self.max => Inbound::TooLarge,
            Some(Ok(Message::Text(text))) => Inbound::Frame(Bytes::from(text), Encoding::Json),
            Some(Ok(Message::Binary(bytes))) => Inbound::Frame(bytes, Encoding::Protobuf),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Inbound::Activity,
            Some(Ok(Message::Close(_))) | None => Inbound::Closed,
            Some(Err(e)) if is_too_long(&e) => Inbound::TooLarge,
            Some(Err(_))
                if self
                    .held
                    .as_ref()
                    .is_some_and(HeldSlot::cut_off_before_auth) =>
            {
                Inbound::TooLarge
            }
            Some(Err(_)) => Inbound::Closed,
        }
    }
}

impl Transport for WsTransport {
    const ENCODING: Encoding = Encoding::Json;

    async fn next(&mut self) -> Inbound {
        let inbound = self.read().await;
        if let (Inbound::Frame(..), Some(held)) = (&inbound, &self.held) {
            held.first_frame_read();
        }
        inbound
    }

    async fn write(&mut self, frames: &[(Bytes, Encoding)]) -> io::Result<()> {
        for (bytes, encoding) in frames {
            // JSON shares the push's buffer (checked as UTF-8, never copied):
            // one encoding serves every connection it goes to.
            let message = match encoding {
                Encoding::Json => match Utf8Bytes::try_from(bytes.clone()) {
                    Ok(text) => Message::Text(text),
                    Err(_) => Message::Binary(bytes.clone()),
                },
                Encoding::Protobuf => Message::Binary(bytes.clone()),
            };
            self.socket.feed(message).await.map_err(io::Error::other)?;
        }
        self.socket.flush().await.map_err(io::Error::other)
    }

    async fn close(&mut self, code: u16) {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        if self.socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        // The closing handshake: the client's frames until its close.
        let _ = tokio::time::timeout(LINGER, async {
            while let Some(Ok(message)) = self.socket.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// tungstenite reports an over-size message as a capacity error; axum hands it
/// over boxed, so its text is what can be checked.
fn is_too_long(e: &axum::Error) -> bool {
    let text = e.to_string();
    text.contains("too long") || text.contains("Space limit")
}
