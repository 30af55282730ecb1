//! A bound on what a WebSocket client may make the node read before `auth`
//! (issue #19, defect 13). The WebSocket library's message limit is fixed for
//! a connection's life and is 16x `max_frame_bytes` (so that an over-size
//! frame after `auth` is read whole and answered `too_large`); before `auth`
//! only one frame is legitimate, and a small one, so the upgraded socket reads
//! at most `max_frame_bytes` + [`PRE_AUTH_SLACK`] until the session has its
//! first frame: a first frame just over the limit is still read whole and
//! answered `too_large` (close 1009), anything bigger is cut off there. A
//! client holds at most that much of the node's memory before `auth`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes beyond `max_frame_bytes` a WebSocket may send before its first
/// frame is complete (frame headers, a close frame).
pub const PRE_AUTH_SLACK: usize = 16 * 1024;

/// Where one connection stands.
pub struct PreAuth {
    /// Bytes allowed between the upgrade and the first frame.
    limit: usize,
    /// The limit was passed: the connection is cut off as over-size.
    tripped: AtomicBool,
    /// The connection became a WebSocket: counting starts.
    armed: AtomicBool,
    /// Its first frame was read: no more bound.
    lifted: AtomicBool,
    read: AtomicUsize,
}

impl PreAuth {
    /// A connection's bound: `limit` bytes between upgrade and first frame.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            tripped: AtomicBool::new(false),
            armed: AtomicBool::new(false),
            lifted: AtomicBool::new(false),
            read: AtomicUsize::new(0),
        }
    }

    /// Whether the connection read more than its bound before its first frame.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    /// The HTTP connection was upgraded to a WebSocket.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }

    /// The session has its first frame; later reads are bounded by the
    /// frame limits alone.
    pub fn lift(&self) {
        self.lifted.store(true, Ordering::Release);
    }

    fn over(&self, n: usize) -> bool {
        if !self.armed.load(Ordering::Acquire) || self.lifted.load(Ordering::Acquire) {
            return false;
        }
        let over = self.read.fetch_add(n, Ordering::AcqRel) + n > self.limit;
        if over {
            self.tripped.store(true, Ordering::Release);
        }
        over
    }
}

/// A connection's stream, counting what it reads while [`PreAuth`] is armed.
pub struct Capped<S> {
    inner: S,
    state: Arc<PreAuth>,
}

impl<S> Capped<S> {
    pub fn new(inner: S, state: Arc<PreAuth>) -> Self {
        Self { inner, state }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let n = buf.filled().len() - before;
            if self.state.over(n) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "over the bytes allowed before auth",
                )));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn reads_are_bounded_between_upgrade_and_first_frame() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let state = Arc::new(PreAuth::new(16 * 1024));
        let mut server = Capped::new(server, state.clone());
        let mut client = client;
        let mut buf = vec![0u8; 64 * 1024];
        // Before the upgrade (HTTP): unbounded.
        client.write_all(&vec![1; 32 * 1024]).await.unwrap();
        server.read_exact(&mut buf[..32 * 1024]).await.unwrap();
        // Upgraded, before the first frame: bounded.
        state.arm();
        client.write_all(&vec![2; 32 * 1024]).await.unwrap();
        let mut read = 0;
        let err = loop {
            match server.read(&mut buf).await {
                Ok(n) => read += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(read <= 16 * 1024, "{read}");
        assert!(state.tripped());
        // After the first frame: unbounded again.
        state.lift();
        client.write_all(&vec![3; 32 * 1024]).await.unwrap();
        server.read_exact(&mut buf[..16 * 1024]).await.unwrap();
    }
}
