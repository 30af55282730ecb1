//! Starting the real `koi` binary on free ports, and talking to its HTTP API.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

/// The admin token every test node is started with.
pub const ADMIN: &str = "test-admin-token";
/// The password every test user gets.
pub const PASSWORD: &str = "correct horse";

/// A running `koi serve` process with its own data dir and ports.
pub struct Koi {
    child: Option<Child>,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub http_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Koi {
    /// A fresh node with default settings.
    pub async fn start() -> Koi {
        Self::start_with(&[]).await
    }

    /// A fresh node with extra `serve` arguments.
    pub async fn start_with(extra: &[&str]) -> Koi {
        Self::start_env(extra, &[]).await
    }

    /// A fresh node with extra `serve` arguments and `KOI_*` environment variables.
    /// Passing `--admin-token` replaces the harness's admin token.
    pub async fn start_env(extra: &[&str], env: &[(&str, &str)]) -> Koi {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let args = extra.iter().map(|s| s.to_string()).collect();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut koi = Self::spawn(&data, args, env, "127.0.0.1:0", "127.0.0.1:0");
        koi._dir = Some(dir);
        koi
    }

    fn spawn(
        data: &Path,
        args: Vec<String>,
        env: Vec<(String, String)>,
        http: &str,
        tcp: &str,
    ) -> Koi {
        let mut command = Command::new(env!("CARGO_BIN_EXE_koi"));
        command
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--http", http, "--tcp", tcp])
            .args(&args)
            .env("KOI_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !args.iter().any(|a| a == "--admin-token") {
            command.args(["--admin-token", ADMIN]);
        }
        for (key, _) in std::env::vars() {
            if key.starts_with("KOI_") && key != "KOI_LOG" {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().cloned());
        let mut child = command.spawn().expect("start koi");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut http_addr, mut tcp_addr) = (None, None);
        while http_addr.is_none() || tcp_addr.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
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
        Koi {
            child: Some(child),
            data: data.to_owned(),
            _dir: None,
            http_addr: http_addr.unwrap(),
            tcp_addr: tcp_addr.unwrap(),
            args,
            env,
        }
    }

    /// `http://host:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `ws://host:port/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.http_addr)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
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
        let mut again = Self::spawn(
            &self.data,
            self.args.clone(),
            self.env.clone(),
            &self.http_addr.to_string(),
            &self.tcp_addr.to_string(),
        );
        self.child = again.child.take();
    }
}

impl Drop for Koi {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal by name with the `kill` command (the tests forbid unsafe code).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

/// A user name unique within this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id() % 100_000,
        NEXT_USER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A plain HTTP client for the node's API.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Registers `name` and logs in; returns the token.
pub async fn register_login(koi: &Koi, name: &str) -> String {
    let client = http();
    let res = client
        .post(format!("{}/v1/register", koi.base()))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(
        res.status(),
        201,
        "register {name}: {}",
        res.text().await.unwrap_or_default()
    );
    login(koi, name).await
}

/// Logs `name` in; returns the token.
pub async fn login(koi: &Koi, name: &str) -> String {
    let res = http()
        .post(format!("{}/v1/login", koi.base()))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200, "login {name}");
    let body: Value = res.json().await.expect("login json");
    body["token"].as_str().expect("token").to_owned()
}

/// The transports every protocol test runs over: WebSocket JSON and TCP protobuf.
pub const TRANSPORTS: [koi_client::Transport; 2] = [
    koi_client::Transport::WsJson,
    koi_client::Transport::TcpProtobuf,
];

impl Koi {
    /// The address a transport connects to.
    pub fn addr(&self, transport: koi_client::Transport) -> String {
        if transport.is_ws() {
            self.ws_url()
        } else {
            self.tcp_addr.to_string()
        }
    }

    /// An authenticated connection for `token`.
    pub async fn connect(
        &self,
        token: &str,
        transport: koi_client::Transport,
    ) -> koi_client::Connection {
        koi_client::Connection::open(&self.addr(transport), transport, token)
            .await
            .expect("connect and auth")
    }

    /// A new user, logged in and connected.
    pub async fn user(
        &self,
        prefix: &str,
        transport: koi_client::Transport,
    ) -> (String, koi_client::Connection) {
        let name = unique(prefix);
        let token = register_login(self, &name).await;
        (name, self.connect(&token, transport).await)
    }

    /// A raw socket for `transport`, not yet authenticated.
    pub async fn raw(&self, transport: koi_client::Transport) -> koi_client::RawConnection {
        koi_client::RawConnection::connect(&self.addr(transport), transport)
            .await
            .expect("raw connect")
    }
}

/// The next push on `conn` that `pick` accepts, skipping others; panics after 10 s.
pub async fn next_push<T>(
    conn: &koi_client::Connection,
    mut pick: impl FnMut(koi_proto::frame::Op) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            let op = conn
                .next_push()
                .await
                .expect("connection closed while waiting for a push");
            if let Some(found) = pick(op) {
                return found;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the expected push within 10 s")
}

/// The next `msg` push on `conn`.
pub async fn next_msg(conn: &koi_client::Connection) -> koi_proto::Message {
    next_push(conn, |op| match op {
        koi_proto::frame::Op::Msg(m) => Some(m),
        _ => None,
    })
    .await
}
