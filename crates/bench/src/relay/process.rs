//! The null relay as a process of its own: `koi bench null-relay` serves it
//! until it is stopped, and [`RelayProcess`] starts that command as a child
//! of the bench (killed when dropped), so that the relay's CPU time can be
//! read apart from the bench's and its sockets have their own descriptor limit.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::NullRelay;
use crate::nofile;

/// How long a starting relay may take to say where it listens.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// What the relay prints first on stdout, before its URL.
const READY: &str = "null relay on ";

/// `koi bench null-relay` options.
#[derive(Debug, Args)]
pub struct NullRelayArgs {
    /// HTTP address (`/ws`, `/v1/...`); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TCP (length-prefixed protobuf) port on the same address; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    tcp_port: u16,
}

/// Serves the null relay until SIGINT or SIGTERM; its first stdout line is
/// `null relay on <http url>`.
pub async fn serve(args: NullRelayArgs) -> anyhow::Result<()> {
    let limit = nofile::raise_for(0)?;
    let relay = NullRelay::start_on(args.listen, args.tcp_port)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!("{READY}{}", relay.url());
    eprintln!(
        "bench: null relay may hold about {limit} connections; stop it with SIGINT or SIGTERM"
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// A `koi bench null-relay` child of this process.
#[derive(Debug)]
pub struct RelayProcess {
    child: Child,
    url: String,
}

impl RelayProcess {
    /// Starts this very binary as `koi bench null-relay` on free loopback ports.
    pub async fn start() -> anyhow::Result<RelayProcess> {
        let exe = std::env::current_exe().context("finding the koi binary")?;
        let mut child = Command::new(&exe)
            .args(["bench", "null-relay"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} bench null-relay", exe.display()))?;
        let stdout = child.stdout.take().context("the relay's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = match tokio::time::timeout(READY_WITHIN, lines.next_line()).await {
            Ok(Ok(Some(line))) => match line.strip_prefix(READY) {
                Some(url) => url.to_owned(),
                None => bail!("the null relay said {line:?} instead of where it listens"),
            },
            Ok(Ok(None)) => bail!("the null relay exited before it listened"),
            Ok(Err(e)) => return Err(anyhow::Error::new(e).context("reading the relay's stdout")),
            Err(_) => bail!("the null relay did not listen within {READY_WITHIN:?}"),
        };
        Ok(RelayProcess { child, url })
    }

    /// The relay's HTTP base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id, to read its CPU time.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
