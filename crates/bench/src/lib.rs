//! koi-bench, run as `koi bench`: load generators that drive a running node through the real
//! protocol and check what they measure (nothing acknowledged may be lost).
//!
//! - [`direct`]: sender → receiver pairs of direct messages, open loop.
//! - [`max`]: `direct`'s load in steps of increasing rate, up to the highest
//!   sustained one (`search`).
//! - [`baseline`]: the same load through the null relay (`relay`) and a bare
//!   NATS broker (`nats`), and a node as ratios to them.
//! - `link`: the seam between the load and its carrier (`node`: the Koi
//!   protocol; `nats`); `phase`: one load phase over connected pairs.
//! - [`group`]: one group of many members, some online, open-loop senders.
//! - [`connections`]: idle authenticated connections in steps, and the
//!   node's memory per connection.
//! - [`message_search`]: message search over a million stored messages,
//!   loaded with the embedded store itself.
//! - `provision`: users and tokens in bulk through the admin endpoints.
//! - `users`: registering and logging in the bench's users.
//! - `sender` / `receiver`: the two halves of a pair (`group` runs the same
//!   sender).
//! - `reactions`: reactions mixed into a load (`--react-ratio`), matched to
//!   their events.
//! - `tally`: matching deliveries to sends (lost, duplicated); `traffic`: a
//!   tally's counts, rates and latencies as the reports give them.
//! - `latency`: hdrhistogram recorders shared by many tasks.
//! - `header`: the fields every report opens with; `report`: `direct`'s table and JSON object; `measured`: what one phase
//!   measured; `figures`: one phase, and in one row; `table`: the layout the tables share; `output`: where a report
//!   goes, and the exit status of an incorrect run; `rounding`: the figures'
//!   precision.
//! - `transport`: the `--transport` flag.
//! - `cpu`: the bench's own CPU time; `nofile`: its descriptor limit;
//!   `ids`: run ids.

/// Progress lines go to stderr, so `--json` keeps stdout to the report.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("bench: {}", format_args!($($arg)*)) };
}

mod baseline;
mod connections;
mod cpu;
mod direct;
mod figures;
mod group;
mod header;
mod ids;
mod latency;
mod link;
mod max;
mod measured;
mod message_search;
mod nats;
mod node;
mod nofile;
mod output;
mod phase;
mod provision;
mod reactions;
mod receiver;
mod relay;
mod report;
mod rounding;
mod search;
mod sender;
mod table;
mod tally;
mod traffic;
mod transport;
mod users;

use clap::{Args, Subcommand};

/// `koi bench` options.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Direct messages between U/2 sender → receiver pairs at an offered rate
    /// (open loop); reports throughput, send→ack and send→delivery latency, and
    /// lost or duplicated messages (exit code 1 when any, unless --allow-loss).
    Direct(direct::DirectArgs),
    /// `direct`'s load in steps of increasing rate over the same connections,
    /// until a step falls behind (delivered < 99 % of offered, or p99
    /// send→delivery > 50 ms); reports every step and the highest sustained rate.
    Max(max::MaxArgs),
    /// The ceilings Koi is measured against, in one run: the same load through
    /// a null relay inside the bench (Koi's frames, nothing stored) and a bare
    /// nats-server, then through the node at --url, reported as ratios to both.
    RelayBaseline(baseline::BaselineArgs),
    /// One group of --members users, --online of them connected, --senders
    /// sending to it open loop; reports deliveries/s, send→delivery latency
    /// over every delivery, and lost or duplicated deliveries. Users and
    /// tokens come from the node's admin endpoints (--admin-token).
    Group(group::GroupArgs),
    /// Opens --connections idle authenticated WebSocket connections in
    /// --steps, from several loopback source addresses; reports the node's
    /// RSS per connection (--server-pid) and connections per second.
    Connections(connections::ConnectionsArgs),
    /// Serves the null relay (Koi's frames, nothing stored; what
    /// `relay-baseline` and `group --baseline` measure against) until SIGINT
    /// or SIGTERM; the first stdout line says where it listens.
    NullRelay(relay::NullRelayArgs),
    /// Message search (issue #22): loads --messages into an embedded store
    /// in --data with the store itself (once), then times --queries searches
    /// by random users; reports p50/p90/p99 latency and hits per query.
    Search(message_search::SearchBenchArgs),
}

/// Runs the chosen benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Direct(args) => direct::run(args).await,
        BenchCommand::Max(args) => max::run(args).await,
        BenchCommand::RelayBaseline(args) => baseline::run(args).await,
        BenchCommand::Group(args) => group::run(args).await,
        BenchCommand::Connections(args) => connections::run(args).await,
        BenchCommand::NullRelay(args) => relay::serve(args).await,
        BenchCommand::Search(args) => message_search::run(args).await,
    }
}
