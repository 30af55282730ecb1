use koi_proto::History;

/// `limit` when the request gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` honoured; larger values are treated as this.
pub const MAX_LIMIT: u32 = 200;

/// Which messages of a conversation a `history` request selects (ascending by seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRange {
    /// Neither bound: the latest `limit`.
    Latest { limit: u32 },
    /// seq > after: the lowest `limit`.
    After { after: u64, limit: u32 },
    /// seq < before: the highest `limit`.
    Before { before: u64, limit: u32 },
    /// after < seq < before: the lowest `limit`.
    Between { after: u64, before: u64, limit: u32 },
}

impl HistoryRange {
    /// The range a request asks for, with its limit defaulted and capped.
    pub fn from_request(req: &History) -> Self {
        Self::new(req.after, req.before, req.limit)
    }

    /// The range for optional bounds and limit, as the REST endpoint has them.
    pub fn new(after: Option<u64>, before: Option<u64>, limit: Option<u32>) -> Self {
        let limit = match limit {
            None | Some(0) => DEFAULT_LIMIT,
            Some(n) => n.min(MAX_LIMIT),
        };
        match (after, before) {
            (None, None) => HistoryRange::Latest { limit },
            (Some(after), None) => HistoryRange::After { after, limit },
            (None, Some(before)) => HistoryRange::Before { before, limit },
            (Some(after), Some(before)) => HistoryRange::Between {
                after,
                before,
                limit,
            },
        }
    }

    /// The number of messages asked for at most.
    pub fn limit(&self) -> u32 {
        match *self {
            HistoryRange::Latest { limit }
            | HistoryRange::After { limit, .. }
            | HistoryRange::Before { limit, .. }
            | HistoryRange::Between { limit, .. } => limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_caps() {
        assert_eq!(
            HistoryRange::new(None, None, None),
            HistoryRange::Latest { limit: 50 }
        );
        assert_eq!(HistoryRange::new(Some(3), None, Some(500)).limit(), 200);
        assert_eq!(
            HistoryRange::new(Some(1), Some(9), Some(2)),
            HistoryRange::Between {
                after: 1,
                before: 9,
                limit: 2
            }
        );
    }
}
