//! `koi bench direct` against a real node, over each transport: a correctness
//! check of the load generator and of the node under light load (every
//! acknowledged message delivered exactly once). Never a speed assertion.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A `koi serve` process, killed when dropped.
struct Node {
    child: Child,
    http: String,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start() -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_koi"));
        command
            .arg("serve")
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
            .args(["--msgs-per-sec", "100000", "--msgs-burst", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clean_env(&mut command);
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
                .recv_timeout(Duration::from_secs(60))
                .expect("koi printed its listening addresses within 60 s");
            let addr = line.rsplit(' ').next().unwrap_or_default().to_owned();
            if line.contains("http listening on") {
                node.http = format!("http://{addr}");
            } else if line.contains("tcp listening on") {
                tcp = true;
            }
        }
        node
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clean_env(command: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("KOI_") {
            command.env_remove(key);
        }
    }
    command.env("KOI_LOG", "warn");
}

fn bench(url: &str, transport: &str, prefix: &str) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koi"));
    command.args([
        "bench",
        "direct",
        "--url",
        url,
        "--users",
        "20",
        "--rate",
        "400",
        "--duration",
        "2",
        "--transport",
        transport,
        "--prefix",
        prefix,
        "--json",
    ]);
    clean_env(&mut command);
    let out = command.output().expect("run koi bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{transport}: koi bench exited with {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{transport}: not one JSON object ({e}): {stdout}\n{stderr}"))
}

#[test]
fn bench_direct_delivers_every_acked_message_once_over_each_transport() {
    let node = Node::start();
    for (i, transport) in ["ws-json", "ws-protobuf", "tcp-protobuf"]
        .into_iter()
        .enumerate()
    {
        let report = bench(&node.http, transport, &format!("smoke{i}"));
        let n = |key: &str| {
            report[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{transport}: no {key} in {report}"))
        };
        assert_eq!(report["transport"], transport);
        assert!(n("sent") > 0, "{transport}: nothing sent: {report}");
        assert_eq!(n("acked"), n("sent"), "{transport}: {report}");
        assert_eq!(n("delivered"), n("acked"), "{transport}: {report}");
        assert_eq!(n("lost"), 0, "{transport}: {report}");
        assert_eq!(n("duplicated"), 0, "{transport}: {report}");
        assert_eq!(report["ok"], true, "{transport}: {report}");
        assert!(report["send_to_ack"]["count"].as_u64().unwrap() > 0);
    }
}
