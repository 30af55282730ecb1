//! An ephemeral `nats-server` for tests (feature `testing`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let mut nats = koi_cluster::testing::NatsServer::start().await?;
//! let url = nats.url(); // nats://127.0.0.1:<free port>
//! // ... connect nodes to `url` ...
//! nats.restart().await?; // same port, same JetStream store
//! # Ok(())
//! # }
//! ```
//!
//! The server listens on a free loopback port with JetStream on, its store and
//! log in a temporary directory; it is killed when the value is dropped. The
//! binary is `$NATS_SERVER` if set, else `/usr/sbin/nats-server` (Debian's
//! `nats-server` package), else `nats-server` on the `PATH`.

use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// How long a starting server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// A `nats-server` child process with JetStream, on 127.0.0.1.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it accepts clients.
    pub async fn start() -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::Builder::new().prefix("koi-nats-").tempdir()?,
        };
        server.spawn().await?;
        Ok(server)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server is running (as far as this handle knows).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server and starts it again on the same port and store.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn().await
    }

    /// Starts the server process if it is not running, and waits until it is ready.
    pub async fn spawn(&mut self) -> io::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let store = self.dir.path().join("jetstream");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "starting {}: {e} (install Debian's `nats-server` or set NATS_SERVER)",
                        binary().display()
                    ),
                )
            })?;
        self.child = Some(child);
        if let Err(e) = self.wait_ready().await {
            self.stop();
            return Err(e);
        }
        Ok(())
    }

    /// Retries a TCP connection until the server greets with its INFO line.
    async fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        let mut delay = Duration::from_millis(10);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "nats-server exited at start ({status}); see {}",
                    self.log_path().display()
                )));
            }
            if greets(self.port).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "nats-server not ready within {READY_WITHIN:?}; see {}",
                        self.log_path().display()
                    ),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn greets(port: u16) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        io::Result::Ok(&buf == b"INFO")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("nats-server")
    }
}
