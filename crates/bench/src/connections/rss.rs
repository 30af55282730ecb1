//! The node's resident memory: `VmRSS` of `/proc/<pid>/status` when the bench
//! is given the node's pid (same machine), else `process_resident_memory_bytes`
//! from the node's `/metrics` if it exports one.

use koi_client::Http;
use koi_server::monitor::vm_rss;
use reqwest::Method;

/// The gauge the Prometheus conventions name for a process's RSS.
const METRIC: &str = "process_resident_memory_bytes";

/// Where the node's RSS is read.
#[derive(Debug, Clone)]
pub enum Source {
    Proc(u32),
    Metrics(Http),
    /// Neither: the report has no memory figures.
    Unknown,
}

impl Source {
    /// `/proc/<pid>` when a pid is given, else `/metrics` when it has the gauge.
    pub async fn find(pid: Option<u32>, http: &Http) -> anyhow::Result<Source> {
        if let Some(pid) = pid {
            let source = Source::Proc(pid);
            if source.rss().await.is_none() {
                anyhow::bail!(
                    "cannot read VmRSS from /proc/{pid}/status: is the node's pid right?"
                );
            }
            return Ok(source);
        }
        let source = Source::Metrics(http.clone());
        Ok(match source.rss().await {
            Some(_) => source,
            None => Source::Unknown,
        })
    }

    /// The node's RSS in bytes now, if it can be read.
    pub async fn rss(&self) -> Option<u64> {
        match self {
            Source::Proc(pid) => {
                let status = tokio::fs::read_to_string(format!("/proc/{pid}/status"))
                    .await
                    .ok()?;
                vm_rss(&status)
            }
            Source::Metrics(http) => {
                let url = http.url("metrics").ok()?;
                let text = http
                    .request(Method::GET, url)
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                metric(&text)
            }
            Source::Unknown => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Proc(pid) => format!("/proc/{pid}/status"),
            Source::Metrics(_) => format!("{METRIC} from /metrics"),
            Source::Unknown => "none".to_owned(),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Source::Proc(pid) => Some(*pid),
            _ => None,
        }
    }
}

/// The value of the [`METRIC`] sample in Prometheus text.
fn metric(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(METRIC))?;
    let value: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_from_metrics() {
        let text =
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2e7\n";
        assert_eq!(metric(text), Some(12_000_000));
        assert_eq!(metric("koi_connections 3\n"), None);
    }
}
