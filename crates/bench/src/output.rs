//! Where a run's report goes: one JSON object on stdout with `--json`, the
//! table for people otherwise; and the failure a run ends with when its report
//! says it was not correct.

use serde::Serialize;

/// A run whose report says it was not correct (messages lost or duplicated,
/// connections failed), without `--allow-loss`: the process exits non-zero.
#[derive(Debug, thiserror::Error)]
#[error("{what} (pass --allow-loss to exit 0 anyway)")]
pub struct Incorrect {
    /// What went wrong, e.g. `3 lost and 0 duplicated messages`.
    pub what: String,
}

/// `--json` and `--allow-loss`, alike in every mode.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 even when the run was not correct: messages or deliveries lost
    /// or duplicated, connections failed.
    #[arg(long)]
    pub allow_loss: bool,
}

/// What a run of pairs that was not correct says went wrong.
pub fn lost_or_duplicated() -> String {
    "messages were lost or duplicated".to_owned()
}

impl OutputArgs {
    /// Prints `report` as these flags ask ([`print`]), then fails with
    /// [`Incorrect`], saying `what` went wrong, unless the run was `correct`
    /// or `--allow-loss` was given ([`verdict`]).
    pub fn finish<R: Serialize>(
        &self,
        report: &R,
        table: impl FnOnce(&R) -> String,
        correct: bool,
        what: impl FnOnce() -> String,
    ) -> Result<(), Incorrect> {
        print(report, self.json, table);
        verdict(correct, self.allow_loss, what)
    }
}

/// Prints `report` on stdout: as one JSON object when `json`, else as `table`
/// renders it.
pub fn print<R: Serialize>(report: &R, json: bool, table: impl FnOnce(&R) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("a report serializes")
        );
    } else {
        print!("{}", table(report));
    }
}

/// Fails with [`Incorrect`], saying `what` went wrong, unless the run was
/// `correct` or `allow_loss` lets it pass.
pub fn verdict(
    correct: bool,
    allow_loss: bool,
    what: impl FnOnce() -> String,
) -> Result<(), Incorrect> {
    if correct || allow_loss {
        Ok(())
    } else {
        Err(Incorrect { what: what() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_incorrect_run_without_allow_loss_fails() {
        let what = || "1 lost".to_owned();
        assert!(verdict(true, false, what).is_ok());
        assert!(verdict(false, true, what).is_ok());
        let err = verdict(false, false, what).unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 lost (pass --allow-loss to exit 0 anyway)"
        );
    }
}
