//! TLS (§15): a node given `--tls-cert`/`--tls-key` (a certificate made here
//! with rcgen) serves HTTPS and `wss://` on its HTTP listener and TLS on its
//! TCP listener; dispatch says so; `SIGHUP` swaps the certificate for new
//! connections while the open ones go on. About one process: embedded only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use koi_client::{Api, ClientOptions, Credentials, Http, Transport, Trust, text_send};
use koi_proto::frame::Op;
use koi_proto::{Auth, Encoding, Frame, framing};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{Koi, PASSWORD, Topology, signal, unique};

/// A self-signed certificate for `localhost` and `127.0.0.1` (the address
/// dispatch names the node by), written to `cert`/`key`; returns its DER.
fn make_cert(cert: &Path, key: &Path) -> CertificateDer<'static> {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(cert, made.cert.pem()).unwrap();
    std::fs::write(key, made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

fn connector(trusted: &[&CertificateDer<'static>]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots.add((*cert).clone()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn tls_connect(addr: SocketAddr, via: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    via.connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

/// The certificate the server presented on `stream`.
fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// One HTTP/1.1 request over TLS; the status and the JSON body.
async fn https(
    addr: SocketAddr,
    via: &TlsConnector,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut tls = tls_connect(addr, via).await;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The server may end TLS without close_notify after `Connection: close`.
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text[9..12].parse().unwrap();
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

/// A `wss://` session, authenticated.
async fn wss(
    addr: SocketAddr,
    via: &TlsConnector,
    token: &str,
) -> WebSocketStream<TlsStream<TcpStream>> {
    let tls = tls_connect(addr, via).await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("wss handshake");
    let auth = frame(
        1,
        Op::Auth(Auth {
            token: token.into(),
        }),
    );
    ws.send(WsMessage::text(json_text(&auth))).await.unwrap();
    let reply = ws_next(&mut ws).await;
    assert!(matches!(reply.op, Some(Op::Ok(_))), "wss auth: {reply:?}");
    ws
}

fn frame(id: u64, op: Op) -> Frame {
    Frame { id, op: Some(op) }
}

fn json_text(frame: &Frame) -> String {
    String::from_utf8(Encoding::Json.encode(frame).to_vec()).unwrap()
}

async fn ws_next(ws: &mut WebSocketStream<TlsStream<TcpStream>>) -> Frame {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("read");
        if let WsMessage::Text(text) = message {
            return Encoding::Json.decode(text.as_bytes()).expect("JSON frame");
        }
    }
}

/// A TLS TCP session, authenticated.
struct TlsTcp {
    stream: TlsStream<TcpStream>,
    buf: BytesMut,
}

impl TlsTcp {
    async fn open(addr: SocketAddr, via: &TlsConnector, token: &str) -> TlsTcp {
        let mut tcp = TlsTcp {
            stream: tls_connect(addr, via).await,
            buf: BytesMut::new(),
        };
        tcp.send(&frame(
            1,
            Op::Auth(Auth {
                token: token.into(),
            }),
        ))
        .await;
        let reply = tcp.next().await;
        assert!(
            matches!(reply.op, Some(Op::Ok(_))),
            "tls tcp auth: {reply:?}"
        );
        tcp
    }

    async fn send(&mut self, frame: &Frame) {
        let body = Encoding::Protobuf.encode(frame);
        self.stream.write_all(&framing::frame(&body)).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    async fn next(&mut self) -> Frame {
        loop {
            if let Some(body) = framing::split(&mut self.buf, 1 << 20).unwrap() {
                return Encoding::Protobuf.decode(&body).expect("protobuf frame");
            }
            let n =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("a frame within 10 s")
                    .unwrap();
            assert!(n > 0, "the TLS TCP connection stays open");
        }
    }
}

/// The text of the next `msg` push on a TLS TCP session, skipping others.
async fn tcp_msg(tcp: &mut TlsTcp) -> String {
    loop {
        if let Some(Op::Msg(m)) = tcp.next().await.op {
            return m.text.unwrap_or_default();
        }
    }
}

/// The text of the next `msg` push on a wss session, skipping others.
async fn ws_msg(ws: &mut WebSocketStream<TlsStream<TcpStream>>) -> String {
    loop {
        if let Some(Op::Msg(m)) = ws_next(ws).await.op {
            return m.text.unwrap_or_default();
        }
    }
}

/// An embedded node serving TLS with `cert` and `key`.
async fn start_tls(cert: &Path, key: &Path) -> Koi {
    Koi::start_with(
        Topology::Embedded,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("koi.crt"), dir.join("koi.key"))
}

/// Must show (§15): HTTPS for `/healthz`, `/v1/register`, `/v1/login` and
/// dispatch (`wss://` and `tls: true`); a message over `wss://` to a TLS TCP
/// client and back; then a second certificate and `SIGHUP`: new connections
/// see the new certificate, the connections opened before still carry
/// messages both ways.
#[tokio::test]
async fn tls_on_both_listeners_and_sighup_swaps_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = paths(dir.path());
    let first = make_cert(&cert, &key);
    let koi = start_tls(&cert, &key).await;
    let node = koi.node(0);
    let (http, tcp) = (node.http_addr, node.tcp_addr);
    let trust_first = connector(&[&first]);

    let (status, _) = https(http, &trust_first, "GET", "/healthz", None).await;
    assert_eq!(status, 200, "HTTPS /healthz");
    let (alice, bob) = (unique("alice"), unique("bob"));
    let mut tokens = Vec::new();
    for name in [&alice, &bob] {
        let creds = json!({"username": name, "password": PASSWORD});
        let (status, _) = https(
            http,
            &trust_first,
            "POST",
            "/v1/register",
            Some(creds.clone()),
        )
        .await;
        assert_eq!(status, 201, "HTTPS register");
        let (status, body) = https(http, &trust_first, "POST", "/v1/login", Some(creds)).await;
        assert_eq!(status, 200, "HTTPS login");
        tokens.push(body["token"].as_str().unwrap().to_owned());
    }
    let dispatch = {
        let mut tls = tls_connect(http, &trust_first).await;
        let request = format!(
            "GET /v1/dispatch HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\n\r\n",
            tokens[0]
        );
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str::<Value>(body).unwrap()
    };
    let entry = &dispatch["nodes"][0];
    assert_eq!(entry["ws"], format!("wss://{http}/ws"), "{dispatch}");
    assert_eq!(entry["tls"], true, "{dispatch}");

    // A message over wss to TLS TCP.
    let mut ws = wss(http, &trust_first, &tokens[0]).await;
    let mut tcp_bob = TlsTcp::open(tcp, &trust_first, &tokens[1]).await;
    let send = frame(2, Op::Send(text_send(&bob, "c1", "over wss")));
    ws.send(WsMessage::text(json_text(&send))).await.unwrap();
    assert_eq!(tcp_msg(&mut tcp_bob).await, "over wss");

    // A new certificate at the same paths, and SIGHUP.
    let second = make_cert(&cert, &key);
    assert_ne!(first, second);
    signal(node.pid(), "HUP");
    let trust_both = connector(&[&first, &second]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = tls_connect(http, &trust_both).await;
        if presented(&probe) == second {
            break;
        }
        assert!(Instant::now() < deadline, "the new certificate within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let probe = tls_connect(tcp, &trust_both).await;
    assert_eq!(presented(&probe), second, "the TCP listener has it too");

    // The connections opened before still work, both ways.
    let send = frame(3, Op::Send(text_send(&alice, "c2", "after the reload")));
    tcp_bob.send(&send).await;
    assert_eq!(ws_msg(&mut ws).await, "after the reload");
    let send = frame(4, Op::Send(text_send(&bob, "c3", "and back")));
    ws.send(WsMessage::text(json_text(&send))).await.unwrap();
    assert_eq!(tcp_msg(&mut tcp_bob).await, "and back");

    // New sessions trusting only the new certificate work.
    let trust_second = connector(&[&second]);
    let _ws = wss(http, &trust_second, &tokens[0]).await;
    let _tcp = TlsTcp::open(tcp, &trust_second, &tokens[1]).await;
}

/// The lines a child process writes to `stream`, read on a thread.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `koi send` or `koi tail` (`command`) against `url`, as `user`, with `args`.
fn cli(command: &str, url: &str, user: &str, args: &[&str]) -> std::process::Command {
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_koi"));
    cli.args([command, "--url", url, "--user", user])
        .args(args)
        .env("KOI_PASSWORD", PASSWORD)
        .env("KOI_LOG", "warn")
        .env_remove("KOI_CA_FILE");
    cli
}

/// §15 from the clients' side: `koi send` and `koi tail` given `--url
/// https://…` and the node's self-signed certificate (`--ca-file`) log in
/// over HTTPS and talk over `wss://`; the client library also over TLS TCP
/// (dispatch's `tls: true`). Without the certificate trusted, `koi send`
/// refuses the node and says why. Nothing turns the check off.
#[tokio::test]
async fn the_clients_speak_tls_to_a_node_whose_certificate_they_trust() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = paths(dir.path());
    let der = make_cert(&cert, &key);
    let koi = start_tls(&cert, &key).await;
    let http = koi.node(0).http_addr;
    let url = format!("https://{http}");
    let ca = cert.to_str().unwrap();
    let trusted = connector(&[&der]);
    let (alice, bob) = (unique("alice"), unique("bob"));
    for name in [&alice, &bob] {
        let creds = json!({"username": name, "password": PASSWORD});
        let (status, _) = https(http, &trusted, "POST", "/v1/register", Some(creds)).await;
        assert_eq!(status, 201, "HTTPS register");
    }

    // An unknown certificate is refused, with the reason.
    let refused = cli("send", &url, &alice, &["--to", &bob, "never"])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "koi send trusted an unknown node"
    );
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("certificate"), "koi send: {why}");

    let mut tail = cli(
        "tail",
        &url,
        &bob,
        &["--ca-file", ca, "--count", "2", "--json"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let out = lines_of(tail.stdout.take().unwrap());
    let err = lines_of(tail.stderr.take().unwrap());
    loop {
        let line = err
            .recv_timeout(Duration::from_secs(30))
            .expect("koi tail connected over wss");
        if line.contains(&format!("connected as {bob}")) {
            break;
        }
    }
    let sent = cli(
        "send",
        &url,
        &alice,
        &["--ca-file", ca, "--to", &bob, "over wss"],
    )
    .output()
    .unwrap();
    assert!(
        sent.status.success(),
        "koi send over wss: {}",
        String::from_utf8_lossy(&sent.stderr)
    );

    // The library over TLS TCP, trusting the same file.
    let trust = Trust::with_ca_file(&cert).unwrap();
    let mut options = ClientOptions::new(Transport::TcpProtobuf);
    options.connection.trust = trust.clone();
    let client = koi_client::Client::connect_with(
        Http::with_trust(&url, &trust).unwrap(),
        Credentials::password(&alice, PASSWORD),
        options,
    )
    .await
    .expect("a TLS TCP connection");
    client
        .send_text(&bob, "tls-tcp-1", "over tls tcp")
        .await
        .expect("sent over TLS TCP");

    let mut texts = Vec::new();
    for _ in 0..2 {
        let line = out
            .recv_timeout(Duration::from_secs(30))
            .expect("koi tail printed a message");
        let m: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(m["from"], alice.as_str(), "{line}");
        texts.push(m["text"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(texts, ["over wss", "over tls tcp"]);
    assert!(tail.wait().unwrap().success(), "koi tail exits after 2");
}
