//! The search for the highest sustained rate: load phases at increasing rates
//! over the same pairs, until one falls behind.
//!
//! A step is sustained when nothing was lost or duplicated, no send failed, it
//! delivered within its measured window at least `--min-delivered` of what it
//! offered, and its p99 send→delivery latency is at most `--max-p99-ms`. The search stops at
//! the first step that is not, at `--max-rate`, or when the next step would
//! take the load past its time budget.

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use super::figures::Figures;
use super::link::{Inlet, Outlet, Pairs};
use super::phase::{self, LoadArgs};

/// How the rate steps up and when a step counts as sustained.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The first step's offered rate, msgs/s.
    #[arg(long, default_value_t = 1000.0)]
    pub start_rate: f64,
    /// Each step offers this many times the previous step's rate (unless --step).
    #[arg(long, default_value_t = 1.25)]
    pub factor: f64,
    /// Each step offers this many msgs/s more than the previous one, instead of --factor.
    #[arg(long)]
    pub step: Option<f64>,
    /// The highest rate to try, msgs/s.
    #[arg(long, default_value_t = 1_000_000.0)]
    pub max_rate: f64,
    /// Seconds of measured load per step.
    #[arg(long, default_value_t = 5.0)]
    pub step_duration: f64,
    /// A sustained step delivers at least this share of what it offered, within the step.
    #[arg(long, default_value_t = 0.99)]
    pub min_delivered: f64,
    /// A sustained step's p99 send→delivery latency is at most this many ms.
    #[arg(long, default_value_t = 50.0)]
    pub max_p99_ms: f64,
}

impl SearchArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.start_rate) || !positive(self.step_duration) {
            bail!("--start-rate and --step-duration must be positive");
        }
        if !(self.max_rate.is_finite() && self.max_rate >= self.start_rate) {
            bail!("--max-rate must be at least --start-rate");
        }
        match self.step {
            Some(step) if !positive(step) => bail!("--step must be positive"),
            None if !(self.factor.is_finite() && self.factor > 1.0) => {
                bail!("--factor must be more than 1")
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.min_delivered) || !positive(self.max_p99_ms) {
            bail!("--min-delivered must be within 0..1 and --max-p99-ms positive");
        }
        Ok(())
    }

    /// The rate after `rate`, in whole msgs/s, at most `--max-rate`.
    fn next(&self, rate: f64) -> f64 {
        let next = match self.step {
            Some(step) => rate + step,
            None => rate * self.factor,
        };
        next.round().max(rate + 1.0).min(self.max_rate)
    }

    /// Why `step` was not sustained, or `None` when it was.
    fn shortfall(&self, step: &Figures) -> Option<String> {
        let t = &step.traffic;
        let delivered = t.delivery_rate / step.rate;
        let p99 = t.send_to_delivery.p99_ms;
        if !step.ok {
            Some(format!(
                "{} lost, {} duplicated",
                t.counts.lost, t.counts.duplicated
            ))
        } else if t.errors_total > 0 {
            Some(format!(
                "{} sends failed ({})",
                t.errors_total,
                t.errors_by_code()
            ))
        } else if delivered < self.min_delivered {
            Some(format!(
                "delivered {:.1} % of offered, under {:.1} %",
                delivered * 100.0,
                self.min_delivered * 100.0
            ))
        } else if p99 > self.max_p99_ms {
            Some(format!(
                "p99 send→delivery {p99:.1} ms, over {} ms",
                self.max_p99_ms
            ))
        } else {
            None
        }
    }
}

/// One step of a search.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    #[serde(flatten)]
    pub figures: Figures,
    pub sustained: bool,
    /// Why the step was not sustained (absent when it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// What a search found.
#[derive(Debug, Clone, Serialize)]
pub struct Search {
    pub steps: Vec<Step>,
    /// The offered rate of the last sustained step; `None` when even the first
    /// step fell behind.
    pub max_sustained_rate: Option<f64>,
    /// `fell_behind`, `max_rate` (the last step was sustained at --max-rate) or
    /// `duration` (the next step would not have fitted in the time budget).
    pub ended_by: &'static str,
}

impl Search {
    /// The last sustained step.
    pub fn best(&self) -> Option<&Step> {
        self.steps.iter().rev().find(|s| s.sustained)
    }

    /// True when no step lost or duplicated a message.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.figures.ok)
    }
}

/// Steps the rate up over `pairs` for at most `budget_s` seconds of load.
pub async fn run<O: Outlet, I: Inlet>(
    pairs: &Pairs<O, I>,
    args: &SearchArgs,
    load: &LoadArgs,
    budget_s: f64,
    server_pid: Option<u32>,
) -> anyhow::Result<Search> {
    let started = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut rate = args.start_rate;
    let ended_by = loop {
        let mut phase = load.at(rate, args.step_duration);
        phase.server_pid = server_pid;
        let measured = phase::run(pairs, &phase).await?;
        let figures = Figures::new(rate, args.step_duration, measured);
        let shortfall = args.shortfall(&figures);
        progress!(
            "step at {rate:.0} msgs/s: delivered {:.1}/s, p99 {:.2} ms: {}",
            figures.traffic.delivery_rate,
            figures.traffic.send_to_delivery.p99_ms,
            shortfall.as_deref().unwrap_or("sustained")
        );
        steps.push(Step {
            figures,
            sustained: shortfall.is_none(),
            shortfall,
        });
        if !steps.last().is_some_and(|s| s.sustained) {
            break "fell_behind";
        }
        if rate >= args.max_rate {
            break "max_rate";
        }
        let next_step_s = load.warmup + args.step_duration;
        if started.elapsed().as_secs_f64() + next_step_s > budget_s {
            break "duration";
        }
        rate = args.next(rate);
    };
    let mut search = Search {
        steps,
        max_sustained_rate: None,
        ended_by,
    };
    search.max_sustained_rate = search.best().map(|s| s.figures.rate);
    Ok(search)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(factor: f64, step: Option<f64>, max_rate: f64) -> SearchArgs {
        SearchArgs {
            start_rate: 2000.0,
            factor,
            step,
            max_rate,
            step_duration: 5.0,
            min_delivered: 0.99,
            max_p99_ms: 50.0,
        }
    }

    #[test]
    fn rates_step_up_in_whole_messages_to_the_bound() {
        let by_factor = args(1.25, None, 5000.0);
        let mut rates = vec![by_factor.start_rate];
        while let Some(&last) = rates.last().filter(|r| **r < by_factor.max_rate) {
            rates.push(by_factor.next(last));
        }
        assert_eq!(rates, [2000.0, 2500.0, 3125.0, 3906.0, 4883.0, 5000.0]);
        assert_eq!(args(1.25, Some(500.0), 1e6).next(2000.0), 2500.0);
        // A factor too small to move a whole message still moves one.
        assert_eq!(args(1.0001, None, 1e6).next(10.0), 11.0);
    }
}
