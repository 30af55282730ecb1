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
//!
//! With a reaction ratio r > 0, that share of the operations (spread evenly)
//! are reactions to the newest message of this phase the sender got acked:
//! `react`s, every second one an `unreact` of the oldest acked react not yet
//! taken back. An operation due before any message was acked is a message.
//! A reaction carries its [key](ids::reaction_key) as emoji; the receiver
//! gets it back in the event's `emoji`, and its latency is matched after
//! the phase from the reference times kept here.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

use super::ids;
use super::latency::Recorder;
use super::link::{Action, Draft, Outlet};

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

/// What an operation was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// A message (also every operation that was never sent).
    #[default]
    Message,
    /// A `react`.
    React,
    /// An `unreact` of the `react` numbered `of`.
    Unreact { of: u64 },
}

impl Kind {
    pub fn is_reaction(self) -> bool {
        self != Kind::Message
    }
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
    /// The share of operations that are reactions, 0 to 1.
    pub react_ratio: f64,
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
    /// As in [`Plan::react_ratio`].
    pub react_ratio: f64,
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
            react_ratio: 0.0,
        }
    }

    /// The same, with `ratio` of each sender's operations reactions.
    pub fn with_react_ratio(self, ratio: f64) -> Schedule {
        Schedule {
            react_ratio: ratio,
            ..self
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
            react_ratio: self.react_ratio,
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
    /// Index `n`: the fate of operation `n`, for each of the operations due.
    pub status: Vec<Status>,
    /// Index `n`: what operation `n` was (all messages without reactions).
    pub kinds: Vec<Kind>,
    /// Index `n`: the reference time of operation `n` after the phase's
    /// start (zero if unsent).
    pub sent_at: Vec<Duration>,
    /// Messages acked within the window.
    pub acked_in_window: u64,
    /// Failed message sends by error code (`timeout`, `closed` for client-side failures).
    pub errors: HashMap<String, u64>,
    /// Reactions acked within the window.
    pub reactions_acked_in_window: u64,
    /// Failed reactions by error code.
    pub reaction_errors: HashMap<String, u64>,
    /// Send→ack latencies of the acked reactions due within the window.
    pub reaction_acks: Vec<Duration>,
    /// How the connection ended, if it ended before the sender was done.
    pub disconnected: Option<String>,
}

impl Outcome {
    /// What operation `n` was.
    pub fn kind(&self, n: usize) -> Kind {
        self.kinds.get(n).copied().unwrap_or_default()
    }
}

/// Chooses each operation of a sender that mixes reactions into its
/// messages; see the module notes.
#[derive(Debug, Default)]
struct Mix {
    ratio: f64,
    /// The newest acked message's seq.
    newest: Option<u64>,
    /// Acked reacts not yet taken back: (operation number, message seq).
    undoable: VecDeque<(u64, u64)>,
    reactions: u64,
}

impl Mix {
    fn new(ratio: f64) -> Self {
        Mix {
            ratio,
            ..Mix::default()
        }
    }

    /// Whether operation `n` is a reaction's turn: `ratio` of them, evenly.
    fn reactions_turn(&self, n: u64) -> bool {
        self.ratio > 0.0 && ((n + 1) as f64 * self.ratio).floor() > (n as f64 * self.ratio).floor()
    }

    /// What operation `n` is.
    fn next(&mut self, n: u64) -> (Kind, Action) {
        let Some(newest) = self.newest.filter(|_| self.reactions_turn(n)) else {
            return (Kind::Message, Action::Send);
        };
        self.reactions += 1;
        if self.reactions.is_multiple_of(2)
            && let Some((of, seq)) = self.undoable.pop_front()
        {
            return (Kind::Unreact { of }, Action::Unreact { seq });
        }
        (Kind::React, Action::React { seq: newest })
    }

    /// Operation `n`, a `kind` on `action`, was acked, with `seq` if it was a
    /// stored message.
    fn acked(&mut self, n: u64, kind: Kind, action: Action, seq: Option<u64>) {
        match (kind, action, seq) {
            (Kind::Message, _, Some(seq)) => {
                self.newest = Some(self.newest.map_or(seq, |s| s.max(seq)));
            }
            (Kind::React, Action::React { seq }, _) => self.undoable.push_back((n, seq)),
            _ => {}
        }
    }
}

/// Operation number, what it was, when it was due, its reference time, the reply.
type Reply = (u64, Action, Instant, Instant, Result<Option<u64>, String>);

async fn fire<O: Outlet>(outlet: &O, draft: Draft, due: Instant, sent: Instant) -> Reply {
    let (n, action) = (draft.n, draft.action);
    (n, action, due, sent, outlet.send(draft).await)
}

/// Runs the schedule of `plan` on `outlet`, then waits for the outstanding
/// replies. `acks` gets each message's send→ack latency, `lag` how late each
/// operation went out after it was due (timer granularity, a busy bench,
/// `max_in_flight`).
pub async fn run<O: Outlet>(
    outlet: Arc<O>,
    plan: Plan,
    mut acks: Recorder,
    mut lag: Recorder,
) -> Outcome {
    let offered = plan.offered();
    let mut out = Outcome {
        status: Vec::with_capacity(offered as usize),
        ..Outcome::default()
    };
    let mut mix = Mix::new(plan.react_ratio);
    let stop_at = plan.start + plan.end + LATE_GRACE;
    let mut in_flight = FuturesUnordered::new();
    let mut record = |(n, action, due, sent, result): Reply, out: &mut Outcome, mix: &mut Mix| {
        let now = Instant::now();
        let kind = out.kind(n as usize);
        match result {
            Ok(seq) => {
                out.status[n as usize] = Status::Acked;
                mix.acked(n, kind, action, seq);
                let latency = now.saturating_duration_since(sent);
                let at = now.saturating_duration_since(plan.start);
                let in_window = at >= plan.window.0 && at < plan.window.1;
                let measured = due >= plan.start + plan.window.0;
                if kind.is_reaction() {
                    if measured {
                        out.reaction_acks.push(latency);
                    }
                    out.reactions_acked_in_window += u64::from(in_window);
                } else {
                    if measured {
                        acks.record(latency);
                    }
                    out.acked_in_window += u64::from(in_window);
                }
            }
            Err(code) => {
                out.status[n as usize] = Status::Failed;
                let errors = if kind.is_reaction() {
                    &mut out.reaction_errors
                } else {
                    &mut out.errors
                };
                *errors.entry(code).or_default() += 1;
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
                Some(reply) = in_flight.next(), if !in_flight.is_empty() => record(reply, &mut out, &mut mix),
                () = tokio::time::sleep_until(wake), if in_flight.len() < plan.max_in_flight => break,
            }
        }
        let now = Instant::now();
        if now >= stop_at || outlet.is_closed() {
            break;
        }
        let sent = now.min(due);
        let (kind, action) = mix.next(n);
        let id = match kind {
            Kind::Message => format!("{}-{}-{n}", plan.run, plan.sender),
            Kind::React => ids::reaction_key(&plan.run, plan.sender, n),
            Kind::Unreact { of } => ids::reaction_key(&plan.run, plan.sender, of),
        };
        let draft = Draft {
            n,
            id,
            action,
            meta: sent
                .saturating_duration_since(plan.start)
                .as_micros()
                .to_string(),
            text: plan.text.clone(),
        };
        out.status.push(Status::InFlight);
        out.kinds.push(kind);
        out.sent_at.push(sent.saturating_duration_since(plan.start));
        if due >= plan.start + plan.window.0 {
            lag.record(now.saturating_duration_since(due));
        }
        in_flight.push(fire(&*outlet, draft, due, sent));
    }
    while let Some(reply) = in_flight.next().await {
        record(reply, &mut out, &mut mix);
    }
    if outlet.is_closed() {
        out.disconnected = Some(outlet.ended().unwrap_or_else(|| "closed".to_owned()));
    }
    out.status.resize(offered as usize, Status::Unsent);
    out.kinds.resize(offered as usize, Kind::Message);
    out.sent_at.resize(offered as usize, Duration::ZERO);
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
            react_ratio: 0.0,
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

    #[test]
    fn a_mix_reacts_to_the_newest_acked_message_and_takes_every_second_back() {
        let mut mix = Mix::new(0.5);
        // Nothing acked yet: a reaction's turn is a message.
        assert_eq!(mix.next(0), (Kind::Message, Action::Send));
        assert_eq!(mix.next(1), (Kind::Message, Action::Send));
        mix.acked(0, Kind::Message, Action::Send, Some(4));
        mix.acked(1, Kind::Message, Action::Send, Some(6));
        let kinds: Vec<_> = (2..8).map(|n| mix.next(n)).collect();
        assert_eq!(kinds[0], (Kind::Message, Action::Send));
        assert_eq!(kinds[1], (Kind::React, Action::React { seq: 6 }));
        // The react 3 is not acked yet: nothing to take back, so another react.
        assert_eq!(kinds[3], (Kind::React, Action::React { seq: 6 }));
        assert_eq!(kinds[5], (Kind::React, Action::React { seq: 6 }));
        mix.acked(3, Kind::React, Action::React { seq: 6 }, None);
        assert_eq!(
            mix.next(9),
            (Kind::Unreact { of: 3 }, Action::Unreact { seq: 6 })
        );
        assert_eq!(mix.next(11), (Kind::React, Action::React { seq: 6 }));
        // Acked messages move the target on.
        mix.acked(10, Kind::Message, Action::Send, Some(9));
        assert_eq!(mix.next(13), (Kind::React, Action::React { seq: 9 }));
        // Half of the operations were reactions' turns.
        let turns = (0..1000)
            .filter(|n| Mix::new(0.2).reactions_turn(*n))
            .count();
        assert_eq!(turns, 200);
        assert!((0..10).all(|n| !Mix::new(0.0).reactions_turn(n)));
    }
}
