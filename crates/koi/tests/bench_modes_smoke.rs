//! `koi bench group` and `koi bench connections` against a real node, at tiny
//! sizes: a correctness check of the load generators (every owed delivery
//! made exactly once, the JSON report complete). Never a speed assertion.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const ADMIN: &str = "smoke-admin-token";

/// A `koi serve` process with an admin token, killed when dropped.
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
            .args(["--admin-token", ADMIN])
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
        while node.http.is_empty() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("koi printed its listening address within 60 s");
            if line.contains("http listening on") {
                let addr = line.rsplit(' ').next().unwrap_or_default();
                node.http = format!("http://{addr}");
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

/// Runs `koi bench <args> --json`; the report, once it exited 0.
fn bench(args: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koi"));
    command
        .arg("bench")
        .args(args)
        .args(["--admin-token", ADMIN, "--json"]);
    clean_env(&mut command);
    let out = command.output().expect("run koi bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?}: exited with {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {stdout}\n{stderr}"))
}

fn n(report: &Value, path: &[&str]) -> u64 {
    let mut v = report;
    for key in path {
        v = &v[key];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {report}"))
}

/// A group of 30 with 10 members online and 2 senders, and 2 direct pairs
/// beside it: every acked message reaches every online member once, and each
/// direct message its receiver. A second run with the same prefix reuses the
/// users and the group.
#[test]
fn bench_group_delivers_every_message_to_every_online_member() {
    let node = Node::start();
    let args = [
        "group",
        "--url",
        &node.http,
        "--members",
        "30",
        "--online",
        "10",
        "--senders",
        "2",
        "--rate",
        "20",
        "--duration",
        "2",
        "--direct-pairs",
        "2",
        "--direct-rate",
        "10",
        "--prefix",
        "gsmoke",
    ];
    let first = bench(&args);
    assert_eq!(first["bench"], "group");
    assert_eq!(first["ok"], true, "{first}");
    assert!(n(&first, &["acked"]) > 0, "nothing acked: {first}");
    assert_eq!(
        n(&first, &["expected"]),
        n(&first, &["acked"]) * 10,
        "{first}"
    );
    assert_eq!(
        n(&first, &["delivered"]),
        n(&first, &["expected"]),
        "{first}"
    );
    assert_eq!(
        (n(&first, &["lost"]), n(&first, &["duplicated"])),
        (0, 0),
        "{first}"
    );
    assert_eq!(
        n(&first, &["send_to_delivery", "count"]),
        n(&first, &["delivered"])
    );
    let direct = &first["direct"];
    assert!(n(direct, &["acked"]) > 0, "{first}");
    assert_eq!(n(direct, &["delivered"]), n(direct, &["acked"]), "{first}");
    assert_eq!((n(direct, &["lost"]), n(direct, &["duplicated"])), (0, 0));
    assert_eq!(n(&first, &["setup", "users_created"]), 34);
    assert_eq!(first["group_reused"], false);

    let again = bench(&args);
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["group"], first["group"]);
    assert_eq!(again["group_reused"], true);
    assert_eq!(n(&again, &["setup", "users_created"]), 0);
    assert_eq!(n(&again, &["setup", "users_existing"]), 34);
}

/// 40 idle connections in two steps from two source addresses: all open,
/// all alive after the hold (each gets the check push once), and the node's
/// RSS read at every step.
#[test]
fn bench_connections_opens_holds_and_checks_every_connection() {
    let node = Node::start();
    let pid = node.child.id().to_string();
    let report = bench(&[
        "connections",
        "--url",
        &node.http,
        "--connections",
        "40",
        "--steps",
        "10",
        "--source-addrs",
        "2",
        "--server-pid",
        &pid,
        "--duration",
        "1",
        "--settle",
        "0.1",
    ]);
    assert_eq!(report["bench"], "connections");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        (n(&report, &["connected"]), n(&report, &["failed"])),
        (40, 0),
        "{report}"
    );
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{report}");
    assert_eq!(
        (n(&steps[0], &["connected"]), n(&steps[1], &["connected"])),
        (10, 40)
    );
    assert!(n(&steps[1], &["rss_bytes"]) > 0);
    assert!(steps[1]["kib_per_connection"].is_number(), "{report}");
    let probe = &report["probe"];
    assert_eq!(
        (
            n(probe, &["delivered"]),
            n(probe, &["lost"]),
            n(probe, &["duplicated"])
        ),
        (40, 0, 0),
        "{report}"
    );
    assert_eq!(n(&report, &["disconnects"]), 0);
}
