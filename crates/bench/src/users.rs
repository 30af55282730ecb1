//! The bench's users: names under a per-run prefix, registered and logged in
//! with bounded concurrency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use koi_client::{ClientError, Http, Session};

/// Every bench user's password.
pub const PASSWORD: &str = "koi-bench-password";
/// Longest prefix: leaves room for `-s<index>` within the 32-character names.
const MAX_PREFIX: usize = 20;
/// Tries per account before giving up (throttling, a busy node).
const ATTEMPTS: u32 = 5;

/// A prefix unique to this run: `b` and the current time in base 36.
pub fn default_prefix() -> String {
    let mut n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(char::from_digit((n % 36) as u32, 36).expect("a base-36 digit"));
        n /= 36;
    }
    std::iter::once('b')
        .chain(digits.into_iter().rev())
        .collect()
}

/// Checks that `prefix` makes valid usernames.
pub fn check_prefix(prefix: &str) -> anyhow::Result<()> {
    let valid = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX
        && prefix.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !valid {
        bail!(
            "--prefix must be 1 to {MAX_PREFIX} characters of a-z, 0-9, _ . - (starting with a letter or digit)"
        );
    }
    Ok(())
}

/// The sender of pair `pair`.
pub fn sender(prefix: &str, pair: usize) -> String {
    format!("{prefix}-s{pair}")
}

/// The receiver of pair `pair`.
pub fn receiver(prefix: &str, pair: usize) -> String {
    format!("{prefix}-r{pair}")
}

/// Registers (an existing account is fine) and logs in each of `names`, at most
/// `concurrency` at a time; the sessions come back in the order of `names`.
pub async fn sign_in(
    http: &Http,
    names: &[String],
    concurrency: usize,
) -> anyhow::Result<Vec<Session>> {
    futures::stream::iter(names)
        .map(|name| sign_in_one(http, name))
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

async fn sign_in_one(http: &Http, name: &str) -> anyhow::Result<Session> {
    // Logging in first makes a rerun with the same --prefix cost one password
    // check per user instead of a registration and a login.
    match retry(|| http.login(name, PASSWORD)).await {
        Ok(session) => return Ok(session),
        Err(e) if e.status() == Some(401) => {}
        Err(e) => return Err(e).with_context(|| format!("logging in {name}")),
    }
    retry(|| async {
        match http.register(name, PASSWORD).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
    .with_context(|| format!("registering {name}"))?;
    retry(|| http.login(name, PASSWORD))
        .await
        .with_context(|| format!("logging in {name}"))
}

/// Retries `call` on failures a busy node may cause (429, 5xx, transport errors).
async fn retry<T, F, Fut>(mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(e: &ClientError) -> bool {
    match e.status() {
        Some(status) => status == 429 || status >= 500,
        None => matches!(e, ClientError::Request(_) | ClientError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefixes_make_valid_names() {
        let prefix = default_prefix();
        check_prefix(&prefix).unwrap();
        assert!(sender(&prefix, 99_999).len() <= 32);
        assert!(check_prefix("Bad").is_err());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("-x").is_err());
        assert_eq!(receiver("run1", 7), "run1-r7");
    }
}
