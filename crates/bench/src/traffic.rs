//! What the reports say about one traffic class (a run's pairs, one phase of
//! `max` or `relay-baseline`, a group, a group run's direct pairs): the counts
//! of its [`Tally`], its rates over the measured window and its latencies, as
//! JSON fields and as rows of a table. Field meanings: `docs/benchmarks.md`.

use serde::Serialize;

use super::latency::Summary;
use super::rounding::round;
use super::table;
use super::tally::Tally;

/// The counts, rates and latencies of one traffic class; flattened into the
/// reports, so its fields stand beside theirs.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// `offered`, `sent`, `acked`, `errors`, `delivered`, `lost`,
    /// `duplicated`, `reordered`, `delivered_unacked`, `unexpected`,
    /// `disconnects`.
    #[serde(flatten)]
    pub counts: Tally,
    pub errors_total: u64,
    /// Deliveries owed: each acked message at each receiver that should get
    /// it. Reported where a message has many receivers (`group`); a pair's
    /// receiver owes each acked message once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// Acks received during the measured window, per second.
    pub ack_rate: f64,
    /// First deliveries received during the measured window, per second.
    pub delivery_rate: f64,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
}

impl Traffic {
    /// The figures of `t` over a measured window of `duration_s` seconds,
    /// without `expected`.
    pub fn new(
        t: &Tally,
        duration_s: f64,
        send_to_ack: Summary,
        send_to_delivery: Summary,
    ) -> Self {
        Traffic {
            counts: t.clone(),
            errors_total: t.errors_total(),
            expected: None,
            ack_rate: round(t.acked_in_window as f64 / duration_s, 1),
            delivery_rate: round(t.delivered_in_window as f64 / duration_s, 1),
            send_to_ack,
            send_to_delivery,
        }
    }

    /// The same, reporting `expected`: for traffic where a message is owed to
    /// many receivers.
    pub fn with_expected(self, expected: u64) -> Self {
        Traffic {
            expected: Some(expected),
            ..self
        }
    }

    /// The failed sends by error code: `code: n, code: n`.
    pub fn errors_by_code(&self) -> String {
        let by_code: Vec<String> = self
            .counts
            .errors
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        by_code.join(", ")
    }

    /// The table rows from `errors` on, after the caller's rows of what was
    /// offered, sent and acked: errors, deliveries owed (when reported),
    /// delivered, lost, duplicated, the other anomalies when there were any,
    /// the ack rate, and the delivery rate labelled `delivery_rate`.
    pub fn rows(&self, w: &mut String, delivery_rate: &str) {
        let c = &self.counts;
        let errors = if c.errors.is_empty() {
            "0".to_owned()
        } else {
            format!("{} ({})", self.errors_total, self.errors_by_code())
        };
        table::row(w, "errors", errors);
        if let Some(expected) = self.expected {
            table::row(w, "deliveries owed", expected);
        }
        table::row(w, "delivered", c.delivered);
        table::row(w, "lost", c.lost);
        table::row(w, "duplicated", c.duplicated);
        for (name, n) in [
            ("reordered", c.reordered),
            ("delivered unacked", c.delivered_unacked),
            ("unexpected", c.unexpected),
            ("disconnects", c.disconnects),
        ] {
            if n > 0 {
                table::row(w, name, n);
            }
        }
        table::row(w, "acked msgs/s", format_args!("{:.1}", self.ack_rate));
        table::row(w, delivery_rate, format_args!("{:.1}", self.delivery_rate));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn tally() -> Tally {
        Tally {
            offered: 10,
            sent: 9,
            acked: 8,
            errors: BTreeMap::from([("timeout".to_owned(), 1), ("closed".to_owned(), 2)]),
            expected: 16,
            delivered: 16,
            acked_in_window: 4,
            delivered_in_window: 5,
            reordered: 1,
            ..Tally::default()
        }
    }

    #[test]
    fn rates_are_over_the_measured_window() {
        let t = Traffic::new(&tally(), 2.0, Summary::default(), Summary::default());
        assert_eq!((t.ack_rate, t.delivery_rate), (2.0, 2.5));
        assert_eq!((t.errors_total, t.expected), (3, None));
        assert_eq!(t.errors_by_code(), "closed: 2, timeout: 1");
    }

    #[test]
    fn expected_is_in_the_json_only_when_reported() {
        let t = Traffic::new(&tally(), 1.0, Summary::default(), Summary::default());
        let json = serde_json::to_value(&t).unwrap();
        assert!(json.get("expected").is_none(), "{json}");
        let owed = serde_json::to_value(t.with_expected(16)).unwrap();
        assert_eq!(owed["expected"], 16, "{owed}");
    }

    #[test]
    fn rows_show_anomalies_only_when_there_were_any() {
        let mut w = String::new();
        Traffic::new(&tally(), 1.0, Summary::default(), Summary::default())
            .rows(&mut w, "delivered msgs/s");
        assert_eq!(
            w,
            "  errors               3 (closed: 2, timeout: 1)\n\
             \x20 delivered            16\n\
             \x20 lost                 0\n\
             \x20 duplicated           0\n\
             \x20 reordered            1\n\
             \x20 acked msgs/s         4.0\n\
             \x20 delivered msgs/s     5.0\n"
        );
    }
}
