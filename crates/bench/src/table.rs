//! The layout the reports' tables for people share: labelled rows, the
//! latency table, and the closing warnings and verdict.
//!
//! Writing to a `String` cannot fail, so the results of `writeln!` are ignored.

use std::fmt::{Display, Write as _};

use super::latency::Summary;

/// One labelled row: `  <label, 20 wide> <value>`.
pub fn row(w: &mut String, label: &str, value: impl Display) {
    let _ = writeln!(w, "  {label:<20} {value}");
}

/// A blank line, then the latency table: one row per named summary, with its
/// percentiles and maximum in ms and its sample count.
pub fn latencies<'a>(w: &mut String, rows: impl IntoIterator<Item = (&'a str, &'a Summary)>) {
    let _ = writeln!(
        w,
        "\n  {:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "count"
    );
    for (name, l) in rows {
        let _ = writeln!(
            w,
            "  {:<20} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9}",
            name, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
        );
    }
}

/// The end of a table: each warning after a blank line, then after another
/// the verdict, `ok` when the run was correct and `failed` when it was not.
pub fn close<'a>(
    w: &mut String,
    warnings: impl IntoIterator<Item = &'a String>,
    correct: bool,
    ok: &str,
    failed: &str,
) {
    for warning in warnings {
        let _ = writeln!(w, "\nwarning: {warning}");
    }
    let _ = writeln!(w, "\n{}", if correct { ok } else { failed });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_the_latency_table_line_up() {
        let mut w = String::new();
        row(&mut w, "drain", format_args!("{:.2} s", 0.5));
        let l = Summary {
            count: 3,
            p50_ms: 1.0,
            max_ms: 2.5,
            ..Summary::default()
        };
        latencies(&mut w, [("send→ack", &l)]);
        assert_eq!(
            w,
            "  drain                0.50 s\n\
             \n  latency (ms)               p50       p90       p99     p99.9       max     count\n  \
             send→ack                 1.000     0.000     0.000     0.000     2.500         3\n"
        );
    }

    #[test]
    fn the_verdict_follows_the_warnings() {
        let mut w = String::new();
        close(&mut w, &["slow".to_owned()], false, "OK", "FAILED");
        assert_eq!(w, "\nwarning: slow\n\nFAILED\n");
    }
}
