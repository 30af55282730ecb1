//! A small in-process stand-in for a Koi node, for this crate's own tests of
//! the connection plumbing and the client's catch-up. It speaks the wire
//! formats for real (TCP length prefix, WebSocket text and binary) but keeps
//! only what those tests need: one user `alice`, direct messages, `sync`,
//! `history`, and a dispatch endpoint. The server proper is tested elsewhere.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{
    AuthOk, ConvSummary, Frame, HistoryOk, Message, Ok as OkReply, SendOk, SyncOk, binary, framing,
    json,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub(crate) const USER: &str = "alice";

#[derive(Default)]
struct State {
    convs: BTreeMap<String, Vec<Message>>,
    live: Vec<mpsc::UnboundedSender<Option<Frame>>>,
    next_id: u64,
}

/// The fake node. Dropping it leaves its tasks running until the test ends.
pub(crate) struct FakeServer {
    pub(crate) tcp: String,
    pub(crate) ws: String,
    pub(crate) http: String,
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    pub(crate) async fn start() -> FakeServer {
        let state = Arc::new(Mutex::new(State::default()));
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FakeServer {
            tcp: tcp.local_addr().unwrap().to_string(),
            ws: format!("ws://{}/ws", ws.local_addr().unwrap()),
            http: format!("http://{}", http.local_addr().unwrap()),
            state: state.clone(),
        };
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = tcp.accept().await {
                tokio::spawn(serve_tcp(sock, st.clone()));
            }
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = ws.accept().await {
                tokio::spawn(serve_ws(sock, st.clone()));
            }
        });
        let body = format!(
            r#"{{"nodes":[{{"id":"fake","ws":"{}","tcp":"{}"}}]}}"#,
            server.ws, server.tcp
        );
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = http.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        server
    }

    /// Stores a message from `from` in `conv`; pushes it to every live
    /// connection when `push`.
    pub(crate) fn inject(&self, conv: &str, from: &str, push: bool) -> u64 {
        let mut st = self.state.lock().unwrap();
        let msg = store(&mut st, conv, from, "");
        let seq = msg.seq;
        if push {
            broadcast(&mut st, &msg, None);
        }
        seq
    }

    /// Pushes an already stored message again.
    pub(crate) fn repush(&self, conv: &str, seq: u64) {
        let mut st = self.state.lock().unwrap();
        let msg = st.convs[conv][seq as usize - 1].clone();
        broadcast(&mut st, &msg, None);
    }

    /// Sends any frame to every live connection.
    pub(crate) fn push(&self, op: Op) {
        let st = self.state.lock().unwrap();
        for tx in &st.live {
            let _ = tx.send(Some(Frame {
                id: 0,
                op: Some(op.clone()),
            }));
        }
    }

    /// Drops every live connection, as a crashed node would.
    pub(crate) fn kill_connections(&self) {
        let mut st = self.state.lock().unwrap();
        for tx in st.live.drain(..) {
            let _ = tx.send(None);
        }
    }

    pub(crate) fn live(&self) -> usize {
        let mut st = self.state.lock().unwrap();
        st.live.retain(|tx| !tx.is_closed());
        st.live.len()
    }
}

fn store(st: &mut State, conv: &str, from: &str, client_msg_id: &str) -> Message {
    st.next_id += 1;
    let msgs = st.convs.entry(conv.to_owned()).or_default();
    let msg = Message {
        conv: conv.to_owned(),
        seq: msgs.len() as u64 + 1,
        id: format!("m{}", st.next_id),
        from: from.to_owned(),
        kind: "text".to_owned(),
        text: Some(format!("#{}", msgs.len() + 1)),
        ts: 1,
        client_msg_id: client_msg_id.to_owned(),
        ..Message::default()
    };
    msgs.push(msg.clone());
    msg
}

fn broadcast(st: &mut State, msg: &Message, except: Option<&mpsc::UnboundedSender<Option<Frame>>>) {
    st.live.retain(|tx| !tx.is_closed());
    for tx in &st.live {
        if except.is_some_and(|e| e.same_channel(tx)) {
            continue;
        }
        let _ = tx.send(Some(Frame {
            id: 0,
            op: Some(Op::Msg(msg.clone())),
        }));
    }
}

/// Answers one frame; `None` closes the connection.
fn answer(
    st: &Mutex<State>,
    me: &mpsc::UnboundedSender<Option<Frame>>,
    authed: &mut bool,
    frame: Frame,
) -> Option<Frame> {
    let ok = |body| Frame {
        id: frame.id,
        op: Some(Op::Ok(OkReply { body: Some(body) })),
    };
    let err = |code: &str| Frame {
        id: frame.id,
        op: Some(Op::Error(koi_proto::Error {
            code: code.to_owned(),
            message: code.to_owned(),
        })),
    };
    let op = frame.op.clone()?;
    if !*authed {
        return match op {
            Op::Auth(a) if a.token == "good" => {
                *authed = true;
                st.lock().unwrap().live.push(me.clone());
                Some(ok(Body::Auth(AuthOk {
                    user: USER.to_owned(),
                    session: "s1".to_owned(),
                    heartbeat_s: 30,
                    server_time: 1,
                })))
            }
            _ => Some(err("unauthorized")),
        };
    }
    let mut st = st.lock().unwrap();
    Some(match op {
        Op::Ping(e) => ok(Body::Ping(e)),
        Op::Send(s) => {
            let conv = s
                .conv
                .unwrap_or_else(|| format!("d:{USER}:{}", s.to.unwrap_or_default()));
            let msg = store(&mut st, &conv, USER, &s.client_msg_id);
            broadcast(&mut st, &msg, Some(me));
            ok(Body::Send(SendOk {
                conv,
                seq: msg.seq,
                id: msg.id,
                ts: msg.ts,
            }))
        }
        Op::Sync(_) => ok(Body::Sync(SyncOk {
            convs: st
                .convs
                .iter()
                .map(|(conv, msgs)| ConvSummary {
                    conv: conv.clone(),
                    kind: "direct".to_owned(),
                    last_seq: msgs.len() as u64,
                    ..ConvSummary::default()
                })
                .collect(),
        })),
        Op::History(h) => {
            let all = st.convs.get(&h.conv).cloned().unwrap_or_default();
            let limit = h.limit.unwrap_or(50).min(200) as usize;
            let mut msgs: Vec<Message> = all
                .into_iter()
                .filter(|m| h.after.is_none_or(|a| m.seq > a))
                .filter(|m| h.before.is_none_or(|b| m.seq < b))
                .collect();
            if h.after.is_some() {
                msgs.truncate(limit);
            } else {
                let skip = msgs.len().saturating_sub(limit);
                msgs.drain(..skip);
            }
            ok(Body::History(HistoryOk { msgs }))
        }
        Op::Read(_) | Op::Typing(_) => ok(Body::Ping(koi_proto::Empty {})),
        _ => err("bad_request"),
    })
}

async fn serve_tcp(sock: TcpStream, st: Arc<Mutex<State>>) {
    let (tx, rx) = mpsc::unbounded_channel::<Option<Frame>>();
    read_tcp(sock, st, &tx, rx).await;
    // Ends the writer, which the list of live connections would keep alive.
    let _ = tx.send(None);
}

async fn read_tcp(
    sock: TcpStream,
    st: Arc<Mutex<State>>,
    tx: &mpsc::UnboundedSender<Option<Frame>>,
    mut rx: mpsc::UnboundedReceiver<Option<Frame>>,
) {
    let (mut read, mut write) = sock.into_split();
    tokio::spawn(async move {
        while let Some(Some(frame)) = rx.recv().await {
            let body = binary::encode(&frame);
            if write.write_all(&framing::frame(&body)).await.is_err() {
                return;
            }
        }
    });
    let mut buf = BytesMut::new();
    let mut authed = false;
    loop {
        while let Ok(Some(body)) = framing::split(&mut buf, 1 << 20) {
            let Ok(frame) = binary::decode(&body) else {
                continue;
            };
            match answer(&st, tx, &mut authed, frame) {
                Some(reply) => {
                    let _ = tx.send(Some(reply));
                }
                None => return,
            }
        }
        tokio::select! {
            n = read.read_buf(&mut buf) => if !matches!(n, Ok(n) if n > 0) { return },
            () = tx.closed() => return,
        }
    }
}

async fn serve_ws(sock: TcpStream, st: Arc<Mutex<State>>) {
    let (tx, rx) = mpsc::unbounded_channel::<Option<Frame>>();
    read_ws(sock, st, &tx, rx).await;
    let _ = tx.send(None);
}

async fn read_ws(
    sock: TcpStream,
    st: Arc<Mutex<State>>,
    tx: &mpsc::UnboundedSender<Option<Frame>>,
    mut rx: mpsc::UnboundedReceiver<Option<Frame>>,
) {
    let Ok(ws) = tokio_tungstenite::accept_async(sock).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let json_mode = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mode = json_mode.clone();
    tokio::spawn(async move {
        while let Some(Some(frame)) = rx.recv().await {
            let msg = if mode.load(std::sync::atomic::Ordering::Relaxed) {
                WsMessage::Text(json::encode(&frame).into())
            } else {
                WsMessage::Binary(binary::encode(&frame).into())
            };
            if sink.send(msg).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut authed = false;
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            () = tx.closed() => return,
        };
        let frame = match msg {
            Some(Ok(WsMessage::Text(t))) => {
                json_mode.store(true, std::sync::atomic::Ordering::Relaxed);
                json::decode(t.as_bytes())
            }
            Some(Ok(WsMessage::Binary(b))) => {
                json_mode.store(false, std::sync::atomic::Ordering::Relaxed);
                binary::decode(&b)
            }
            Some(Ok(_)) => continue,
            _ => return,
        };
        let Ok(frame) = frame else { continue };
        match answer(&st, tx, &mut authed, frame) {
            Some(reply) => {
                let _ = tx.send(Some(reply));
            }
            None => return,
        }
    }
}
