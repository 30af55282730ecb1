//! Telling one run's messages from another's with the same users.

use std::time::{SystemTime, UNIX_EPOCH};

/// A run id: the first part of every `client_msg_id` (or push text) a run
/// sends, so a rerun with a reused prefix never matches an earlier run's.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}",
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
    )
}

/// The emoji a run's reaction carries, `<tag>-<sender>-<n>` with `n` the
/// number of the `react` operation among its sender's: what the receiver of
/// its `react` and `unreact` events matches them by. The tag is the run id's
/// last 8 digits, so the key fits the protocol's 32 bytes of `emoji`.
pub fn reaction_key(run: &str, sender: usize, n: u64) -> String {
    format!("{}-{sender}-{n}", reaction_tag(run))
}

/// `(sender, n)` of a [`reaction_key`] of run `run`; `None` for another
/// run's key or anything else.
pub fn parse_reaction_key(run: &str, key: &str) -> Option<(usize, u64)> {
    let rest = key.strip_prefix(reaction_tag(run))?.strip_prefix('-')?;
    let (sender, n) = rest.split_once('-')?;
    Some((sender.parse().ok()?, n.parse().ok()?))
}

fn reaction_tag(run: &str) -> &str {
    &run[run.len().saturating_sub(8)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaction_key_names_its_sender_and_operation_and_fits_an_emoji() {
        let run = run_id();
        let key = reaction_key(&run, 99_999, 99_999_999);
        assert!(key.len() <= 32, "{key}");
        assert_eq!(parse_reaction_key(&run, &key), Some((99_999, 99_999_999)));
        assert_eq!(
            parse_reaction_key("0123456789", "23456789-4-5"),
            Some((4, 5))
        );
        assert_eq!(parse_reaction_key("0123456789", "13456789-4-5"), None);
        assert_eq!(parse_reaction_key("0123456789", "23456789-4"), None);
    }
}
