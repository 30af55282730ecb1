//! The HTTP listener facing strangers (issue #19 defects 3, 9 and the edge
//! part of 15): header and body timeouts, the connection limit, owner-only
//! data files, the token secret's minimum, the admin token (header only, or
//! from a file), browser protections on the pages, and no internal error text
//! for clients. Each is about one process: embedded only.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use koi_client::Api;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{ADMIN, Endpoint, Koi, Topology, http, register_login, unique};

/// Waits (at most `within`) for the server to close `socket`: a read that
/// returns end-of-file or an error. Returns what the server sent before.
async fn closed_within(socket: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Defect 3: a connection that sends half a header, one that sends nothing,
/// and a request whose body stalls are all closed by the server within their
/// timeouts (1 s here).
#[tokio::test]
async fn half_sent_headers_idle_and_stalled_bodies_are_closed() {
    let koi = Koi::start_with(
        Topology::Embedded,
        &["--http-header-timeout-s", "1", "--http-body-timeout-s", "1"],
    )
    .await;
    let addr = koi.node(0).http_addr;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: koi\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /v1/login HTTP/1.1\r\nHost: koi\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    for (what, socket) in [
        ("half a header", &mut half),
        ("nothing", &mut idle),
        ("a stalled body", &mut stalled),
    ] {
        assert!(
            closed_within(socket, Duration::from_secs(5))
                .await
                .is_some(),
            "a connection that sent {what} is closed within 5 s"
        );
    }
    // A kept-alive connection is closed when the next request does not come.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: koi\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut kept, Duration::from_secs(5))
        .await
        .expect("closed after its idle time");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered first");
}

/// Defect 3: with `max_http_connections` idle sockets open (and more waiting),
/// `/healthz` answers at once: the longest-idle connections are closed to
/// make room, well before their header timeout (the default 10 s). The TCP
/// listener answers too.
#[tokio::test]
async fn healthz_answers_while_idle_sockets_fill_the_limit() {
    let koi = Koi::start_with(Topology::Embedded, &["--max-http-connections", "32"]).await;
    let addr = koi.node(0).http_addr;
    let mut idle = Vec::new();
    for _ in 0..96 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        http().get(format!("{}/healthz", koi.base())).send(),
    )
    .await
    .expect("/healthz answers within 5 s")
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Idle ones were closed to make room: the limit holds.
    let mut closed = 0;
    for socket in &mut idle {
        if closed_within(socket, Duration::from_millis(50))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(closed >= 96 - 32, "{closed} of 96 idle sockets closed");
    // The TCP listener still serves.
    let token = register_login(&koi, &unique("tcp")).await;
    koi.connect(&token, koi_client::Transport::TcpProtobuf)
        .await
        .ping()
        .await
        .expect("ping over TCP");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Defect 9: the data dir, the files dir, token.key, node.id and the database
/// (with its WAL and shared-memory files) are owner-only; a node started on
/// a data dir with world-readable files tightens them.
#[tokio::test]
async fn data_files_are_owner_only() {
    let mut koi = Koi::start(Topology::Embedded).await;
    // A write, so that SQLite has its -wal and -shm.
    register_login(&koi, &unique("perm")).await;
    let data = koi.node(0).data().to_owned();
    let check = |data: &Path| {
        assert_eq!(mode(data), 0o700, "data dir");
        assert_eq!(mode(&data.join("files")), 0o700, "files dir");
        for file in ["token.key", "node.id", "koi.db", "koi.db-wal", "koi.db-shm"] {
            let path = data.join(file);
            if file.starts_with("koi.db-") && !path.exists() {
                continue;
            }
            assert_eq!(mode(&path), 0o600, "{file}");
        }
        assert!(data.join("koi.db-wal").exists(), "the WAL exists");
    };
    check(&data);
    // An older node's data dir, world-readable, is tightened on start.
    koi.node_mut(0).kill();
    for path in [data.join("token.key"), data.join("koi.db")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    koi.node_mut(0).restart();
    check(&data);
}

/// Defect 9: a configured token secret under 32 bytes stops the start with
/// one clear line.
#[test]
fn a_short_token_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_koi"))
        .arg("serve")
        .arg("--data")
        .arg(dir.path())
        .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
        .args(["--token-secret", "too-short"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("token_secret is 9 bytes; at least 32"),
        "{stderr}"
    );
}

/// Item 15: the admin token is taken from the `Authorization` header only,
/// never from the query string; `--admin-token-file` keeps it out of `ps`.
#[tokio::test]
async fn the_admin_token_is_a_header_and_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-token");
    std::fs::write(&file, "token-from-a-file\n").unwrap();
    let koi = Koi::start_with(
        Topology::Embedded,
        &["--admin-token-file", file.to_str().unwrap()],
    )
    .await;
    let cluster = format!("{}/v1/admin/cluster", koi.base());
    let status = |res: reqwest::Response| res.status().as_u16();
    let by_header = http()
        .get(&cluster)
        .bearer_auth("token-from-a-file")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(by_header),
        200,
        "the file's token is the admin token"
    );
    let by_query = http()
        .get(format!("{cluster}?access_token=token-from-a-file"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(by_query), 401, "not from the query string");
    let harness_token = http()
        .get(&cluster)
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(status(harness_token), 403);
    // Not in the command line.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", koi.node(0).pid())).unwrap();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("token-from-a-file"),
        "the token is not in ps"
    );
}

/// Item 15: `/`, `/admin` and the static assets carry a Content-Security-Policy
/// (scripts and styles from self, no framing), X-Frame-Options: DENY, nosniff
/// and no referrer.
#[tokio::test]
async fn pages_carry_browser_protections() {
    let koi = Koi::start(Topology::Embedded).await;
    for path in [
        "/",
        "/admin",
        "/static/js/app.js",
        "/static/style.css",
        "/static/vendor/emojibase/compact.json",
    ] {
        let res = http()
            .get(format!("{}{path}", koi.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path == "/" || path == "/admin" {
            assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
            assert!(csp.contains("style-src 'self'"), "{path}: {csp}");
        }
        if path == "/" {
            assert!(csp.contains("connect-src 'self' ws: wss:"), "{csp}");
            assert!(csp.contains("img-src 'self' blob: data:"), "{csp}");
        }
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}

/// Item 15: a file-system failure is answered `internal` with a generic
/// message; its text stays in the log.
#[tokio::test]
async fn internal_failures_do_not_show_their_detail() {
    let koi = Koi::start(Topology::Embedded).await;
    let token = register_login(&koi, &unique("fs")).await;
    let files = koi.node(0).data().join("files");
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, "not a directory").unwrap();
    let res = http()
        .post(format!("{}/v1/files?name=a.txt", koi.base()))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["message"], "internal error", "{body}");
}

/// A WebSocket upgrade on a raw socket, answered 101 (the key is RFC 6455's example).
async fn raw_websocket(addr: std::net::SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: koi\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    socket
}

/// Defect 13: before `auth` a WebSocket cannot make the node buffer a big
/// frame (the library allows 16x `max_frame_bytes`, 1 MiB): 100 unauthenticated
/// sockets each start a 1,000,000-byte text frame and send 512 KiB of it. The
/// node cuts each off after `max_frame_bytes` + 16 KiB (80 KiB), and its memory
/// grows by less than 16 MiB (it held 50 MiB before).
#[tokio::test]
async fn a_websocket_cannot_buffer_much_before_auth() {
    let koi = Koi::start(Topology::Embedded).await;
    let (addr, pid) = (koi.node(0).http_addr, koi.node(0).pid());
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    // Warm-up: one socket through the whole path.
    let mut warm = raw_websocket(addr).await;
    warm.write_all(&[0x81, 0x80 | 5, 1, 2, 3, 4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let _ = closed_within(&mut warm, Duration::from_secs(5)).await;
    let before = rss();
    let mut sockets = Vec::new();
    for _ in 0..100 {
        let mut socket = raw_websocket(addr).await;
        // FIN + text, masked, 64-bit length 1,000,000, mask key.
        let mut frame = vec![0x81, 0x80 | 127];
        frame.extend_from_slice(&1_000_000u64.to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend(std::iter::repeat_n(b'a', 512 * 1024));
        // The node stops reading (and closes) long before the end.
        let refused = socket.write_all(&frame).await.is_err();
        sockets.push((refused, socket));
    }
    let mut cut_off = 0;
    for (refused, socket) in &mut sockets {
        if *refused
            || closed_within(socket, Duration::from_secs(5))
                .await
                .is_some()
        {
            cut_off += 1;
        }
    }
    let grown = rss().saturating_sub(before);
    assert!(cut_off >= 100, "every socket is cut off: {cut_off}");
    assert!(grown < 16 * 1024, "VmRSS grew by {grown} KiB");
}
