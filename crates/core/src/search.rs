//! A `search` request, checked: its query as terms, its scope and limit.

use crate::search_terms::{self, Term};
use crate::{ConvId, KoiError, UserId};

/// `limit` when the request gives none.
pub const SEARCH_DEFAULT_LIMIT: u32 = 20;
/// The largest `limit` honoured; larger values are treated as this.
pub const SEARCH_MAX_LIMIT: u32 = 50;
/// The longest `q`, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;
/// The most words in `q` (a run of an unspaced script counts as one).
pub const MAX_QUERY_WORDS: usize = 16;
/// The longest `before`, in bytes (message ids are 26).
const MAX_BEFORE_BYTES: usize = 64;

/// A checked `search`: what to match and where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Each must match (at least one).
    pub terms: Vec<Term>,
    /// Only this conversation (the caller's right to read it is checked by
    /// the logic tier).
    pub conv: Option<ConvId>,
    /// Only messages from this user.
    pub from: Option<UserId>,
    /// Only messages whose id sorts before this one (ids rise with time).
    pub before: Option<String>,
    /// How many at most, 1 to [`SEARCH_MAX_LIMIT`].
    pub limit: u32,
}

impl Search {
    /// Checks a request; every failure is `bad_request`.
    pub fn from_request(req: &koi_proto::Search) -> Result<Self, KoiError> {
        let q = req.q.trim();
        if q.is_empty() {
            return Err(KoiError::bad_request("q is empty"));
        }
        if req.q.len() > MAX_QUERY_BYTES {
            return Err(KoiError::bad_request(format!(
                "q is over {MAX_QUERY_BYTES} bytes"
            )));
        }
        let (terms, words) = search_terms::terms(q);
        if terms.is_empty() {
            return Err(KoiError::bad_request("q has no letters or digits"));
        }
        if words > MAX_QUERY_WORDS {
            return Err(KoiError::bad_request(format!(
                "q has more than {MAX_QUERY_WORDS} words"
            )));
        }
        let limit = match req.limit {
            None => SEARCH_DEFAULT_LIMIT,
            Some(0) => return Err(KoiError::bad_request("limit must be at least 1")),
            Some(n) => n.min(SEARCH_MAX_LIMIT),
        };
        let before = match &req.before {
            Some(id) if id.is_empty() || id.len() > MAX_BEFORE_BYTES => {
                return Err(KoiError::bad_request("before is not a message id"));
            }
            other => other.clone(),
        };
        Ok(Self {
            terms,
            conv: req.conv.as_deref().map(ConvId::parse).transpose()?,
            from: req.from.as_deref().map(UserId::parse).transpose()?,
            before,
            limit,
        })
    }

    /// Whether a message with this kind and text matches: searchable, and
    /// meeting every term.
    pub fn matches(&self, kind: &str, text: Option<&str>) -> bool {
        let Some(text) = searchable_text(kind, text) else {
            return false;
        };
        let tokens = search_terms::tokens(text);
        self.terms.iter().all(|term| term.matches(&tokens))
    }
}

/// The text a message of this kind is found by, if any: events, recalled and
/// system messages are never searched, nor messages without text.
pub fn searchable_text<'a>(kind: &str, text: Option<&'a str>) -> Option<&'a str> {
    match kind {
        "event" | "recalled" | "system" => None,
        _ => text.filter(|t| !t.trim().is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(q: &str) -> koi_proto::Search {
        koi_proto::Search {
            q: q.to_owned(),
            ..Default::default()
        }
    }

    fn code(req: koi_proto::Search) -> Option<&'static str> {
        Search::from_request(&req).err().map(|e| e.code.as_str())
    }

    #[test]
    fn bad_queries_are_bad_requests() {
        assert_eq!(code(request("")), Some("bad_request"));
        assert_eq!(code(request("  \t ")), Some("bad_request"));
        assert_eq!(code(request("?!")), Some("bad_request"));
        assert_eq!(code(request(&"a".repeat(257))), Some("bad_request"));
        let words: Vec<String> = (0..17).map(|i| format!("w{i}")).collect();
        assert_eq!(code(request(&words.join(" "))), Some("bad_request"));
        let zero = koi_proto::Search {
            limit: Some(0),
            ..request("x")
        };
        assert_eq!(code(zero), Some("bad_request"));
        let conv = koi_proto::Search {
            conv: Some("nope".into()),
            ..request("x")
        };
        assert_eq!(code(conv), Some("bad_request"));
        assert_eq!(code(request(&words[..16].join(" "))), None);
    }

    #[test]
    fn limit_defaults_and_is_capped() {
        let search = Search::from_request(&request("x")).unwrap();
        assert_eq!(search.limit, SEARCH_DEFAULT_LIMIT);
        let big = koi_proto::Search {
            limit: Some(500),
            ..request("x")
        };
        assert_eq!(Search::from_request(&big).unwrap().limit, SEARCH_MAX_LIMIT);
    }

    #[test]
    fn events_recalls_and_system_messages_are_not_searched() {
        let search = Search::from_request(&request("hello")).unwrap();
        assert!(search.matches("text", Some("Hello there")));
        assert!(search.matches("image", Some("hello caption")));
        for kind in ["event", "recalled", "system"] {
            assert!(!search.matches(kind, Some("hello")), "{kind}");
        }
        assert!(!search.matches("text", None));
    }
}
