use std::fmt;

use crate::{ErrorCode, KoiError};

/// A username: `^[a-z0-9][a-z0-9_.-]{0,31}$`, chosen at registration, immutable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);

impl UserId {
    /// Checks `name` against the username grammar.
    pub fn parse(name: &str) -> Result<Self, KoiError> {
        let bytes = name.as_bytes();
        let valid = matches!(bytes.first(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.len() <= 32
            && bytes[1..].iter().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            // The error echoes at most the first characters: a stranger's
            // megabyte of a name must not come back in the answer or the log.
            let shown: String = name.chars().take(Self::ECHOED_CHARS).collect();
            let more = if shown.len() < name.len() { "…" } else { "" };
            Err(KoiError::new(
                ErrorCode::BadRequest,
                format!(
                    "invalid user name {shown:?}{more}: expected ^[a-z0-9][a-z0-9_.-]{{0,31}}$"
                ),
            ))
        }
    }

    /// How much of an invalid name an error repeats.
    const ECHOED_CHARS: usize = 40;

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the id into its string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_name_is_echoed_only_in_part() {
        let long = "X".repeat(1_000_000);
        let message = UserId::parse(&long).unwrap_err().message;
        assert!(message.len() < 200, "{} bytes echoed", message.len());
        assert!(message.contains(&"X".repeat(UserId::ECHOED_CHARS)));
        let short = UserId::parse("Bob").unwrap_err().message;
        assert!(short.contains("\"Bob\":"), "{short}");
    }

    #[test]
    fn accepts_the_grammar_and_nothing_else() {
        for ok in ["a", "alice", "bob_2", "x.y-z", "0", &"a".repeat(32)] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Alice",
            "_a",
            ".a",
            "a b",
            "a:b",
            "é",
            &"a".repeat(33),
            "system!",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }
}
