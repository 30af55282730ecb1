//! A bare `nats-server` (core publish/subscribe, no JetStream), started by the
//! bench on a free loopback port and killed when dropped.
//!
//! The binary is `$NATS_SERVER` if set, else `/usr/sbin/nats-server` (Debian's
//! package), else `nats-server` on the `PATH`. The server picks its own port
//! (`-p -1`) and says which in its log, which the bench reads from its stderr:
//! no port is guessed, and "Server is ready" is the signal to go on.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

/// How long a starting server may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// Warnings and errors of the server echoed on the bench's stderr; later ones
/// (a slow consumer per client, at overload) are dropped.
const ECHOED: usize = 5;

/// A running `nats-server`.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    url: String,
}

impl NatsServer {
    pub async fn start() -> anyhow::Result<NatsServer> {
        let binary = binary();
        let mut child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (install Debian's `nats-server` or set NATS_SERVER)",
                    binary.display()
                )
            })?;
        let mut log = BufReader::new(child.stderr.take().context("nats-server's stderr")?).lines();
        let ready = async {
            let mut addr = None;
            while let Some(line) = log.next_line().await? {
                if let Some((_, at)) = line.split_once("Listening for client connections on ") {
                    addr = Some(at.trim().to_owned());
                }
                if line.contains("Server is ready") {
                    return Ok(addr);
                }
            }
            anyhow::Ok(None)
        };
        let addr = match tokio::time::timeout(READY_WITHIN, ready).await {
            Ok(Ok(Some(addr))) => addr,
            Ok(Ok(None)) => bail!("nats-server exited, or never said where it listens"),
            Ok(Err(e)) => return Err(e.context("reading nats-server's log")),
            Err(_) => bail!("nats-server not ready within {READY_WITHIN:?}"),
        };
        tokio::spawn(echo_problems(log));
        Ok(NatsServer {
            child,
            url: format!("nats://{addr}"),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id, to read its CPU time.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Keeps reading the server's log, so it never blocks on a full pipe.
async fn echo_problems(mut log: tokio::io::Lines<BufReader<ChildStderr>>) {
    let mut echoed = 0;
    while let Ok(Some(line)) = log.next_line().await {
        if echoed < ECHOED && (line.contains("[WRN]") || line.contains("[ERR]")) {
            eprintln!("nats-server: {line}");
            echoed += 1;
        }
    }
}

fn binary() -> PathBuf {
    std::env::var_os("NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let debian = PathBuf::from("/usr/sbin/nats-server");
            if debian.exists() {
                debian
            } else {
                PathBuf::from("nats-server")
            }
        })
}
