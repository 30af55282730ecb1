//! One client connection, from its first frame to its close.
//!
//! One task per connection. It handles requests one at a time in arrival order
//! (so one client's sends get seqs in the order sent), and while a request is
//! being handled it goes on writing the pushes queued for the connection. An
//! idle connection costs this small task and its socket: the request in hand
//! and the pushes waiting take memory only while they exist.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use koi_cluster::{ConnHandle, Kick};
use koi_core::{ErrorCode, KoiError, TokenBucket, UserId};
use koi_proto::frame::Op;
use koi_proto::{AuthOk, Encoding, Frame, Kicked, Ok as OkReply, ok::Body};

use super::user_rate::UserShare;
use super::{Access, Inbound, Transport};
use crate::logic::Caller;
use crate::tokens::Verified;

/// WebSocket close codes.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// How long one write may block on a client that does not read. Past it the
/// socket is dropped: a stalled client must not pin a task and its buffers.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the goodbye (`kicked`, queued pushes, close) may take.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// A frame encoded for the wire, in the encoding it is written in.
type Encoded = (Bytes, Encoding);

/// The request being handled: its reply, once there is one.
type Handling<'a> = Pin<Box<dyn Future<Output = Encoded> + Send + 'a>>;

/// What reading from the client leaves to do.
enum Taken<'a> {
    /// Nothing (a WebSocket ping).
    Nothing,
    /// A request to handle.
    Request(Handling<'a>),
    /// A reply to write now (a bad frame, a rate limit).
    Reply(Encoded),
    /// The session is over.
    End(End),
}

/// A session's checks on what its client sends.
struct Intake {
    bucket: TokenBucket,
    /// Shared by every connection of the user on this node.
    user_bucket: Arc<UserShare>,
    /// Undecodable frames in a row.
    bad_frames: u32,
}

/// Why a session stopped serving, and so how it says goodbye.
enum End {
    /// Kicked: the queued pushes (unless it is too slow for them), then this
    /// last frame if any, then `kicked` and the kick's close code.
    Kicked(Kick, Option<Encoded>),
    /// The client closed or went away: what is queued, then close 1000.
    Closed,
    /// A frame over the limit: what is queued, `too_large`, close 1009.
    TooLarge,
    /// The socket failed or stalled: nothing more is written.
    Dropped,
}

impl Access {
    /// Serves one connection until it closes.
    ///
    /// Only [`Access::serve`] stays for the connection's life; the steps that
    /// run once are boxed, so that their state is freed once they are done
    /// instead of sizing every idle connection's task.
    pub async fn run_session<T: Transport>(self: Arc<Self>, mut transport: T) {
        let _running = self.session_started();
        let Some((conn, user)) = Box::pin(self.begin(&mut transport)).await else {
            return;
        };
        let end = self.serve(&mut transport, &conn, user).await;
        Box::pin(self.finish(&mut transport, &conn, end)).await;
    }

    /// Authenticates the client, registers the connection and answers `auth`.
    async fn begin<T: Transport>(&self, transport: &mut T) -> Option<(Arc<ConnHandle>, UserId)> {
        let (token, auth_id, encoding) = self.authenticate(transport).await?;
        let user = token.user.clone();
        let conn = Arc::new(ConnHandle::new(
            self.next_conn_id(),
            user.to_string(),
            self.limits.outbound_queue,
            encoding,
        ));
        // Tracked before it is reachable, so that no revocation misses it.
        self.revocations.opened(&conn, &token);
        if let Err(e) = self.logic.connected(conn.clone()).await {
            self.revocations.closed(&conn);
            write_now(transport, &error_frame(auth_id, &e), encoding).await;
            transport.close(1011).await;
            return None;
        }
        let auth_ok = reply_frame(
            auth_id,
            Ok(Body::Auth(AuthOk {
                user: user.to_string(),
                session: format!("{:016x}", conn.id()),
                heartbeat_s: self.limits.heartbeat_s,
                server_time: now_ms(),
            })),
        );
        // `auth` is answered before any push queued since `connected`.
        let auth_ok = (encoding.encode(&auth_ok), encoding);
        if self.write(transport, &conn, Some(auth_ok)).await.is_err() {
            self.finish(transport, &conn, End::Dropped).await;
            return None;
        }
        Some((conn, user))
    }

    /// Unregisters the connection and says goodbye as `end` calls for.
    async fn finish<T: Transport>(&self, transport: &mut T, conn: &Arc<ConnHandle>, end: End) {
        self.revocations.closed(conn);
        if let Err(e) = self.logic.disconnected(conn).await {
            tracing::warn!(error = %e, "disconnect bookkeeping failed");
        }
        self.say_goodbye(transport, conn, end).await;
    }

    /// Waits for `auth` as the first frame, within the auth timeout.
    async fn authenticate<T: Transport>(
        &self,
        transport: &mut T,
    ) -> Option<(Verified, u64, Encoding)> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(self.limits.auth_timeout_s);
        let mut bad_frames = 0;
        loop {
            let Ok(inbound) = tokio::time::timeout_at(deadline, transport.next()).await else {
                let e = KoiError::new(ErrorCode::Unauthorized, "no auth within the auth timeout");
                write_now(transport, &error_frame(0, &e), T::ENCODING).await;
                transport.close(CLOSE_POLICY).await;
                return None;
            };
            let (bytes, encoding) = match inbound {
                Inbound::Closed => return None,
                Inbound::Activity => continue,
                Inbound::TooLarge => {
                    let e = KoiError::new(ErrorCode::TooLarge, "frame over max_frame_bytes");
                    write_now(transport, &error_frame(0, &e), T::ENCODING).await;
                    transport.close(CLOSE_TOO_BIG).await;
                    return None;
                }
                Inbound::Frame(bytes, encoding) => (bytes, encoding),
            };
            self.meters.frame_in();
            let frame = match encoding.decode(&bytes) {
                Ok(frame) => frame,
                Err(e) => {
                    let reply = error_frame(e.id.unwrap_or(0), &KoiError::bad_request(e.reason));
                    write_now(transport, &reply, encoding).await;
                    bad_frames += 1;
                    if bad_frames >= self.limits.max_bad_frames {
                        kick_now(transport, Kick::BadFrames, encoding).await;
                        return None;
                    }
                    continue;
                }
            };
            let failure = match frame.op {
                Some(Op::Auth(auth)) => match self
                    .tokens
                    .verify(&auth.token)
                    .and_then(|token| self.revocations.check(&token).map(|()| token))
                {
                    Ok(token) => return Some((token, frame.id, encoding)),
                    Err(e) => e,
                },
                _ => KoiError::new(ErrorCode::Unauthorized, "the first frame must be `auth`"),
            };
            write_now(transport, &error_frame(frame.id, &failure), encoding).await;
            transport.close(CLOSE_POLICY).await;
            return None;
        }
    }

    /// Handles requests and writes pushes until the client leaves, is kicked
    /// (silence is a kick, from [`super::close_silent`]) or stops reading.
    async fn serve<T: Transport>(
        &self,
        transport: &mut T,
        conn: &Arc<ConnHandle>,
        user: UserId,
    ) -> End {
        let mut intake = Intake {
            bucket: TokenBucket::new(
                self.limits.msgs_per_sec,
                self.limits.msgs_burst,
                Instant::now(),
            ),
            user_bucket: self.user_rates.joined(user.as_str()),
            bad_frames: 0,
        };
        let caller = Caller {
            user,
            conn: Some(conn.id()),
        };
        let end = self
            .serve_frames(transport, conn, &caller, &mut intake)
            .await;
        self.user_rates.left(caller.user.as_str());
        end
    }

    /// The loop of [`Access::serve`].
    async fn serve_frames<T: Transport>(
        &self,
        transport: &mut T,
        conn: &Arc<ConnHandle>,
        caller: &Caller,
        intake: &mut Intake,
    ) -> End {
        let mut handling: Option<Handling<'_>> = None;
        // One write per turn, of the queued pushes and then `last`: a single
        // await point keeps this long-lived state machine small.
        loop {
            let last = tokio::select! {
                biased;
                // A kick (from the node, the fan-out or the silence sweep) or pushes.
                () = conn.ready() => {
                    if let Some(kick) = conn.kicked() {
                        // The request in hand completes: its store write stands
                        // either way, and its reply goes out with the goodbye.
                        let reply = match handling.take() {
                            Some(request) => Some(request.await),
                            None => None,
                        };
                        return End::Kicked(kick, reply);
                    }
                    None
                }
                reply = async {
                    match handling.as_mut() {
                        Some(request) => request.await,
                        None => std::future::pending().await,
                    }
                }, if handling.is_some() => {
                    // Frames wait unread while a request is in hand: the
                    // client was not silent meanwhile.
                    conn.heard(Instant::now());
                    handling = None;
                    Some(reply)
                }
                inbound = transport.next(), if handling.is_none() => {
                    match self.take(inbound, conn, caller, intake) {
                        Taken::Nothing => continue,
                        Taken::Request(request) => {
                            handling = Some(request);
                            continue;
                        }
                        Taken::Reply(reply) => Some(reply),
                        Taken::End(end) => return end,
                    }
                }
            };
            if let Err(end) = self.write(transport, conn, last).await {
                return end;
            }
        }
    }

    /// What a read from the client calls for.
    fn take<'a>(
        &'a self,
        inbound: Inbound,
        conn: &ConnHandle,
        caller: &'a Caller,
        intake: &mut Intake,
    ) -> Taken<'a> {
        let now = Instant::now();
        conn.heard(now);
        let (bytes, encoding) = match inbound {
            Inbound::Closed => return Taken::End(End::Closed),
            Inbound::Activity => return Taken::Nothing,
            Inbound::TooLarge => return Taken::End(End::TooLarge),
            Inbound::Frame(bytes, encoding) => (bytes, encoding),
        };
        self.meters.frame_in();
        conn.set_encoding(encoding);
        let allowed = intake.bucket.try_take(now);
        let frame = match encoding.decode(&bytes) {
            Ok(frame) => {
                intake.bad_frames = 0;
                frame
            }
            Err(e) => {
                let reply = error_frame(e.id.unwrap_or(0), &KoiError::bad_request(e.reason));
                let reply = (encoding.encode(&reply), encoding);
                intake.bad_frames += 1;
                if intake.bad_frames >= self.limits.max_bad_frames {
                    conn.kick(Kick::BadFrames);
                    return Taken::End(End::Kicked(Kick::BadFrames, Some(reply)));
                }
                return Taken::Reply(reply);
            }
        };
        if !allowed {
            let e = KoiError::new(
                ErrorCode::RateLimited,
                format!("over {} frames per second", self.limits.msgs_per_sec),
            );
            return Taken::Reply((encoding.encode(&error_frame(frame.id, &e)), encoding));
        }
        // The user's bucket is only drawn from by frames the connection's allows.
        if !self.user_rates.try_take(&intake.user_bucket) {
            let e = KoiError::new(
                ErrorCode::RateLimited,
                format!(
                    "over {} frames per second for this user",
                    self.user_rates.per_sec()
                ),
            );
            return Taken::Reply((encoding.encode(&error_frame(frame.id, &e)), encoding));
        }
        let op = frame.op.expect("decoded frames have an operation");
        Taken::Request(Box::pin(self.handle(caller, frame.id, op, encoding)))
    }

    /// Handles one request and encodes its reply.
    async fn handle(&self, caller: &Caller, id: u64, op: Op, encoding: Encoding) -> Encoded {
        let is_send = matches!(op, Op::Send(_));
        let started = Instant::now();
        let result = self.logic.handle(caller, op).await;
        if is_send && result.is_ok() {
            self.meters.send_ack(started.elapsed());
        }
        (encoding.encode(&reply_frame(id, result)), encoding)
    }

    /// Writes the queued pushes, then `last`, in one flush. A client that does
    /// not take them within [`WRITE_TIMEOUT`] is dropped as a slow consumer.
    async fn write<T: Transport>(
        &self,
        transport: &mut T,
        conn: &ConnHandle,
        last: Option<Encoded>,
    ) -> Result<(), End> {
        let frames = queued_frames(conn, last);
        if frames.is_empty() {
            return Ok(());
        }
        self.meters.frames_out(frames.len() as u64);
        // Boxed: a write's state would otherwise sit in every idle session.
        let write = Box::pin(tokio::time::timeout(
            WRITE_TIMEOUT,
            transport.write(&frames),
        ));
        tokio::select! {
            biased;
            written = write => match written {
                Ok(Ok(())) => Ok(()),
                // The socket failed or the client stopped reading: drop it.
                Ok(Err(_)) | Err(_) => {
                    conn.kick(Kick::SlowConsumer);
                    Err(End::Dropped)
                }
            },
            // Kicked while the client is not taking this write (a slow
            // consumer, most often): leave it, so the connection is let go
            // now; the transport keeps what it was given, and the goodbye
            // sends it with `kicked` if the client reads in time.
            kick = conn.wait_kicked() => Err(End::Kicked(kick, None)),
        }
    }

    /// The last frames and the close, as `end` calls for.
    async fn say_goodbye<T: Transport>(&self, transport: &mut T, conn: &ConnHandle, end: End) {
        let (frames, code) = match end {
            End::Dropped => return,
            End::Closed => (queued_frames(conn, None), 1000),
            End::TooLarge => {
                let e = KoiError::new(ErrorCode::TooLarge, "frame over max_frame_bytes");
                let encoding = conn.encoding();
                let last = (encoding.encode(&error_frame(0, &e)), encoding);
                (queued_frames(conn, Some(last)), CLOSE_TOO_BIG)
            }
            End::Kicked(kick, last) => {
                // A slow consumer's queue is what it cannot take.
                let mut frames = if kick == Kick::SlowConsumer {
                    Vec::new()
                } else {
                    queued_frames(conn, last)
                };
                let kicked = Frame {
                    id: 0,
                    op: Some(Op::Kicked(Kicked {
                        reason: kick.reason().into(),
                    })),
                };
                let encoding = conn.encoding();
                frames.push((encoding.encode(&kicked), encoding));
                (frames, kick.close_code())
            }
        };
        self.meters.frames_out(frames.len() as u64);
        goodbye(transport, &frames, code).await;
    }
}

/// The queued pushes in the connection's encoding, then `last`.
fn queued_frames(conn: &ConnHandle, last: Option<Encoded>) -> Vec<Encoded> {
    let queued = conn.take_queued();
    let encoding = conn.encoding();
    let mut frames = Vec::with_capacity(queued.len() + 1);
    frames.extend(queued.iter().map(|push| (push.encoded(encoding), encoding)));
    frames.extend(last);
    frames
}

/// Writes the last frames and closes, within [`GOODBYE_TIMEOUT`]; a client that
/// does not read by then just loses the socket.
async fn goodbye<T: Transport>(transport: &mut T, frames: &[Encoded], code: u16) {
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, async {
        let _ = transport.write(frames).await;
        transport.close(code).await;
    })
    .await;
}

async fn write_now<T: Transport>(transport: &mut T, frame: &Frame, encoding: Encoding) {
    let _ = transport.write(&[(encoding.encode(frame), encoding)]).await;
}

async fn kick_now<T: Transport>(transport: &mut T, kick: Kick, encoding: Encoding) {
    let frame = Frame {
        id: 0,
        op: Some(Op::Kicked(Kicked {
            reason: kick.reason().into(),
        })),
    };
    write_now(transport, &frame, encoding).await;
    transport.close(kick.close_code()).await;
}

fn reply_frame(id: u64, result: Result<Body, KoiError>) -> Frame {
    let op = match result {
        Ok(body) => Op::Ok(OkReply { body: Some(body) }),
        Err(e) => {
            if e.code == koi_core::ErrorCode::Internal {
                tracing::error!(error = %e.message, "request failed");
            }
            Op::Error(e.to_wire())
        }
    };
    Frame { id, op: Some(op) }
}

fn error_frame(id: u64, e: &KoiError) -> Frame {
    Frame {
        id,
        op: Some(Op::Error(e.to_wire())),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
