//! A bare connection with no tasks, no auth and no bookkeeping: for tests that
//! send garbage, oversize frames or requests before `auth`, and watch how the
//! server answers and closes.

use std::time::Duration;

use bytes::Bytes;
use koi_proto::frame::Op;
use koi_proto::{Auth, AuthOk, Frame, ok};

use crate::error::{ClientError, Result};
use crate::transport::Transport;
use crate::trust::Trust;
use crate::wire::{self, Outgoing, RawEvent, RawReader, RawWriter};

/// One socket, driven by the caller: every write goes straight out, every read
/// returns what came next.
pub struct RawConnection {
    transport: Transport,
    reader: RawReader,
    writer: RawWriter,
}

impl std::fmt::Debug for RawConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConnection")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl RawConnection {
    /// Connects to `addr`: a `ws://` or `wss://` URL for the WebSocket
    /// transports, `host:port` or `tls://host:port` for TCP (TLS checked
    /// against the system's roots). Sends nothing.
    pub async fn connect(addr: &str, transport: Transport) -> Result<Self> {
        let (reader, writer) = wire::connect(addr, transport, &Trust::system()).await?;
        Ok(RawConnection {
            transport,
            reader,
            writer,
        })
    }

    /// The transport it was opened with.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Sends `frame` encoded as the transport carries it.
    pub async fn send_frame(&mut self, frame: &Frame) -> Result<()> {
        self.writer.send(wire::encode(self.transport, frame)).await
    }

    /// Sends `op` with request id `id` (0: no id).
    pub async fn send_op(&mut self, id: u64, op: Op) -> Result<()> {
        self.send_frame(&Frame { id, op: Some(op) }).await
    }

    /// WebSocket: a text message. TCP: a length-prefixed frame with these bytes.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.writer.send(Outgoing::Text(text.into())).await
    }

    /// WebSocket: a binary message. TCP: a length-prefixed frame with these bytes.
    pub async fn send_binary(&mut self, bytes: impl Into<Bytes>) -> Result<()> {
        self.writer.send(Outgoing::Binary(bytes.into())).await
    }

    /// TCP: the bytes as they are, with no length prefix (to send a bad or huge
    /// prefix, or half a frame). WebSocket: a binary message.
    pub async fn send_raw(&mut self, bytes: impl Into<Bytes>) -> Result<()> {
        self.writer.send(Outgoing::Raw(bytes.into())).await
    }

    /// The next frame, undecodable frame or the close.
    pub async fn recv(&mut self) -> RawEvent {
        self.reader.next().await
    }

    /// Like [`RawConnection::recv`], `None` when nothing came within `wait`.
    pub async fn recv_timeout(&mut self, wait: Duration) -> Option<RawEvent> {
        tokio::time::timeout(wait, self.reader.next()).await.ok()
    }

    /// The next frame, skipping undecodable ones; [`ClientError::Closed`] at the close.
    pub async fn recv_frame(&mut self) -> Result<Frame> {
        loop {
            match self.reader.next().await {
                RawEvent::Frame(frame) => return Ok(frame),
                RawEvent::Undecodable { .. } => continue,
                RawEvent::Closed(_) => return Err(ClientError::Closed),
            }
        }
    }

    /// Sends `op` with id `id` and waits for the reply with that id, skipping
    /// pushes and other replies. An `error` reply is [`ClientError::Server`].
    pub async fn request(&mut self, id: u64, op: Op) -> Result<ok::Body> {
        self.send_op(id, op).await?;
        loop {
            let frame = self.recv_frame().await?;
            if frame.id != id {
                continue;
            }
            match frame.op {
                Some(Op::Ok(reply)) => {
                    return Ok(reply.body.unwrap_or(ok::Body::Ping(koi_proto::Empty {})));
                }
                Some(Op::Error(e)) => return Err(e.into()),
                _ => continue,
            }
        }
    }

    /// Sends `auth {token}` as request 1 and returns the reply.
    pub async fn auth(&mut self, token: &str) -> Result<AuthOk> {
        let body = self
            .request(
                1,
                Op::Auth(Auth {
                    token: token.to_owned(),
                }),
            )
            .await?;
        crate::reply::expect(body)
    }

    /// WebSocket: sends a close frame with `code` (1000 when `None`). TCP: shuts
    /// the write side down. Reads go on until the server closes too.
    pub async fn close(&mut self, code: Option<u16>) -> Result<()> {
        self.writer.send(Outgoing::Close(code)).await
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::Empty;

    use super::*;
    use crate::fake::FakeServer;

    #[tokio::test]
    async fn raw_bytes_out_frames_and_the_close_in() {
        let server = FakeServer::start().await;
        for transport in Transport::ALL {
            let addr = if transport.is_ws() {
                &server.ws
            } else {
                &server.tcp
            };
            let mut raw = RawConnection::connect(addr, transport).await.unwrap();
            // Before auth: refused.
            let err = raw.request(5, Op::Ping(Empty {})).await.unwrap_err();
            assert_eq!(err.code(), Some("unauthorized"));
            assert_eq!(raw.auth("good").await.unwrap().user, "alice");
            // Garbage is ignored by the fake; a frame split across writes is whole.
            raw.send_text("not a frame").await.unwrap();
            let ping = wire::encode(
                transport,
                &Frame {
                    id: 9,
                    op: Some(Op::Ping(Empty {})),
                },
            );
            match (transport, ping) {
                (Transport::TcpProtobuf, Outgoing::Binary(body)) => {
                    let framed = koi_proto::framing::frame(&body);
                    raw.send_raw(framed.slice(..3)).await.unwrap();
                    raw.send_raw(framed.slice(3..)).await.unwrap();
                }
                (Transport::WsJson, Outgoing::Text(text)) => raw.send_text(text).await.unwrap(),
                (_, Outgoing::Binary(body)) => raw.send_binary(body).await.unwrap(),
                (_, other) => panic!("{other:?}"),
            }
            let reply = raw.recv_frame().await.unwrap();
            assert_eq!(reply.id, 9, "{transport:?}");
            assert!(
                raw.recv_timeout(Duration::from_millis(50)).await.is_none(),
                "nothing more"
            );
            server.kill_connections();
            assert!(matches!(raw.recv().await, RawEvent::Closed(_)));
            assert!(
                matches!(raw.recv().await, RawEvent::Closed(_)),
                "and stays closed"
            );
        }
    }
}
