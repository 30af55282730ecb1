//! The terminal clients against the real binary: what `koi send` sends, a
//! running `koi tail` prints, in order, with its seq.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const PASSWORD: &str = "correct horse";
const WAIT: Duration = Duration::from_secs(30);

/// `koi` with no `KOI_*` settings from the environment of the test.
fn koi() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koi"));
    for (key, _) in std::env::vars() {
        if key.starts_with("KOI_") {
            command.env_remove(key);
        }
    }
    command.env("KOI_LOG", "warn");
    command
}

/// A `koi serve` on free ports and a fresh data dir, killed on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = koi()
            .arg("serve")
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start koi serve");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let (mut http, mut tcp) = (None, None);
        while http.is_none() || tcp.is_none() {
            let line = lines
                .recv_timeout(WAIT)
                .expect("koi serve printed its listening addresses");
            let addr = line.rsplit(' ').next().unwrap_or_default().to_owned();
            if line.contains("http listening on") {
                http = Some(addr);
            } else if line.contains("tcp listening on") {
                tcp = Some(addr);
            }
        }
        Server {
            child,
            base: format!("http://{}", http.unwrap()),
            _dir: dir,
        }
    }

    async fn register(&self, user: &str) {
        let status = reqwest::Client::new()
            .post(format!("{}/v1/register", self.base))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .expect("register")
            .status();
        assert_eq!(status, 201, "register {user}");
    }

    /// `koi send` as `user` with `args`; its stdout.
    fn send(&self, user: &str, args: &[&str]) -> String {
        let out = koi()
            .args([
                "send",
                "--url",
                &self.base,
                "--user",
                user,
                "--password",
                PASSWORD,
            ])
            .args(args)
            .output()
            .expect("run koi send");
        assert!(
            out.status.success(),
            "koi send failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `stream`, read on a thread.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[tokio::test]
async fn tail_prints_what_send_sends_in_order() {
    let server = Server::start();
    server.register("alice").await;
    server.register("bob").await;

    // bob tails (password from the environment), and says when it is connected.
    let mut tail = koi()
        .args(["tail", "--url", &server.base, "--user", "bob"])
        .args(["--count", "2", "--json"])
        .env("KOI_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start koi tail");
    let out = lines_of(tail.stdout.take().expect("stdout"));
    let err = lines_of(tail.stderr.take().expect("stderr"));
    loop {
        let line = err.recv_timeout(WAIT).expect("koi tail connected");
        if line.contains("connected as bob") {
            break;
        }
    }

    let first = server.send("alice", &["--to", "bob", "hello", "bob"]);
    let second = server.send("alice", &["--conv", "d:alice:bob", "second message"]);
    let parse = |out: &str| -> (String, u64) {
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words.len(), 3, "`conv seq id`: {out:?}");
        (words[0].to_owned(), words[1].parse().expect("seq"))
    };
    assert_eq!(parse(&first), ("d:alice:bob".to_owned(), 1));
    assert_eq!(parse(&second), ("d:alice:bob".to_owned(), 2));

    let mut got = Vec::new();
    for _ in 0..2 {
        let line = out.recv_timeout(WAIT).expect("tail printed a message");
        let m: Value = serde_json::from_str(&line).expect("a JSON line");
        got.push((
            m["conv"].as_str().unwrap_or_default().to_owned(),
            m["seq"].as_u64().unwrap_or_default(),
            m["from"].as_str().unwrap_or_default().to_owned(),
            m["text"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let conv = "d:alice:bob".to_owned();
    assert_eq!(
        got,
        [
            (conv.clone(), 1, "alice".to_owned(), "hello bob".to_owned()),
            (conv, 2, "alice".to_owned(), "second message".to_owned()),
        ]
    );

    // --count 2: it exits by itself, successfully.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(tail.wait());
    });
    let status = done_rx
        .recv_timeout(WAIT)
        .expect("koi tail exited after 2 messages")
        .expect("wait");
    assert!(status.success(), "koi tail: {status}");
}

#[test]
fn send_needs_a_target() {
    let out = koi()
        .args(["send", "--user", "alice", "--password", "x", "hello"])
        .output()
        .expect("run koi send");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to"));
}

/// `koi serve` with `args` on a fresh data dir and `RUST_BACKTRACE=1`, which
/// must refuse to start: its stderr, after checking it failed with status 2.
fn refused_start(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = koi()
        .arg("serve")
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run koi serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A user's mistake is one line on stderr, `koi: ...`, with no backtrace,
/// even with `RUST_BACKTRACE=1`: a short token secret, an unreachable
/// PostgreSQL.
#[test]
fn a_refused_start_prints_one_line() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let postgres = format!("postgres://koi@127.0.0.1:{closed}/koi");
    let nats = format!("nats://127.0.0.1:{closed}");
    for (args, says) in [
        (vec!["--token-secret", "short"], "token_secret"),
        (
            vec!["--nats", nats.as_str(), "--postgres", postgres.as_str()],
            "PostgreSQL",
        ),
    ] {
        let stderr = refused_start(&args);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("koi: "), "{args:?}: {stderr}");
        assert!(lines[0].contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
    }
}
