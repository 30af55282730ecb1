//! The store writer's counts, read when `/metrics` is scraped: how many write
//! jobs it ran and in how many commits (`jobs / commits` is how many writes
//! group commit puts in one transaction, a first thing to look at when sends
//! get slow).

use koi_store::WriterStats;

/// Sets `koi_store_write_jobs_total` and `koi_store_commits_total`.
pub fn record_writer(stats: WriterStats) {
    metrics::counter!("koi_store_write_jobs_total").absolute(stats.jobs);
    metrics::counter!("koi_store_commits_total").absolute(stats.commits);
}
