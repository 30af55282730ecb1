//! Recent messages: committed to the journal, not yet moved into `messages`.
//!
//! Readers see a message as soon as its commit is durable, wherever it is kept;
//! the same goes for its conversation's counters (`last_seq`, `last_ts`,
//! `activity`), which `convs` gets only when the message moves.
//! The writer publishes each commit here (new messages, recalls, and what it
//! moved into `messages`) after `COMMIT` returned and before anyone hears of it;
//! readers look here first and in SQLite second. Because a move is published only
//! after the commit that wrote the rows into `messages`, a reader that no longer
//! finds a message here is sure to find it in SQLite; one that finds it in both
//! keeps SQLite's copy.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use koi_core::ConvId;
use koi_proto::Message;

use super::sent_keys::SentKeys;

/// One journal row as the writer and readers keep it.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// The journal row.
    pub(super) n: i64,
    /// `convs.id` of its conversation.
    pub(super) conv_id: i64,
    /// The conversation's activity stamp from this message.
    pub(super) activity: i64,
    /// Shared by the writer's view, readers' and moves: copying a pending
    /// row copies no strings. A recall changes a copy of its own.
    pub(super) message: Arc<Message>,
}

#[cfg(test)]
impl Pending {
    /// Row `n`: a text from alice, `key` its client_msg_id, for tests.
    pub(super) fn sample(n: i64, conv: &str, seq: u64, key: &str) -> Self {
        Self {
            n,
            conv_id: 1,
            activity: n,
            message: Arc::new(Message {
                conv: conv.into(),
                seq,
                from: "alice".into(),
                kind: "text".into(),
                client_msg_id: key.into(),
                ..Message::default()
            }),
        }
    }
}

/// A conversation's counters as its newest message left them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Latest {
    /// The conversation's row in `convs`.
    pub(super) conv_id: i64,
    pub(super) seq: u64,
    pub(super) ts: u64,
    pub(super) activity: i64,
}

impl Latest {
    pub(super) fn of(pending: &Pending) -> Self {
        Self {
            conv_id: pending.conv_id,
            seq: pending.message.seq,
            ts: pending.message.ts,
            activity: pending.activity,
        }
    }
}

/// A conversation's pending messages: always its newest, a contiguous run of seqs,
/// since a move takes the oldest ones.
#[derive(Debug)]
struct ConvPending {
    messages: BTreeMap<u64, Pending>,
    /// When the oldest of them was published.
    since: Instant,
    /// How many of them make it due (drawn from [`Inner::crowd`]).
    crowd: usize,
}

#[derive(Debug, Default)]
struct Inner {
    convs: HashMap<String, ConvPending>,
    /// `(sender, client_msg_id)` → `(conv, seq)`, for non-empty ids.
    keys: SentKeys<(String, u64)>,
    len: usize,
    /// `(since, conv)` of every pending conversation, oldest first, plus stale
    /// entries of conversations that moved since (dropped when they reach the
    /// front). The front's first message is the lowest journal row pending.
    order: VecDeque<(Instant, String)>,
    /// Conversations with at least their crowd of pending messages.
    crowded: HashSet<String>,
    /// Where each conversation's crowd is drawn from, each time it starts
    /// having pending messages. Conversations that fill at the same pace
    /// would otherwise become due together, every time: a wave of moves
    /// every few seconds, in which commits wait behind twice their own
    /// work, then none (docs/benchmarks.md).
    crowd: Crowd,
    /// For each user, their pending direct and system conversations (whose
    /// names say whose they are), so that listing a user's conversations
    /// costs their own, not every pending one.
    by_user: HashMap<String, HashSet<String>>,
}

impl Inner {
    /// Whether `entry` of `order` still stands for a pending conversation.
    fn live(&self, (since, conv): &(Instant, String)) -> bool {
        self.convs.get(conv).is_some_and(|p| p.since == *since)
    }
}

/// What one commit changed, as [`Recent::publish`] applies it.
#[derive(Debug, Default)]
pub(super) struct Published {
    /// Moved into `messages`: each conversation's pending messages up to a seq.
    pub(super) moved: Vec<(String, u64)>,
    /// Pending messages recalled.
    pub(super) recalled: Vec<(String, u64)>,
    /// New messages, in commit order.
    pub(super) appended: Vec<Pending>,
}

/// A conversation due to be moved: its pending messages in seq order.
pub(super) struct Due {
    pub(super) conv: String,
    pub(super) messages: Vec<Pending>,
}

#[derive(Debug)]
pub(super) struct Recent(Mutex<Inner>);

impl Recent {
    /// An empty set, where a conversation is due once it has a number of
    /// pending messages drawn from `crowd` (at least 1).
    pub(super) fn new(crowd: RangeInclusive<usize>) -> Self {
        let low = (*crowd.start()).max(1);
        Self(Mutex::new(Inner {
            crowd: Crowd {
                low,
                high: (*crowd.end()).max(low),
            },
            ..Inner::default()
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many messages are pending.
    pub(super) fn len(&self) -> usize {
        self.lock().len
    }

    /// The pending messages of `conv` with `after < seq < before`, ascending.
    pub(super) fn range(&self, conv: &str, after: u64, before: u64) -> Vec<Message> {
        if after.saturating_add(1) >= before {
            return Vec::new();
        }
        let inner = self.lock();
        let Some(pending) = inner.convs.get(conv) else {
            return Vec::new();
        };
        pending
            .messages
            .range(after + 1..before)
            .map(|(_, p)| Message::clone(&p.message))
            .collect()
    }

    /// One pending message.
    pub(super) fn message(&self, conv: &str, seq: u64) -> Option<Message> {
        let inner = self.lock();
        let pending = inner.convs.get(conv)?.messages.get(&seq)?;
        Some(Message::clone(&pending.message))
    }

    /// The lowest pending seq of `conv` above `after`, and how many pending
    /// messages above `after` and at most `up_to` are not events (for §11's
    /// unread counts).
    pub(super) fn unread_after(&self, conv: &str, after: u64, up_to: u64) -> Option<(u64, u64)> {
        if up_to <= after {
            return None;
        }
        let inner = self.lock();
        let mut pending = inner
            .convs
            .get(conv)?
            .messages
            .range(after + 1..=up_to)
            .peekable();
        let first = *pending.peek()?.0;
        let count = pending.filter(|(_, p)| p.message.kind != "event").count();
        Some((first, count as u64))
    }

    /// The counters of `conv` as its newest pending message left them.
    pub(super) fn latest(&self, conv: &str) -> Option<Latest> {
        let inner = self.lock();
        let (_, newest) = inner.convs.get(conv)?.messages.last_key_value()?;
        Some(Latest::of(newest))
    }

    /// [`Recent::latest`] of each pending conversation of `user`: their direct
    /// and system ones, and those of `groups`.
    pub(super) fn latest_for(&self, user: &str, groups: &[String]) -> HashMap<String, Latest> {
        let inner = self.lock();
        let named = inner.by_user.get(user).into_iter().flatten();
        named
            .chain(groups)
            .filter_map(|conv| {
                let (_, newest) = inner.convs.get(conv)?.messages.last_key_value()?;
                Some((conv.clone(), Latest::of(newest)))
            })
            .collect()
    }

    /// Every pending message of `user`'s direct and system conversations and
    /// of `groups` (conversation names), for search to look through.
    pub(super) fn messages_for(&self, user: &str, groups: &[String]) -> Vec<Pending> {
        let inner = self.lock();
        let named = inner.by_user.get(user).into_iter().flatten();
        named
            .chain(groups)
            .filter_map(|conv| inner.convs.get(conv))
            .flat_map(|pending| pending.messages.values().cloned())
            .collect()
    }

    /// The journal row of a pending message.
    pub(super) fn row(&self, conv: &str, seq: u64) -> Option<i64> {
        let inner = self.lock();
        Some(inner.convs.get(conv)?.messages.get(&seq)?.n)
    }

    /// The pending message `from` sent with `client_msg_id` (never for an empty id).
    pub(super) fn by_key(&self, from: &str, client_msg_id: &str) -> Option<Message> {
        if client_msg_id.is_empty() {
            return None;
        }
        let inner = self.lock();
        let (conv, seq) = inner.keys.get(from, client_msg_id)?;
        let pending = inner.convs.get(conv)?.messages.get(seq)?;
        Some(Message::clone(&pending.message))
    }

    /// The conversations to move now: those with at least the crowd of pending
    /// messages, then those pending for `age`, oldest first, except `skip`,
    /// until `budget` messages are taken (a conversation is taken whole).
    pub(super) fn due(&self, age: Duration, budget: usize, skip: &[&str]) -> Vec<Due> {
        let inner = self.lock();
        let now = Instant::now();
        let old = inner
            .order
            .iter()
            .take_while(|(since, _)| now.duration_since(*since) >= age)
            .filter(|entry| inner.live(entry) && !inner.crowded.contains(&entry.1))
            .map(|(_, conv)| conv);
        let mut taken = 0;
        let mut due = Vec::new();
        let mut seen = HashSet::new();
        for conv in inner.crowded.iter().chain(old) {
            if taken >= budget {
                break;
            }
            if skip.contains(&conv.as_str()) || !seen.insert(conv) {
                continue;
            }
            let Some(pending) = inner.convs.get(conv) else {
                continue;
            };
            taken += pending.messages.len();
            due.push(Due {
                conv: conv.clone(),
                messages: pending.messages.values().cloned().collect(),
            });
        }
        due
    }

    /// The lowest journal row still pending, leaving out the conversations in
    /// `moving` (taken whole by a move); `None` when no other is pending.
    pub(super) fn lowest_row(&self, moving: &[Due]) -> Option<i64> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter(|entry| inner.live(entry) && !moving.iter().any(|d| d.conv == entry.1))
            .find_map(|(_, conv)| Some(inner.convs.get(conv)?.messages.values().next()?.n))
    }

    /// Applies a commit: first what it moved, then its recalls, then its new
    /// messages, all under one lock so readers see the commit whole.
    pub(super) fn publish(&self, commit: Published) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let now = Instant::now();
        for (conv, upto) in commit.moved {
            let Some(pending) = inner.convs.get_mut(&conv) else {
                continue;
            };
            let kept = pending.messages.split_off(&(upto + 1));
            let gone = std::mem::replace(&mut pending.messages, kept);
            inner.len -= gone.len();
            for p in gone.values() {
                if !p.message.client_msg_id.is_empty() {
                    inner.keys.remove(&p.message.from, &p.message.client_msg_id);
                }
            }
            if pending.messages.is_empty() {
                inner.convs.remove(&conv);
                unindex(&mut inner.by_user, &conv);
            } else {
                // What is left was published after what moved: young enough.
                pending.since = now;
                inner.order.push_back((now, conv.clone()));
            }
            if inner
                .convs
                .get(&conv)
                .is_none_or(|p| p.messages.len() < p.crowd)
            {
                inner.crowded.remove(&conv);
            }
        }
        for (conv, seq) in commit.recalled {
            if let Some(p) = inner
                .convs
                .get_mut(&conv)
                .and_then(|p| p.messages.get_mut(&seq))
            {
                recall(Arc::make_mut(&mut p.message));
            }
        }
        for p in commit.appended {
            let message = &p.message;
            if !message.client_msg_id.is_empty() {
                inner.keys.insert(
                    &message.from,
                    &message.client_msg_id,
                    (message.conv.clone(), message.seq),
                );
            }
            let conv = message.conv.clone();
            let pending = inner.convs.entry(conv.clone()).or_insert_with(|| {
                inner.order.push_back((now, conv.clone()));
                index(&mut inner.by_user, &conv);
                ConvPending {
                    messages: BTreeMap::new(),
                    since: now,
                    crowd: inner.crowd.draw(p.n),
                }
            });
            pending.messages.insert(p.message.seq, p);
            if pending.messages.len() >= pending.crowd {
                inner.crowded.insert(conv);
            }
            inner.len += 1;
        }
        while let Some(front) = inner.order.front() {
            if inner.live(front) {
                break;
            }
            inner.order.pop_front();
        }
    }
}

/// The range a conversation's crowd is drawn from.
#[derive(Debug, Default, Clone, Copy)]
struct Crowd {
    low: usize,
    high: usize,
}

impl Crowd {
    /// A number in the range, spread evenly by `seed` (a journal row:
    /// consecutive ones land far apart).
    fn draw(self, seed: i64) -> usize {
        let width = (self.high - self.low) as u64 + 1;
        let mixed = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        self.low + (mixed % width) as usize
    }
}

/// The users named in `conv` ([`ConvId::named_users`]); none for a name that
/// does not parse (the writer only stores ones that do).
fn named_users(conv: &str) -> Vec<String> {
    ConvId::parse(conv).map_or_else(
        |_| Vec::new(),
        |conv| conv.named_users().iter().map(ToString::to_string).collect(),
    )
}

fn index(by_user: &mut HashMap<String, HashSet<String>>, conv: &str) {
    for user in named_users(conv) {
        by_user.entry(user).or_default().insert(conv.to_owned());
    }
}

fn unindex(by_user: &mut HashMap<String, HashSet<String>>, conv: &str) {
    for user in named_users(conv) {
        if let Some(convs) = by_user.get_mut(&user) {
            convs.remove(conv);
            if convs.is_empty() {
                by_user.remove(&user);
            }
        }
    }
}

/// What a recall leaves of a message: its place, sender, time and key.
pub(super) fn recall(message: &mut Message) {
    message.kind = "recalled".into();
    message.text = None;
    message.file = None;
    message.meta = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(n: i64, conv: &str, seq: u64) -> Pending {
        Pending::sample(n, conv, seq, &format!("k{n}"))
    }

    fn publish(recent: &Recent, appended: Vec<Pending>, moved: Vec<(String, u64)>) {
        recent.publish(Published {
            moved,
            recalled: Vec::new(),
            appended,
        });
    }

    fn names(due: &[Due]) -> Vec<&str> {
        due.iter().map(|d| d.conv.as_str()).collect()
    }

    /// Crowded conversations are due at once, the others by age, oldest first,
    /// within the budget; a move takes them out of every index.
    #[test]
    fn due_by_crowd_then_by_age_within_the_budget() {
        let recent = Recent::new(3..=3);
        publish(
            &recent,
            vec![pending(1, "a", 1), pending(2, "b", 1)],
            vec![],
        );
        publish(
            &recent,
            vec![pending(3, "c", 1), pending(4, "c", 2), pending(5, "c", 3)],
            vec![],
        );
        let hour = Duration::from_secs(3600);
        assert_eq!(names(&recent.due(hour, 100, &[])), ["c"], "c is crowded");
        assert_eq!(
            names(&recent.due(Duration::ZERO, 100, &[])),
            ["c", "a", "b"]
        );
        assert_eq!(names(&recent.due(Duration::ZERO, 4, &[])), ["c", "a"]);
        assert_eq!(names(&recent.due(Duration::ZERO, 100, &["c", "a"])), ["b"]);
        assert_eq!(recent.lowest_row(&[]), Some(1));

        let moving = recent.due(Duration::ZERO, 4, &[]);
        assert_eq!(recent.lowest_row(&moving), Some(2), "b's row is next");
        publish(&recent, vec![], vec![("c".into(), 3), ("a".into(), 1)]);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent.by_key("alice", "k4"), None, "moved keys are gone");
        assert_eq!(recent.message("b", 1).map(|m| m.seq), Some(1));
        assert!(
            recent.due(hour, 100, &[]).is_empty(),
            "c is no longer crowded"
        );
        assert_eq!(names(&recent.due(Duration::ZERO, 100, &[])), ["b"]);

        // a comes back: younger than b.
        publish(&recent, vec![pending(6, "a", 2)], vec![]);
        assert_eq!(names(&recent.due(Duration::ZERO, 100, &[])), ["b", "a"]);
        assert_eq!(recent.lowest_row(&[]), Some(2));
        assert_eq!(
            recent.latest("a").map(|l| (l.seq, l.activity)),
            Some((2, 6))
        );
    }

    /// A user's pending conversations are found by their name (direct,
    /// system) or among the groups asked for, and forgotten once moved.
    #[test]
    fn latest_for_a_user_finds_their_conversations_only() {
        let recent = Recent::new(100..=100);
        let group = "g:01jd8x4k2m9q7r5t3v1w6y0zab";
        publish(
            &recent,
            vec![
                pending(1, "d:alice:bob", 1),
                pending(2, "d:bob:carol", 1),
                pending(3, "s:alice", 1),
                pending(4, group, 1),
                pending(5, "d:alice:bob", 2),
            ],
            vec![],
        );
        let sorted = |found: HashMap<String, Latest>| {
            let mut found: Vec<_> = found.into_iter().map(|(c, l)| (c, l.seq)).collect();
            found.sort();
            found
        };
        assert_eq!(
            sorted(recent.latest_for("alice", &[])),
            [("d:alice:bob".to_owned(), 2), ("s:alice".to_owned(), 1)]
        );
        assert_eq!(
            sorted(recent.latest_for("carol", &[group.to_owned()])),
            [("d:bob:carol".to_owned(), 1), (group.to_owned(), 1)]
        );
        publish(&recent, vec![], vec![("d:alice:bob".into(), 2)]);
        assert_eq!(
            sorted(recent.latest_for("alice", &[])),
            [("s:alice".to_owned(), 1)]
        );
        assert_eq!(
            sorted(recent.latest_for("bob", &[])),
            [("d:bob:carol".to_owned(), 1)]
        );
        assert!(recent.latest_for("dave", &[]).is_empty());
    }

    /// Conversations filled alike become due at different counts, each
    /// within the range.
    #[test]
    fn crowds_are_drawn_within_the_range() {
        let recent = Recent::new(2..=5);
        let convs: Vec<String> = (0..40).map(|i| format!("d:a{i}:b{i}")).collect();
        let mut due_at = HashMap::new();
        let mut n = 0;
        for count in 1..=5 {
            for conv in &convs {
                n += 1;
                publish(&recent, vec![pending(n, conv, count)], vec![]);
            }
            for due in recent.due(Duration::from_secs(3600), usize::MAX, &[]) {
                due_at.entry(due.conv).or_insert(count);
            }
        }
        assert_eq!(due_at.len(), convs.len(), "every one is due by 5");
        let counts: HashSet<u64> = due_at.values().copied().collect();
        assert!(counts.iter().all(|c| (2..=5).contains(c)), "{counts:?}");
        assert!(counts.len() >= 3, "spread: {counts:?}");
    }
}
