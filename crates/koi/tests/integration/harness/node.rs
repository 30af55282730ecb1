//! One `koi serve` process on free ports, with its own data dir.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use koi_client::Transport;

use super::{ADMIN, Endpoint};

/// Not passed to koi: an environment entry with this key and a size in bytes
/// starts the node (under `unshare`) with a tmpfs of that size as its files
/// dir, so that uploads meet a real full disk.
pub const FILES_TMPFS: &str = "KOI_TEST_FILES_TMPFS";

/// How long a starting node may take to print its listening addresses.
const LISTENING_WITHIN: Duration = Duration::from_secs(30);

/// A running `koi serve` process; killed when dropped.
pub struct Node {
    child: Option<Child>,
    data: PathBuf,
    /// Holds `data`; deleted after the process is gone.
    _dir: Option<tempfile::TempDir>,
    /// The HTTP (and WebSocket) listener.
    pub http_addr: SocketAddr,
    /// The TCP listener.
    pub tcp_addr: SocketAddr,
    /// What it was started with, to start it again.
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// A node that was spawned and has not yet said where it listens.
pub(super) struct Starting {
    /// Taken by [`Starting::listening`]; killed on drop when still here.
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    data: PathBuf,
    dir: Option<tempfile::TempDir>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Node {
    /// Spawns a node on a fresh data dir and free ports, with extra `serve`
    /// arguments and `KOI_*` environment variables; [`Starting::listening`]
    /// waits for it. Nodes spawned before any is waited for start side by side.
    pub(super) fn spawn(args: &[String], env: &[(String, String)]) -> Starting {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut starting = Self::spawn_on(
            &data,
            args.to_vec(),
            env.to_vec(),
            "127.0.0.1:0",
            "127.0.0.1:0",
        );
        starting.dir = Some(dir);
        starting
    }

    fn spawn_on(
        data: &Path,
        args: Vec<String>,
        env: Vec<(String, String)>,
        http: &str,
        tcp: &str,
    ) -> Starting {
        let tmpfs = env.iter().find(|(k, _)| k == FILES_TMPFS).map(|(_, v)| v);
        let mut command = match tmpfs {
            None => Command::new(env!("CARGO_BIN_EXE_koi")),
            // A mount namespace of its own (as an unprivileged user, through a
            // user namespace) with a small tmpfs on the files dir: a real full
            // disk for this process only.
            Some(bytes) => {
                let mut command = Command::new("unshare");
                command.args([
                    "--user",
                    "--map-root-user",
                    "--mount",
                    "sh",
                    "-c",
                    r#"mkdir -p "$1/files" && mount -t tmpfs -o "size=$2" koi-files "$1/files" && shift 2 && exec "$@""#,
                    "sh",
                ]);
                command.arg(data).arg(bytes).arg(env!("CARGO_BIN_EXE_koi"));
                command
            }
        };
        command
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--http", http, "--tcp", tcp])
            .args(&args)
            .env("KOI_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !args.iter().any(|a| a.starts_with("--admin-token")) {
            command.args(["--admin-token", ADMIN]);
        }
        // Tests register and log in many users from 127.0.0.1: the per-address
        // limits are off unless a test sets them (the abuse tests do).
        for key in ["--register-per-hour-per-addr", "--login-per-min-per-addr"] {
            if !args.iter().any(|a| a == key) {
                command.args([key, "0"]);
            }
        }
        for (key, _) in std::env::vars() {
            if key.starts_with("KOI_") && key != "KOI_LOG" {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().filter(|(k, _)| k != FILES_TMPFS).cloned());
        let mut child = command.spawn().expect("start koi");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Starting {
            child: Some(child),
            lines,
            data: data.to_owned(),
            dir: None,
            args,
            env,
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A memory figure of the process from `/proc/<pid>/status`, in KiB:
    /// `VmRSS` (resident now) or `VmHWM` (the most it was resident).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the node's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/<pid>/status"))
    }

    /// SIGKILL: the process dies at once, with no chance to clean up.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    /// The exit status of a node that was sent SIGTERM; panics after 10 s (§10).
    pub fn terminate_wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        for _ in 0..200 {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().ok();
        panic!("koi did not exit within 10 s of SIGTERM");
    }

    /// Starts the same node again on the same data dir and the same ports.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the node first");
        let mut again = Self::spawn_on(
            &self.data,
            self.args.clone(),
            self.env.clone(),
            &self.http_addr.to_string(),
            &self.tcp_addr.to_string(),
        )
        .listening();
        self.child = again.child.take();
    }

    /// `ws://host:port/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.http_addr)
    }
}

impl Starting {
    /// Waits until the node printed both listening addresses; panics after 30 s.
    pub(super) fn listening(mut self) -> Node {
        let (mut http_addr, mut tcp_addr) = (None, None);
        while http_addr.is_none() || tcp_addr.is_none() {
            let line = self
                .lines
                .recv_timeout(LISTENING_WITHIN)
                .expect("koi printed its listening addresses within 30 s");
            let addr = || {
                line.rsplit(' ')
                    .next()
                    .unwrap()
                    .parse::<SocketAddr>()
                    .unwrap()
            };
            if line.contains("http listening on") {
                http_addr = Some(addr());
            } else if line.contains("tcp listening on") {
                tcp_addr = Some(addr());
            }
        }
        Node {
            child: self.child.take(),
            data: std::mem::take(&mut self.data),
            _dir: self.dir.take(),
            http_addr: http_addr.unwrap(),
            tcp_addr: tcp_addr.unwrap(),
            args: std::mem::take(&mut self.args),
            env: std::mem::take(&mut self.env),
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Endpoint for Node {
    fn base(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    fn addr(&self, transport: Transport) -> String {
        if transport.is_ws() {
            self.ws_url()
        } else {
            self.tcp_addr.to_string()
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
