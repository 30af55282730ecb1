//! The HTTP listener, served by hyper's HTTP/1 connection builder rather than
//! `axum::serve`, which has no timeouts and no connection limit (issue #19,
//! defect 3):
//!
//! - at most `max_http_connections` open connections (WebSockets included);
//!   at the limit the longest-idle connection makes room ([`super::slots`]);
//! - a client has `http_header_timeout_s` to send a request's headers, the first
//!   one and each next one on a kept-alive connection, so idle and half-sent
//!   connections are closed (with TLS the handshake gets the same time);
//! - a request body that stalls for `http_body_timeout_s` fails the request.
//!
//! Each request carries the peer's address as axum's `ConnectInfo`, which the
//! per-address limits key on. An upgraded WebSocket reads at most
//! `pre_auth_bytes` before its first frame ([`super::pre_auth`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::timeout::RequestBodyTimeoutLayer;

use super::pre_auth::Capped;
use super::slots::{HeldSlot, Slot, Slots};
use crate::config::EdgeLimits;

/// Serves `app` on `listener` until `stop` is cancelled; open connections then
/// finish their current request and close.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    tls: Option<TlsAcceptor>,
    pre_auth_bytes: usize,
    stop: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.http_header_timeout);
    let builder = Arc::new(builder);
    let slots = Slots::new(limits.max_http_connections, pre_auth_bytes);
    loop {
        let slot = tokio::select! {
            () = stop.cancelled() => return,
            slot = slots.take() => Arc::new(slot),
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Small frames (acks, pushes, close frames) must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let (app, builder, tls, stop) = (app.clone(), builder.clone(), tls.clone(), stop.clone());
        let handshake_within = limits.http_header_timeout;
        let body_timeout = limits.http_body_timeout;
        tokio::spawn(async move {
            let evict = slot.track.evict.clone();
            let pre_auth = slot.track.pre_auth.clone();
            let conn = Conn {
                peer,
                slot,
                body_timeout,
            };
            let serve = async {
                match tls {
                    None => {
                        conn.serve(Capped::new(stream, pre_auth), app, &builder, stop)
                            .await
                    }
                    Some(acceptor) => {
                        match tokio::time::timeout(handshake_within, acceptor.accept(stream)).await
                        {
                            Ok(Ok(stream)) => {
                                let stream = Capped::new(stream, pre_auth);
                                conn.serve(stream, app, &builder, stop).await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "tls handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                        }
                    }
                }
            };
            tokio::select! {
                () = serve => {}
                // Dropping the connection closes its socket.
                () = evict.cancelled() => tracing::debug!(%peer, "idle connection closed for a new one"),
            }
        });
    }
}

/// One accepted connection.
struct Conn {
    peer: SocketAddr,
    slot: Arc<Slot>,
    body_timeout: Duration,
}

impl Conn {
    async fn serve<S>(
        self,
        stream: S,
        app: Router,
        builder: &http1::Builder,
        stop: CancellationToken,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            peer,
            slot,
            body_timeout,
        } = self;
        let track = slot.track.clone();
        let held = HeldSlot(slot);
        let service = ServiceBuilder::new()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(held.clone());
                req
            })
            .map_future(move |answer| {
                let track = track.clone();
                track.started();
                async move {
                    let answer: Result<axum::response::Response, Infallible> = answer.await;
                    let upgraded = answer
                        .as_ref()
                        .is_ok_and(|r| r.status() == StatusCode::SWITCHING_PROTOCOLS);
                    track.finished(upgraded);
                    answer
                }
            })
            .layer(RequestBodyTimeoutLayer::new(body_timeout))
            .service(app);
        let conn = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "http connection ended");
                }
                return;
            }
            () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
        }
        let _ = conn.await;
    }
}
