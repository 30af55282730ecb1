//! Other users' direct messages beside the group, from a process of their own.
//!
//! Run in the group bench's process, the direct pairs share its runtime with
//! thousands of member connections, and what they measure is as much the
//! bench's own queueing as the node's. `--direct-process` runs them as `koi
//! bench direct`, a child of this process, the way separate users' clients
//! would be: the group load starts once the child has started sending, and
//! the child's report is kept whole in the group's.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long the child may take to set its users up and start sending.
const START_WITHIN: Duration = Duration::from_secs(300);
/// What `koi bench direct` prints on stderr as its load starts.
const SENDING: &str = "bench: sending ";

/// What the child runs.
pub struct DirectLoad<'a> {
    pub url: &'a str,
    /// Sender → receiver pairs.
    pub pairs: usize,
    /// Messages per second, all pairs together.
    pub rate: f64,
    /// Seconds measured, after one second of warm-up.
    pub duration: f64,
    /// Bytes of text per message.
    pub size: usize,
    pub transport: &'static str,
    pub prefix: String,
}

/// A running `koi bench direct` child (killed when dropped).
pub struct DirectProcess {
    child: Child,
    stdout: JoinHandle<std::io::Result<String>>,
}

impl DirectProcess {
    /// Starts the child and returns once it is sending; its other progress
    /// lines are passed on to this process's stderr.
    pub async fn start(load: DirectLoad<'_>) -> anyhow::Result<DirectProcess> {
        let exe = std::env::current_exe().context("finding the koi binary")?;
        let args = [
            "bench".to_owned(),
            "direct".to_owned(),
            format!("--url={}", load.url),
            format!("--users={}", 2 * load.pairs),
            format!("--rate={}", load.rate),
            format!("--duration={}", load.duration),
            format!("--size={}", load.size),
            "--warmup=1".to_owned(),
            format!("--transport={}", load.transport),
            format!("--prefix={}", load.prefix),
            "--json".to_owned(),
            "--allow-loss".to_owned(),
        ];
        let mut child = Command::new(&exe)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} {}", exe.display(), args.join(" ")))?;
        let mut stdout = child.stdout.take().context("the direct bench's stdout")?;
        let stdout = tokio::spawn(async move {
            let mut text = String::new();
            stdout.read_to_string(&mut text).await?;
            Ok(text)
        });
        let stderr = child.stderr.take().context("the direct bench's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let sending = tokio::time::timeout(START_WITHIN, async {
            while let Some(line) = lines.next_line().await? {
                eprintln!("direct: {line}");
                if line.starts_with(SENDING) {
                    return Ok(true);
                }
            }
            Ok::<_, std::io::Error>(false)
        })
        .await;
        match sending {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => bail!("the direct bench exited before it started sending"),
            Ok(Err(e)) => return Err(anyhow::Error::new(e).context("reading the direct bench")),
            Err(_) => bail!("the direct bench did not start sending within {START_WITHIN:?}"),
        }
        // The rest of its progress, while it runs.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("direct: {line}");
            }
        });
        Ok(DirectProcess { child, stdout })
    }

    /// Waits for the child to finish and returns its JSON report.
    pub async fn finish(mut self) -> anyhow::Result<serde_json::Value> {
        let status = self
            .child
            .wait()
            .await
            .context("waiting for the direct bench")?;
        let text = self
            .stdout
            .await
            .context("reading the direct bench's report")??;
        if !status.success() {
            bail!("the direct bench failed ({status})");
        }
        serde_json::from_str(&text).context("parsing the direct bench's report")
    }
}
