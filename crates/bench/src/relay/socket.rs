//! The null relay's two sockets, as the node has them: a WebSocket (text
//! frames JSON, binary frames protobuf) and a TCP stream of length-prefixed
//! protobuf frames.

use std::io;

use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket};
use bytes::{Bytes, BytesMut};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use koi_proto::{Encoding, framing};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The largest frame read, as the node's default `max_frame_bytes`.
pub const MAX_FRAME: usize = 64 * 1024;
/// Initial TCP read buffer; it grows to the largest frame seen.
const TCP_READ_BUFFER: usize = 4 * 1024;

/// The reading half.
pub enum Reader {
    Ws(SplitStream<WebSocket>),
    Tcp { read: OwnedReadHalf, buf: BytesMut },
}

impl Reader {
    pub fn tcp(read: OwnedReadHalf) -> Reader {
        Reader::Tcp {
            read,
            buf: BytesMut::with_capacity(TCP_READ_BUFFER),
        }
    }

    /// The next frame and its encoding; `None` once the peer is gone (or sent
    /// something unreadable: the bench never does).
    pub async fn next(&mut self) -> Option<(Bytes, Encoding)> {
        match self {
            Reader::Ws(stream) => loop {
                match stream.next().await? {
                    Ok(WsMessage::Text(text)) => return Some((Bytes::from(text), Encoding::Json)),
                    Ok(WsMessage::Binary(bytes)) => return Some((bytes, Encoding::Protobuf)),
                    Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => {}
                    Ok(WsMessage::Close(_)) | Err(_) => return None,
                }
            },
            Reader::Tcp { read, buf } => loop {
                if let Some(frame) = framing::split(buf, MAX_FRAME).ok()? {
                    return Some((frame, Encoding::Protobuf));
                }
                if buf.capacity() == buf.len() {
                    buf.reserve(TCP_READ_BUFFER);
                }
                if read.read_buf(buf).await.ok()? == 0 {
                    return None;
                }
            },
        }
    }
}

/// The writing half.
pub enum Writer {
    Ws(SplitSink<WebSocket, WsMessage>),
    Tcp(BufWriter<OwnedWriteHalf>),
}

impl Writer {
    /// Writes `frames` of `encoding`, then flushes once.
    pub async fn write(&mut self, frames: &[Bytes], encoding: Encoding) -> io::Result<()> {
        match self {
            Writer::Ws(sink) => {
                for bytes in frames {
                    let message = match encoding {
                        Encoding::Json => Utf8Bytes::try_from(bytes.clone())
                            .map(WsMessage::Text)
                            .map_err(io::Error::other)?,
                        Encoding::Protobuf => WsMessage::Binary(bytes.clone()),
                    };
                    sink.feed(message).await.map_err(io::Error::other)?;
                }
                sink.flush().await.map_err(io::Error::other)
            }
            Writer::Tcp(write) => {
                for bytes in frames {
                    write.write_u32(bytes.len() as u32).await?;
                    write.write_all(bytes).await?;
                }
                write.flush().await
            }
        }
    }
}
