use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use koi_proto::Encoding;

/// What a transport read.
#[derive(Debug)]
pub enum Inbound {
    /// One whole frame and the encoding it came in.
    Frame(Bytes, Encoding),
    /// Traffic that is not a frame (a WebSocket ping): the client is alive.
    Activity,
    /// A frame over `max_frame_bytes`; the connection must be closed.
    TooLarge,
    /// The peer closed, or the transport failed.
    Closed,
}

/// How long a closing connection waits for the client to close its side.
pub const LINGER: Duration = Duration::from_secs(1);

/// A client connection, read and written by the one task that serves it.
pub trait Transport: Send + 'static {
    /// The encoding to answer in before the client has sent a decodable frame.
    const ENCODING: Encoding;

    /// The next thing the client sent. Cancel-safe: a read interrupted to write
    /// loses nothing, the partial frame stays buffered.
    fn next(&mut self) -> impl Future<Output = Inbound> + Send;

    /// Writes frames (already encoded in their encodings) and flushes them.
    /// Cancel-safe at frame boundaries: what an interrupted write was given
    /// stays queued in the transport, whole, and goes out before the next
    /// write's frames (a frame not yet handed over may be dropped).
    fn write(
        &mut self,
        frames: &[(Bytes, Encoding)],
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Closes the connection; `code` is the WebSocket close code. Reads
    /// (and drops) what the client still sends, for at most [`LINGER`], until
    /// it closes too: a socket dropped with unread bytes is reset, and the
    /// reset can make the client lose the frames written just before it.
    fn close(&mut self, code: u16) -> impl Future<Output = ()> + Send;
}
