//! One socket, split in a reading and a writing half, for every transport.
//!
//! [`RawConnection`](crate::RawConnection) drives the halves directly;
//! [`Connection`](crate::Connection) hands them to its reader and writer tasks.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use koi_proto::{Frame, binary, framing, json};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::error::{ClientError, Result};
use crate::transport::Transport;
use crate::trust::Trust;

/// The largest frame the client accepts from a server (a page of history can be
/// much larger than the server's own inbound limit).
pub(crate) const MAX_INBOUND_FRAME: usize = 64 << 20;

/// How long to wait for the peer's half of a WebSocket closing handshake.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The reading half of a TCP connection, plain or TLS.
type TcpRead = Box<dyn AsyncRead + Send + Unpin>;

/// The writing half of a TCP connection, plain or TLS.
type TcpWrite = Box<dyn AsyncWrite + Send + Unpin>;

/// What ended a connection, as seen from the socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseInfo {
    /// The WebSocket close code the server sent (1000 normal, 1009 too big, ...).
    /// `None` for TCP, and for a WebSocket that ended without a close frame.
    pub code: Option<u16>,
    /// The close frame's reason text, if any.
    pub reason: String,
    /// A socket or protocol error that ended the connection, if it did not end cleanly.
    pub error: Option<String>,
}

/// One thing read from a connection.
// A return value, not something stored in bulk: boxing the frame would only
// make matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RawEvent {
    /// A decoded frame.
    Frame(Frame),
    /// A whole frame that did not decode.
    Undecodable {
        /// Its bytes.
        bytes: Bytes,
        /// Why it did not decode.
        error: String,
    },
    /// The connection is closed; every later read says the same.
    Closed(CloseInfo),
}

/// Something to write.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// WebSocket: a text message. TCP: a length-prefixed frame.
    Text(String),
    /// WebSocket: a binary message. TCP: a length-prefixed frame.
    Binary(Bytes),
    /// WebSocket: a binary message. TCP: the bytes as they are, no prefix.
    Raw(Bytes),
    /// WebSocket: a close frame with this code (1000 when none). TCP: shut the
    /// write side down.
    Close(Option<u16>),
}

/// Encodes `frame` the way `transport` carries it.
pub(crate) fn encode(transport: Transport, frame: &Frame) -> Outgoing {
    match transport {
        Transport::WsJson => Outgoing::Text(json::encode(frame)),
        Transport::WsProtobuf | Transport::TcpProtobuf => {
            Outgoing::Binary(Bytes::from(binary::encode(frame)))
        }
    }
}

/// Opens a socket to `addr` (a `ws://` or `wss://` URL, or `host:port` or
/// `tls://host:port` for TCP) and splits it. TLS checks the node's
/// certificate against `trust`.
pub(crate) async fn connect(
    addr: &str,
    transport: Transport,
    trust: &Trust,
) -> Result<(RawReader, RawWriter)> {
    if transport.is_ws() {
        if !(addr.starts_with("ws://") || addr.starts_with("wss://")) {
            return Err(ClientError::Address(format!(
                "{addr}: a WebSocket address is a ws:// or wss:// URL"
            )));
        }
        let tls = Connector::Rustls(trust.tls());
        let (ws, _response) =
            tokio_tungstenite::connect_async_tls_with_config(addr, None, true, Some(tls)).await?;
        let (sink, stream) = ws.split();
        Ok((
            RawReader::Ws {
                stream,
                closed: None,
            },
            RawWriter::Ws(sink),
        ))
    } else {
        let (read, write) = match addr.strip_prefix("tls://") {
            Some(addr) => tls_split(addr, trust).await?,
            None => {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (read, write) = stream.into_split();
                (Box::new(read) as TcpRead, Box::new(write) as TcpWrite)
            }
        };
        Ok((
            RawReader::Tcp {
                read,
                buf: BytesMut::with_capacity(16 * 1024),
                closed: None,
            },
            RawWriter::Tcp(BufWriter::with_capacity(64 * 1024, write)),
        ))
    }
}

/// A TLS connection to `addr` (`host:port`, the host also naming the
/// certificate), split.
async fn tls_split(addr: &str, trust: &Trust) -> Result<(TcpRead, TcpWrite)> {
    let host = addr
        .rsplit_once(':')
        .map(|(host, _port)| host.trim_start_matches('[').trim_end_matches(']'))
        .ok_or_else(|| ClientError::Address(format!("{addr}: a TCP address is host:port")))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ClientError::Address(format!("{addr}: {e}")))?;
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let tls = TlsConnector::from(trust.tls())
        .connect(name, stream)
        .await?;
    let (read, write) = tokio::io::split(tls);
    Ok((Box::new(read), Box::new(write)))
}

/// The reading half.
pub(crate) enum RawReader {
    Ws {
        stream: SplitStream<Ws>,
        closed: Option<CloseInfo>,
    },
    Tcp {
        read: TcpRead,
        buf: BytesMut,
        closed: Option<CloseInfo>,
    },
}

impl RawReader {
    /// The next frame, undecodable frame or the close. Cancel-safe.
    pub(crate) async fn next(&mut self) -> RawEvent {
        match self {
            RawReader::Ws { stream, closed } => {
                if let Some(info) = closed {
                    return RawEvent::Closed(info.clone());
                }
                let info = loop {
                    match stream.next().await {
                        Some(Ok(WsMessage::Text(text))) => {
                            return decoded(json::decode(text.as_bytes()), text.into());
                        }
                        Some(Ok(WsMessage::Binary(bytes))) => {
                            return decoded(binary::decode(&bytes), bytes);
                        }
                        Some(Ok(WsMessage::Close(frame))) => {
                            // Let tungstenite answer the close and see the end of the stream.
                            let _ = tokio::time::timeout(CLOSE_DRAIN, async {
                                while let Some(Ok(_)) = stream.next().await {}
                            })
                            .await;
                            break CloseInfo {
                                code: frame.as_ref().map(|f| u16::from(f.code)),
                                reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                                error: None,
                            };
                        }
                        Some(Ok(_)) => continue, // ping, pong: tungstenite answers pings itself
                        Some(Err(e)) => {
                            break CloseInfo {
                                error: Some(e.to_string()),
                                ..CloseInfo::default()
                            };
                        }
                        None => break CloseInfo::default(),
                    }
                };
                *closed = Some(info.clone());
                RawEvent::Closed(info)
            }
            RawReader::Tcp { read, buf, closed } => {
                if let Some(info) = closed {
                    return RawEvent::Closed(info.clone());
                }
                let info = loop {
                    match framing::split(buf, MAX_INBOUND_FRAME) {
                        Ok(Some(body)) => return decoded(binary::decode(&body), body),
                        Ok(None) => {}
                        Err(too_large) => {
                            break CloseInfo {
                                error: Some(too_large.to_string()),
                                ..CloseInfo::default()
                            };
                        }
                    }
                    match read.read_buf(buf).await {
                        Ok(0) if buf.is_empty() => break CloseInfo::default(),
                        Ok(0) => {
                            break CloseInfo {
                                error: Some(format!(
                                    "connection closed inside a frame ({} bytes left)",
                                    buf.len()
                                )),
                                ..CloseInfo::default()
                            };
                        }
                        Ok(_) => {}
                        Err(e) => {
                            break CloseInfo {
                                error: Some(e.to_string()),
                                ..CloseInfo::default()
                            };
                        }
                    }
                };
                *closed = Some(info.clone());
                RawEvent::Closed(info)
            }
        }
    }
}

fn decoded(result: Result<Frame, koi_proto::DecodeError>, bytes: Bytes) -> RawEvent {
    match result {
        Ok(frame) => RawEvent::Frame(frame),
        Err(e) => RawEvent::Undecodable {
            bytes,
            error: e.reason,
        },
    }
}

/// The writing half. Writes are buffered until [`RawWriter::flush`].
pub(crate) enum RawWriter {
    Ws(SplitSink<Ws, WsMessage>),
    Tcp(BufWriter<TcpWrite>),
}

impl RawWriter {
    /// Buffers one item (a close is written through at once).
    pub(crate) async fn feed(&mut self, out: Outgoing) -> Result<()> {
        match self {
            RawWriter::Ws(sink) => {
                let msg = match out {
                    Outgoing::Text(text) => WsMessage::Text(text.into()),
                    Outgoing::Binary(bytes) | Outgoing::Raw(bytes) => WsMessage::Binary(bytes),
                    Outgoing::Close(code) => {
                        let frame = CloseFrame {
                            code: CloseCode::from(code.unwrap_or(1000)),
                            reason: "".into(),
                        };
                        sink.send(WsMessage::Close(Some(frame))).await?;
                        return Ok(());
                    }
                };
                sink.feed(msg).await?;
            }
            RawWriter::Tcp(write) => match out {
                Outgoing::Text(text) => write_prefixed(write, text.as_bytes()).await?,
                Outgoing::Binary(bytes) => write_prefixed(write, &bytes).await?,
                Outgoing::Raw(bytes) => write.write_all(&bytes).await?,
                Outgoing::Close(_) => {
                    write.flush().await?;
                    write.get_mut().shutdown().await?;
                }
            },
        }
        Ok(())
    }

    /// Writes out everything buffered.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        match self {
            RawWriter::Ws(sink) => sink.flush().await?,
            RawWriter::Tcp(write) => write.flush().await?,
        }
        Ok(())
    }

    /// Writes one item through.
    pub(crate) async fn send(&mut self, out: Outgoing) -> Result<()> {
        self.feed(out).await?;
        self.flush().await
    }
}

async fn write_prefixed(write: &mut BufWriter<TcpWrite>, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    write.write_all(&len.to_be_bytes()).await?;
    write.write_all(body).await
}
