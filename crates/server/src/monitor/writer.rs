//! The store writer's counts, read when `/metrics` is scraped: how many write
//! jobs it ran and in how many commits (`jobs / commits` is how many writes
//! group commit puts in one transaction, a first thing to look at when sends
//! get slow), and how many messages wait in the embedded store's journal.

use koi_store::WriterStats;

/// Sets `koi_store_write_jobs_total`, `koi_store_commits_total`,
/// `koi_store_syncs_total` and `koi_store_journal_messages`.
pub fn record_writer(stats: WriterStats) {
    metrics::counter!("koi_store_write_jobs_total").absolute(stats.jobs);
    metrics::counter!("koi_store_commits_total").absolute(stats.commits);
    metrics::counter!("koi_store_syncs_total").absolute(stats.syncs);
    metrics::gauge!("koi_store_journal_messages").set(stats.journal as f64);
}
