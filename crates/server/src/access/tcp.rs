//! TCP transport: a stream of `u32` big-endian length-prefixed protobuf frames,
//! over plain TCP or TLS. The listener holds at most `max_tcp_connections`
//! connections; at the limit it stops accepting until one closes (a connection
//! that does not authenticate is closed after `auth_timeout_s`).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use koi_proto::{Encoding, framing};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::transport::LINGER;
use super::{Access, Inbound, Transport};

/// Initial read buffer; it grows to the size of the largest frame seen.
const READ_BUFFER: usize = 1024;

/// How the TCP listener meets strangers.
pub struct TcpEdge {
    /// Speak TLS when set.
    pub tls: Option<TlsAcceptor>,
    /// Open connections at most.
    pub max_connections: usize,
}

/// Accepts TCP clients until `shutdown` is cancelled. Accept errors (such as
/// running out of file descriptors) back off instead of ending the listener.
pub async fn serve_tcp(
    access: Arc<Access>,
    listener: TcpListener,
    edge: TcpEdge,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(edge.max_connections));
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => return,
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
        };
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let access = access.clone();
                let tls = edge.tls.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    match tls {
                        None => access.clone().run_session(transport(stream, &access)).await,
                        Some(acceptor) => {
                            // The handshake counts against the time to authenticate.
                            let within = Duration::from_secs(access.limits.auth_timeout_s);
                            match tokio::time::timeout(within, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => {
                                    access.clone().run_session(transport(stream, &access)).await
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "tls handshake failed")
                                }
                                Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                            }
                        }
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn transport<S>(stream: S, access: &Access) -> TcpTransport<S> {
    TcpTransport {
        stream,
        buf: BytesMut::with_capacity(READ_BUFFER),
        out: BytesMut::new(),
        max: access.limits.max_frame_bytes,
    }
}

struct TcpTransport<S> {
    stream: S,
    buf: BytesMut,
    /// Framed bytes not yet written: kept across an interrupted write, so a
    /// frame is never cut in half on the wire.
    out: BytesMut,
    max: usize,
}

impl<S> Transport for TcpTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    const ENCODING: Encoding = Encoding::Protobuf;

    async fn next(&mut self) -> Inbound {
        loop {
            match framing::split(&mut self.buf, self.max) {
                Ok(Some(frame)) => return Inbound::Frame(frame, Encoding::Protobuf),
                Ok(None) => {}
                Err(_) => return Inbound::TooLarge,
            }
            if self.buf.capacity() == self.buf.len() {
                self.buf.reserve(READ_BUFFER);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Inbound::Closed,
                Ok(_) => {}
            }
        }
    }

    async fn write(&mut self, frames: &[(Bytes, Encoding)]) -> io::Result<()> {
        let total: usize = frames
            .iter()
            .map(|(b, _)| framing::PREFIX_LEN + b.len())
            .sum();
        self.out.reserve(total);
        for (bytes, _) in frames {
            self.out
                .extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            self.out.extend_from_slice(bytes);
        }
        while !self.out.is_empty() {
            let written = self.stream.write(&self.out).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.out.advance(written);
        }
        // An idle connection holds no write buffer.
        self.out = BytesMut::new();
        Ok(())
    }

    async fn close(&mut self, _code: u16) {
        if self.stream.shutdown().await.is_err() {
            return;
        }
        let mut unread = [0; 1024];
        let _ = tokio::time::timeout(LINGER, async {
            while let Ok(1..) = self.stream.read(&mut unread).await {}
        })
        .await;
    }
}
