/// Counts of a store writer's work since the store opened: `commits` below
/// `jobs` is group commit at work (`jobs / commits` writes per transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Write jobs taken off the writer's queue, committed or not (a job run
    /// again after a retryable failure counts once).
    pub jobs: u64,
    /// Transactions committed.
    pub commits: u64,
}
