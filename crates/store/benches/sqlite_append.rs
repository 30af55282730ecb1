//! Seq assignment and group commit on the SQLite store, as `send` uses them: an
//! append returns once its transaction is durable (the sync thread's
//! `fdatasync` of the WAL, one covering every commit written since the last),
//! and the writer thread commits whatever queued meanwhile in one transaction.
//!
//! - `sequential`: one append at a time, awaited: the latency of one commit.
//! - `concurrent/<spread>/<n>`: `n` appends in flight at once, over 512 direct
//!   conversations (`many_convs`) or all to one (`one_conv`, every append bumps
//!   the same seq counter); throughput in appends per second.
//!
//! Each benchmark gets a fresh database in a temporary directory, with its users
//! and conversations created beforehand, and reports how many appends shared a
//! commit.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use koi_core::{ConvId, UserId};
use koi_store::sqlite::{SqliteStore, WriterStats};
use koi_store::{NewMessage, NewUser, Store};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// How many direct conversations the sender has; appends spread over them.
const CONVS: usize = 512;

/// A 100-byte text: the size of a typical chat line.
const TEXT: &str = "Are we still on for lunch tomorrow? I booked the place near the station, \
                    12:30 if that works, right?";

/// Makes every `client_msg_id` unique, so each append is stored, never a repeat.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A store with one sender and `CONVS` conversations that already hold a message.
struct Fixture {
    // The store first: it closes the database before the directory is removed.
    store: Arc<SqliteStore>,
    convs: Vec<ConvId>,
    _dir: TempDir,
}

impl Fixture {
    fn open(runtime: &Runtime) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("koi.db")).expect("open"));
        let sender = user("alice");
        let peers: Vec<UserId> = (0..CONVS).map(|i| user(&format!("u{i:04}"))).collect();
        let convs: Vec<ConvId> = peers.iter().map(|p| ConvId::direct(&sender, p)).collect();
        runtime.block_on(async {
            all(std::iter::once(sender).chain(peers).map(|name| {
                let store = store.clone();
                async move {
                    let user = NewUser {
                        password_hash: format!("hash-{name}"),
                        name,
                        display_name: None,
                    };
                    store.create_user(user).await.expect("create_user");
                }
            }))
            .await;
            all(convs.iter().map(|conv| append(&store, conv))).await;
        });
        Fixture {
            store,
            convs,
            _dir: dir,
        }
    }

    /// Prints how the appends since `before` were grouped into commits.
    fn report(&self, name: &str, before: WriterStats) {
        let after = self.store.stats();
        let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
        if commits > 0 {
            let per_commit = jobs as f64 / commits as f64;
            println!("{name}: {jobs} appends in {commits} commits ({per_commit:.1} per commit)");
        }
    }
}

fn user(name: &str) -> UserId {
    UserId::parse(name).expect("valid user name")
}

/// Appends one text from alice to `conv`, as `send` does.
fn append(store: &Arc<SqliteStore>, conv: &ConvId) -> impl Future<Output = ()> + use<> {
    let message = NewMessage {
        conv: conv.clone(),
        from: "alice".into(),
        kind: "text".into(),
        text: Some(TEXT.into()),
        file: None,
        meta: None,
        client_msg_id: format!("c{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
        origin: Some(1),
        extra: Default::default(),
    };
    let store = store.clone();
    async move {
        let appended = store.append(message).await.expect("append");
        assert!(!appended.duplicate);
    }
}

/// Runs `tasks` concurrently, each on its own task as connections do.
async fn all(tasks: impl IntoIterator<Item = impl Future<Output = ()> + Send + 'static>) {
    let mut set: JoinSet<()> = tasks.into_iter().collect();
    while let Some(done) = set.join_next().await {
        done.expect("append task");
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn sequential(c: &mut Criterion) {
    let runtime = runtime();
    let fixture = Fixture::open(&runtime);
    let before = fixture.store.stats();
    let mut group = c.benchmark_group("sqlite_append");
    group.throughput(Throughput::Elements(1));
    let mut round = fixture.convs.iter().cycle();
    group.bench_function("sequential", |b| {
        b.iter(|| runtime.block_on(append(&fixture.store, round.next().expect("cycles"))))
    });
    group.finish();
    fixture.report("sqlite_append/sequential", before);
}

fn concurrent(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("sqlite_append/concurrent");
    group.sample_size(20);
    for n in [64, 512] {
        for (spread, convs) in [("many_convs", CONVS), ("one_conv", 1)] {
            let fixture = Fixture::open(&runtime);
            let before = fixture.store.stats();
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new(spread, n), |b| {
                b.iter(|| {
                    let targets = fixture.convs.iter().take(convs).cycle().take(n);
                    runtime.block_on(all(targets.map(|conv| append(&fixture.store, conv))))
                })
            });
            fixture.report(&format!("sqlite_append/concurrent/{spread}/{n}"), before);
        }
    }
    group.finish();
}

criterion_group!(benches, sequential, concurrent);
criterion_main!(benches);
