//! One client connection, from its first frame to its close.
//!
//! Two tasks per connection: this reader loop, which handles requests one at a
//! time in arrival order (so one client's sends get seqs in the order sent), and a
//! writer task draining the connection's bounded queue onto the socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use koi_cluster::{ConnHandle, Kick, Outbound};
use koi_core::{ErrorCode, KoiError, TokenBucket, UserId};
use koi_proto::frame::Op;
use koi_proto::{AuthOk, Encoding, Frame, Kicked, Ok as OkReply, ok::Body};
use tokio::sync::{mpsc, oneshot};

use super::{Access, FrameReader, FrameWriter, Inbound};
use crate::logic::Caller;

/// WebSocket close codes.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// The most queued frames the writer gathers into one write.
const WRITE_BATCH: usize = 64;

/// How long one write may block on a client that does not read. Past it the
/// socket is dropped: a stalled client must not pin a task and its buffers.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the goodbye (`kicked`, queued replies, close) may take.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

impl Access {
    /// Serves one connection until it closes.
    pub async fn run_session<R: FrameReader, W: FrameWriter>(
        self: Arc<Self>,
        mut reader: R,
        mut writer: W,
    ) {
        let Some((user, auth_id, encoding)) = self.authenticate(&mut reader, &mut writer).await
        else {
            return;
        };
        let (tx, rx) = mpsc::channel(self.limits.outbound_queue);
        let conn = Arc::new(ConnHandle::new(
            self.next_conn_id(),
            user.to_string(),
            tx,
            encoding,
        ));
        if let Err(e) = self.logic.connected(conn.clone()).await {
            write_now(&mut writer, &error_frame(auth_id, &e), encoding).await;
            writer.close(1011).await;
            return;
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
        conn.reply(auth_ok, encoding).await;
        let (done, reader_done) = oneshot::channel();
        let writer_task = tokio::spawn(write_loop(
            writer,
            rx,
            reader_done,
            conn.clone(),
            self.meters.clone(),
        ));
        self.read_loop(&mut reader, &conn, user).await;
        if let Err(e) = self.logic.disconnected(&conn).await {
            tracing::warn!(error = %e, "disconnect bookkeeping failed");
        }
        let _ = done.send(());
        let _ = writer_task.await;
    }

    /// Waits for `auth` as the first frame, within the auth timeout.
    async fn authenticate<R: FrameReader, W: FrameWriter>(
        &self,
        reader: &mut R,
        writer: &mut W,
    ) -> Option<(UserId, u64, Encoding)> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(self.limits.auth_timeout_s);
        let mut bad_frames = 0;
        loop {
            let Ok(inbound) = tokio::time::timeout_at(deadline, reader.next()).await else {
                let e = KoiError::new(ErrorCode::Unauthorized, "no auth within the auth timeout");
                write_now(writer, &error_frame(0, &e), R::ENCODING).await;
                writer.close(CLOSE_POLICY).await;
                return None;
            };
            let (bytes, encoding) = match inbound {
                Inbound::Closed => return None,
                Inbound::Activity => continue,
                Inbound::TooLarge => {
                    self.too_large_now(writer, R::ENCODING).await;
                    return None;
                }
                Inbound::Frame(bytes, encoding) => (bytes, encoding),
            };
            self.meters.frame_in();
            let frame = match encoding.decode(&bytes) {
                Ok(frame) => frame,
                Err(e) => {
                    let reply = error_frame(e.id.unwrap_or(0), &KoiError::bad_request(e.reason));
                    write_now(writer, &reply, encoding).await;
                    bad_frames += 1;
                    if bad_frames >= self.limits.max_bad_frames {
                        kick_now(writer, Kick::BadFrames, encoding).await;
                        return None;
                    }
                    continue;
                }
            };
            let failure = match frame.op {
                Some(Op::Auth(auth)) => match self.tokens.verify(&auth.token) {
                    Ok(user) => return Some((user, frame.id, encoding)),
                    Err(e) => e,
                },
                _ => KoiError::new(ErrorCode::Unauthorized, "the first frame must be `auth`"),
            };
            write_now(writer, &error_frame(frame.id, &failure), encoding).await;
            writer.close(CLOSE_POLICY).await;
            return None;
        }
    }

    /// Handles requests until the client leaves, goes silent or is kicked.
    async fn read_loop<R: FrameReader>(
        &self,
        reader: &mut R,
        conn: &Arc<ConnHandle>,
        user: UserId,
    ) {
        let caller = Caller {
            user,
            conn: Some(conn.id()),
        };
        let idle = Duration::from_secs(3 * u64::from(self.limits.heartbeat_s));
        let mut bucket = TokenBucket::new(
            self.limits.msgs_per_sec,
            self.limits.msgs_burst,
            Instant::now(),
        );
        let mut bad_frames = 0;
        loop {
            let inbound = tokio::select! {
                biased;
                _ = conn.wait_kicked() => return,
                read = tokio::time::timeout(idle, reader.next()) => match read {
                    Ok(inbound) => inbound,
                    Err(_) => {
                        conn.kick(Kick::Heartbeat);
                        return;
                    }
                },
            };
            let (bytes, encoding) = match inbound {
                Inbound::Closed => return,
                Inbound::Activity => continue,
                Inbound::TooLarge => {
                    let e = KoiError::new(ErrorCode::TooLarge, "frame over max_frame_bytes");
                    conn.reply(error_frame(0, &e), conn.encoding()).await;
                    conn.close(CLOSE_TOO_BIG).await;
                    return;
                }
                Inbound::Frame(bytes, encoding) => (bytes, encoding),
            };
            self.meters.frame_in();
            conn.set_encoding(encoding);
            let allowed = bucket.try_take(Instant::now());
            let frame = match encoding.decode(&bytes) {
                Ok(frame) => {
                    bad_frames = 0;
                    frame
                }
                Err(e) => {
                    let reply = error_frame(e.id.unwrap_or(0), &KoiError::bad_request(e.reason));
                    conn.reply(reply, encoding).await;
                    bad_frames += 1;
                    if bad_frames >= self.limits.max_bad_frames {
                        conn.kick(Kick::BadFrames);
                        return;
                    }
                    continue;
                }
            };
            let result = if !allowed {
                Err(KoiError::new(
                    ErrorCode::RateLimited,
                    format!("over {} frames per second", self.limits.msgs_per_sec),
                ))
            } else {
                let op = frame.op.expect("decoded frames have an operation");
                let is_send = matches!(op, Op::Send(_));
                let started = Instant::now();
                let result = self.logic.handle(&caller, op).await;
                if is_send && result.is_ok() {
                    self.meters.send_ack(started.elapsed());
                }
                result
            };
            if !conn.reply(reply_frame(frame.id, result), encoding).await {
                return;
            }
        }
    }

    async fn too_large_now<W: FrameWriter>(&self, writer: &mut W, encoding: Encoding) {
        let e = KoiError::new(ErrorCode::TooLarge, "frame over max_frame_bytes");
        write_now(writer, &error_frame(0, &e), encoding).await;
        writer.close(CLOSE_TOO_BIG).await;
    }
}

/// Drains the connection's queue onto the socket, a batch per write, until the
/// reader is done, a `Close` comes, the socket fails or the connection is kicked.
async fn write_loop<W: FrameWriter>(
    mut writer: W,
    mut rx: mpsc::Receiver<Outbound>,
    mut reader_done: oneshot::Receiver<()>,
    conn: Arc<ConnHandle>,
    meters: crate::monitor::Meters,
) {
    // Grown on first use: most connections sit idle, and a batch's worth of
    // room (2.5 KiB) for each would be a sixth of an idle connection's memory.
    let mut batch: Vec<(Bytes, Encoding)> = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            kick = conn.wait_kicked() => {
                // A slow consumer's queue is what it cannot take; otherwise
                // deliver what is queued before saying goodbye.
                if kick != Kick::SlowConsumer {
                    while let Ok(item) = rx.try_recv() {
                        if let Some(frame) = encode(item, &conn, &mut None) {
                            batch.push(frame);
                        }
                    }
                }
                let frame = Frame { id: 0, op: Some(Op::Kicked(Kicked { reason: kick.reason().into() })) };
                let encoding = conn.encoding();
                batch.push((encoding.encode(&frame), encoding));
                meters.frames_out(batch.len() as u64);
                goodbye(&mut writer, &batch, kick.close_code()).await;
                return;
            }
            item = rx.recv() => item,
            _ = &mut reader_done => {
                let mut close = None;
                while let Ok(item) = rx.try_recv() {
                    if let Some(frame) = encode(item, &conn, &mut close) {
                        batch.push(frame);
                    }
                }
                meters.frames_out(batch.len() as u64);
                goodbye(&mut writer, &batch, close.unwrap_or(1000)).await;
                return;
            }
        };
        let Some(first) = first else {
            writer.close(1000).await;
            return;
        };
        let mut close = None;
        if let Some(frame) = encode(first, &conn, &mut close) {
            batch.push(frame);
        }
        while close.is_none() && batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(item) => {
                    if let Some(frame) = encode(item, &conn, &mut close) {
                        batch.push(frame);
                    }
                }
                Err(_) => break,
            }
        }
        meters.frames_out(batch.len() as u64);
        match tokio::time::timeout(WRITE_TIMEOUT, writer.write(&batch)).await {
            Ok(Ok(())) => {}
            // The socket failed or the client stopped reading: drop it.
            Ok(Err(_)) | Err(_) => {
                conn.kick(Kick::SlowConsumer);
                return;
            }
        }
        batch.clear();
        if let Some(code) = close {
            writer.close(code).await;
            return;
        }
    }
}

/// Writes the last frames and closes, within [`GOODBYE_TIMEOUT`]; a client that
/// does not read by then just loses the socket.
async fn goodbye<W: FrameWriter>(writer: &mut W, batch: &[(Bytes, Encoding)], code: u16) {
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, async {
        let _ = writer.write(batch).await;
        writer.close(code).await;
    })
    .await;
}

fn encode(item: Outbound, conn: &ConnHandle, close: &mut Option<u16>) -> Option<(Bytes, Encoding)> {
    match item {
        Outbound::Reply(bytes, encoding) => Some((bytes, encoding)),
        Outbound::Push(push) => {
            let encoding = conn.encoding();
            Some((push.encoded(encoding), encoding))
        }
        Outbound::Close(code) => {
            *close = Some(code);
            None
        }
    }
}

async fn write_now<W: FrameWriter>(writer: &mut W, frame: &Frame, encoding: Encoding) {
    let _ = writer.write(&[(encoding.encode(frame), encoding)]).await;
}

async fn kick_now<W: FrameWriter>(writer: &mut W, kick: Kick, encoding: Encoding) {
    let frame = Frame {
        id: 0,
        op: Some(Op::Kicked(Kicked {
            reason: kick.reason().into(),
        })),
    };
    write_now(writer, &frame, encoding).await;
    writer.close(kick.close_code()).await;
}

fn reply_frame(id: u64, result: Result<Body, KoiError>) -> Frame {
    let op = match result {
        Ok(body) => Op::Ok(OkReply { body: Some(body) }),
        Err(e) => Op::Error(e.to_wire()),
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
