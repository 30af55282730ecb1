//! The activity counter that orders `conversations` newest first.
//!
//! Every append stamps its conversation with the next value. Reading the next
//! value as `max(activity) + 1` took an index on `convs.activity`, and keeping
//! that index moved one of its entries on every append: a page written to the
//! WAL per message for a list that is sorted per user anyway. The writer thread
//! is the only one stamping, so the counter lives here, seeded from the database
//! when the store opens; values skipped by a rolled-back job leave harmless gaps.

use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::Connection;

use crate::StoreError;

#[derive(Debug)]
pub(super) struct Activity(AtomicI64);

impl Activity {
    /// The counter, continuing after the highest value stored.
    pub(super) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let highest: i64 =
            conn.query_row("SELECT coalesce(max(activity), 0) FROM convs", [], |row| {
                row.get(0)
            })?;
        Ok(Self(AtomicI64::new(highest)))
    }

    /// A value above every one handed out before.
    pub(super) fn next(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}
