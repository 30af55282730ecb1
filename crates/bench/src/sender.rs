//! One sender: sends to its target (a pair's receiver, or a group) through
//! its [`Outlet`] on a fixed schedule (open loop), with replies awaited
//! concurrently, at most `max_in_flight` at a time.
//!
//! Message `n` is due at `start + phase + n × period`. It goes out when due,
//! whether or not earlier ones were answered; only when `max_in_flight` replies
//! are outstanding does it wait, and then its latency still counts from when it
//! was due, so a slow server shows as latency, never as a lower offered rate
//! (no coordinated omission).
//!
//! The timer fires up to [`TIMER_SLACK`] early (tokio's timer rounds up to the
//! next millisecond, which would add up to 1 ms to every latency); a message
//! sent early counts from when it was sent, one sent late from when it was due:
//! its reference time is `min(due, sent)`. Each message carries its id
//! `<run>-<sender>-<n>` in `client_msg_id` and its reference time (µs after
//! `start`) in `meta`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

use super::ids;
use super::latency::Recorder;
use super::link::{Draft, Outlet};

/// How late past the end a message due before it may still go out (timer
/// granularity, a brief stall); a sender further behind stops.
const LATE_GRACE: Duration = Duration::from_millis(250);
/// How early the timer may fire; see the module notes.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Due after the sender stopped (it fell behind) or not due yet.
    Unsent,
    /// Sent, no reply.
    InFlight,
    Acked,
    Failed,
}

/// The schedule and payload of one sender.
#[derive(Debug, Clone)]
pub struct Plan {
    /// This sender's number in the phase (its pair's, in a pair run): the
    /// middle part of its message ids.
    pub sender: usize,
    /// This phase's id, the first part of every `client_msg_id`.
    pub run: Arc<str>,
    pub text: Arc<str>,
    pub start: Instant,
    /// When the first message is due, after `start`.
    pub phase: Duration,
    pub period: Duration,
    /// No message is due at or after this (after `start`), and none is sent
    /// more than a moment after it.
    pub end: Duration,
    /// Acks received in `[window.0, window.1)` (after `start`) count toward the
    /// achieved rate; latencies of messages due before `window.0` are not recorded.
    pub window: (Duration, Duration),
    pub max_in_flight: usize,
}

/// What every sender of one phase shares; [`Schedule::plan`] gives each its
/// own [`Plan`].
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The phase's id, the first part of every `client_msg_id`.
    pub run: Arc<str>,
    pub text: Arc<str>,
    pub start: Instant,
    /// As in [`Plan::window`]; sending ends at `window.1`.
    pub window: (Duration, Duration),
    pub max_in_flight: usize,
}

impl Schedule {
    /// A phase with a fresh run id, starting at `start`, whose messages carry
    /// `size` bytes of text.
    pub fn new(
        size: usize,
        start: Instant,
        window: (Duration, Duration),
        max_in_flight: usize,
    ) -> Schedule {
        Schedule {
            run: ids::run_id().into(),
            text: "x".repeat(size).into(),
            start,
            window,
            max_in_flight,
        }
    }

    /// The plan of sender `number`, the `i`th of `of` senders that each send
    /// every `period`.
    pub fn plan(&self, number: usize, (i, of): (usize, usize), period: Duration) -> Plan {
        Plan {
            sender: number,
            run: self.run.clone(),
            text: self.text.clone(),
            start: self.start,
            // Phases spread evenly over one period: a smooth total rate.
            phase: period.mul_f64(i as f64 / of as f64),
            period,
            end: self.window.1,
            window: self.window,
            max_in_flight: self.max_in_flight,
        }
    }
}

impl Plan {
    /// How many messages are due in `[0, end)`.
    pub fn offered(&self) -> u64 {
        if self.phase >= self.end {
            return 0;
        }
        let span = (self.end - self.phase).as_nanos();
        let period = self.period.as_nanos().max(1);
        span.div_ceil(period) as u64
    }

    fn due(&self, n: u64) -> Duration {
        self.phase + Duration::from_nanos((self.period.as_nanos() as u64).saturating_mul(n))
    }
}

/// What one sender did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub offered: u64,
    /// Index `n`: the fate of message `n`.
    pub status: Vec<Status>,
    pub acked_in_window: u64,
    /// Failed requests by error code (`timeout`, `closed` for client-side failures).
    pub errors: HashMap<String, u64>,
    /// How the connection ended, if it ended before the sender was done.
    pub disconnected: Option<String>,
}

/// Message number, when it was due, its reference time, the reply.
type Reply = (u64, Instant, Instant, Result<(), String>);

async fn fire<O: Outlet>(outlet: &O, draft: Draft, due: Instant, sent: Instant) -> Reply {
    let n = draft.n;
    (n, due, sent, outlet.send(draft).await)
}

/// Runs the schedule of `plan` on `outlet`, then waits for the outstanding
/// replies. `acks` gets each send→ack latency, `lag` how late each message
/// went out after it was due (timer granularity, a busy bench, `max_in_flight`).
pub async fn run<O: Outlet>(
    outlet: Arc<O>,
    plan: Plan,
    mut acks: Recorder,
    mut lag: Recorder,
) -> Outcome {
    let offered = plan.offered();
    let mut out = Outcome {
        offered,
        status: Vec::with_capacity(offered as usize),
        acked_in_window: 0,
        errors: HashMap::new(),
        disconnected: None,
    };
    let stop_at = plan.start + plan.end + LATE_GRACE;
    let mut in_flight = FuturesUnordered::new();
    let mut record = |(n, due, sent, result): Reply, out: &mut Outcome| {
        let now = Instant::now();
        match result {
            Ok(_) => {
                out.status[n as usize] = Status::Acked;
                if due >= plan.start + plan.window.0 {
                    acks.record(now.saturating_duration_since(sent));
                }
                let at = now.saturating_duration_since(plan.start);
                if at >= plan.window.0 && at < plan.window.1 {
                    out.acked_in_window += 1;
                }
            }
            Err(code) => {
                out.status[n as usize] = Status::Failed;
                *out.errors.entry(code).or_default() += 1;
            }
        }
    };

    for n in 0..offered {
        let due = plan.start + plan.due(n);
        let wake = due.checked_sub(TIMER_SLACK).unwrap_or(due);
        // Take replies until `n` is due and there is room for it.
        loop {
            tokio::select! {
                biased;
                Some(reply) = in_flight.next(), if !in_flight.is_empty() => record(reply, &mut out),
                () = tokio::time::sleep_until(wake), if in_flight.len() < plan.max_in_flight => break,
            }
        }
        let now = Instant::now();
        if now >= stop_at || outlet.is_closed() {
            break;
        }
        let sent = now.min(due);
        let draft = Draft {
            n,
            id: format!("{}-{}-{n}", plan.run, plan.sender),
            meta: sent
                .saturating_duration_since(plan.start)
                .as_micros()
                .to_string(),
            text: plan.text.clone(),
        };
        out.status.push(Status::InFlight);
        if due >= plan.start + plan.window.0 {
            lag.record(now.saturating_duration_since(due));
        }
        in_flight.push(fire(&*outlet, draft, due, sent));
    }
    while let Some(reply) = in_flight.next().await {
        record(reply, &mut out);
    }
    if outlet.is_closed() {
        out.disconnected = Some(outlet.ended().unwrap_or_else(|| "closed".to_owned()));
    }
    out.status.resize(offered as usize, Status::Unsent);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(phase_ms: u64, period_ms: u64, end_ms: u64) -> Plan {
        Plan {
            sender: 0,
            run: "x".into(),
            text: "t".into(),
            start: Instant::now(),
            phase: Duration::from_millis(phase_ms),
            period: Duration::from_millis(period_ms),
            end: Duration::from_millis(end_ms),
            window: (Duration::ZERO, Duration::from_millis(end_ms)),
            max_in_flight: 1,
        }
    }

    #[test]
    fn offered_counts_the_messages_due_before_the_end() {
        assert_eq!(plan(0, 100, 1000).offered(), 10);
        assert_eq!(plan(50, 100, 1000).offered(), 10);
        assert_eq!(plan(99, 100, 1000).offered(), 10);
        assert_eq!(plan(0, 300, 1000).offered(), 4);
        assert_eq!(plan(1000, 100, 1000).offered(), 0);
        assert_eq!(plan(10, 100, 1000).due(3), Duration::from_millis(310));
    }
}
