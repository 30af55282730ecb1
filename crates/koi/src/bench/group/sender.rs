//! One open-loop sender: sends to a conversation (the group) or a user (a
//! direct pair) on a fixed schedule, replies awaited concurrently.
//!
//! The schedule is the one of `koi bench direct` (docs/benchmarks.md): message
//! `n` is due at `start + phase + n × period` and goes out when due, whether or
//! not earlier ones were answered; only `max_in_flight` outstanding replies
//! make it wait, and its latency still counts from when it was due (no
//! coordinated omission). Each message carries `<run>-<sender>-<n>` in
//! `client_msg_id` and its reference time, µs after `start`, in `meta`; the
//! reference time is `min(due, sent)`, because the timer may fire up to
//! [`TIMER_SLACK`] early.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use koi_client::{ClientError, Connection};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use tokio::time::Instant;

use super::super::latency::Recorder;

/// How late past the end a message due before it may still go out; a sender
/// further behind stops.
const LATE_GRACE: Duration = Duration::from_millis(250);
/// How early the timer may fire (tokio rounds sleeps up to the next millisecond).
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Where the messages go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A conversation, e.g. `g:<id>`.
    Conv(String),
    /// A user: their direct conversation with the sender.
    User(String),
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Due after the sender stopped (it fell behind).
    Unsent,
    /// Sent, no reply.
    InFlight,
    Acked,
    Failed,
}

/// The schedule and payload of one sender.
#[derive(Debug, Clone)]
pub struct Plan {
    /// This sender's number in the run: the middle of its `client_msg_id`s.
    pub sender: usize,
    pub target: Target,
    pub run: Arc<str>,
    pub text: Arc<str>,
    pub start: Instant,
    /// When the first message is due, after `start`.
    pub phase: Duration,
    pub period: Duration,
    /// No message is due at or after this (after `start`).
    pub end: Duration,
    /// Acks in `[window.0, window.1)` count toward the achieved rate; messages
    /// due before `window.0` (the warmup) get no latency sample.
    pub window: (Duration, Duration),
    pub max_in_flight: usize,
}

impl Plan {
    /// How many messages are due in `[0, end)`.
    pub fn offered(&self) -> u64 {
        if self.phase >= self.end {
            return 0;
        }
        let span = (self.end - self.phase).as_nanos();
        span.div_ceil(self.period.as_nanos().max(1)) as u64
    }

    fn due(&self, n: u64) -> Duration {
        self.phase + Duration::from_nanos((self.period.as_nanos() as u64).saturating_mul(n))
    }

    fn op(&self, n: u64, meta: String) -> Op {
        let (to, conv) = match &self.target {
            Target::Conv(conv) => (None, Some(conv.clone())),
            Target::User(user) => (Some(user.clone()), None),
        };
        Op::Send(koi_proto::Send {
            to,
            conv,
            client_msg_id: format!("{}-{}-{n}", self.run, self.sender),
            kind: "text".to_owned(),
            text: Some(self.text.to_string()),
            file: None,
            meta: Some(meta),
        })
    }
}

/// What one sender did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub offered: u64,
    /// Index `n`: the fate of message `n`.
    pub status: Vec<Status>,
    pub acked_in_window: u64,
    /// Failed requests by error code (`timeout`, `closed`: client-side).
    pub errors: BTreeMap<String, u64>,
    /// How the connection ended, if it did before the sender was done.
    pub disconnected: Option<String>,
}

/// Message number, when it was due, its reference time, the reply.
type Reply = (u64, Instant, Instant, Result<Body, ClientError>);

async fn fire(conn: &Connection, n: u64, due: Instant, sent: Instant, op: Op) -> Reply {
    (n, due, sent, conn.request(op).await)
}

/// Runs the schedule of `plan` on `conn`, then waits for the outstanding
/// replies. `acks` gets each send→ack latency, `lag` how late each message
/// went out after it was due.
pub async fn run(conn: Connection, plan: Plan, mut acks: Recorder, mut lag: Recorder) -> Outcome {
    let offered = plan.offered();
    let mut out = Outcome {
        offered,
        status: Vec::with_capacity(offered as usize),
        ..Outcome::default()
    };
    let window_start = plan.start + plan.window.0;
    let stop_at = plan.start + plan.end + LATE_GRACE;
    let mut in_flight = FuturesUnordered::new();
    let mut record = |(n, due, sent, result): Reply, out: &mut Outcome| match result {
        Ok(_) => {
            let now = Instant::now();
            out.status[n as usize] = Status::Acked;
            if due >= window_start {
                acks.record(now.saturating_duration_since(sent));
            }
            let at = now.saturating_duration_since(plan.start);
            if at >= plan.window.0 && at < plan.window.1 {
                out.acked_in_window += 1;
            }
        }
        Err(e) => {
            out.status[n as usize] = Status::Failed;
            let code = match &e {
                ClientError::Timeout => "timeout",
                e if e.is_closed() => "closed",
                e => e.code().unwrap_or("other"),
            };
            *out.errors.entry(code.to_owned()).or_default() += 1;
        }
    };

    for n in 0..offered {
        let due = plan.start + plan.due(n);
        let wake = due.checked_sub(TIMER_SLACK).unwrap_or(due);
        loop {
            tokio::select! {
                biased;
                Some(reply) = in_flight.next(), if !in_flight.is_empty() => record(reply, &mut out),
                () = tokio::time::sleep_until(wake), if in_flight.len() < plan.max_in_flight => break,
            }
        }
        let now = Instant::now();
        if now >= stop_at || conn.is_closed() {
            break;
        }
        let sent = now.min(due);
        let meta = sent
            .saturating_duration_since(plan.start)
            .as_micros()
            .to_string();
        out.status.push(Status::InFlight);
        if due >= window_start {
            lag.record(now.saturating_duration_since(due));
        }
        in_flight.push(fire(&conn, n, due, sent, plan.op(n, meta)));
    }
    while let Some(reply) = in_flight.next().await {
        record(reply, &mut out);
    }
    if conn.is_closed() {
        out.disconnected = Some(
            conn.disconnect()
                .map_or_else(|| "closed".to_owned(), |d| d.to_string()),
        );
    }
    out.status.resize(offered as usize, Status::Unsent);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(phase_ms: u64, period_ms: u64, end_ms: u64) -> Plan {
        Plan {
            sender: 3,
            target: Target::Conv("g:x".into()),
            run: "r".into(),
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
    fn the_schedule_and_the_message_ids() {
        assert_eq!(plan(0, 100, 1000).offered(), 10);
        assert_eq!(plan(99, 100, 1000).offered(), 10);
        assert_eq!(plan(1000, 100, 1000).offered(), 0);
        assert_eq!(plan(10, 100, 1000).due(3), Duration::from_millis(310));
        let Op::Send(send) = plan(0, 1, 1).op(7, "42".into()) else {
            panic!("a send")
        };
        assert_eq!(send.client_msg_id, "r-3-7");
        assert_eq!(
            (send.conv.as_deref(), send.meta.as_deref()),
            (Some("g:x"), Some("42"))
        );
    }
}
