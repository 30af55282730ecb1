//! What the `koi bench` smoke tests share: a real node to load, and running
//! `koi bench` against it for its JSON report.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// How long a starting node may take to print its listening addresses.
const LISTENING_WITHIN: Duration = Duration::from_secs(60);

/// A `koi serve` process on free ports and a fresh data dir, with rate limits
/// far above the smoke loads; killed when dropped.
pub struct Node {
    child: Child,
    /// `http://host:port` of its gateway.
    pub http: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts a node with `extra` arguments to `koi serve`, and waits until
    /// it listens over HTTP and TCP.
    pub fn start(extra: &[&str]) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = koi();
        command
            .arg("serve")
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
            .args(["--msgs-per-sec", "100000", "--msgs-burst", "100000"])
            .args(["--user-msgs-per-sec", "100000"])
            // The bench registers and logs in all its users from 127.0.0.1.
            .args([
                "--register-per-hour-per-addr",
                "0",
                "--login-per-min-per-addr",
                "0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start koi serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps reading, so the node never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut node = Node {
            child,
            http: String::new(),
            _dir: dir,
        };
        let mut tcp = false;
        while node.http.is_empty() || !tcp {
            let line = rx
                .recv_timeout(LISTENING_WITHIN)
                .expect("koi printed its listening addresses in time");
            let addr = line.rsplit(' ').next().unwrap_or_default().to_owned();
            if line.contains("http listening on") {
                node.http = format!("http://{addr}");
            } else if line.contains("tcp listening on") {
                tcp = true;
            }
        }
        node
    }

    /// The node's process id.
    #[allow(dead_code)] // not every smoke test reads the node's memory
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// Runs `koi bench <args> --json`; the one JSON object it printed, once it
/// exited 0.
pub fn bench(args: &[&str]) -> Value {
    let out = koi()
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .expect("run koi bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "koi bench {args:?} exited with {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {stdout}\n{stderr}"))
}

/// The number at `path` in `report`.
pub fn n(report: &Value, path: &[&str]) -> u64 {
    let mut v = report;
    for key in path {
        v = &v[key];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {report}"))
}
