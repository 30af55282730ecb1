/// Counts of a store writer's work since the store opened: `commits` below
/// `jobs` is group commit at work (`jobs / commits` writes per transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Write jobs taken off the writer's queue, committed or not (a job run
    /// again after a retryable failure counts once).
    pub jobs: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Syncs that made commits durable. The embedded store syncs while it
    /// runs the next transaction, so one sync may cover several commits;
    /// PostgreSQL syncs within each commit (`syncs` = `commits`).
    pub syncs: u64,
    /// Messages committed to the embedded store's journal and not yet moved
    /// into their conversation's place (always 0 for PostgreSQL). Stays within
    /// a few seconds' worth of messages; growing without end means moves fail.
    pub journal: u64,
}
