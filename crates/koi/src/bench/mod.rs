//! `koi bench`: load generators that drive a running node through the real
//! protocol and check what they measure (nothing acknowledged may be lost).
//!
//! - [`direct`]: sender → receiver pairs of direct messages, open loop.
//! - `users`: registering and logging in the bench's users.
//! - `sender` / `receiver`: the two halves of a pair.
//! - `tally`: matching deliveries to sends (lost, duplicated).
//! - `latency`: hdrhistogram recorders shared by many tasks.
//! - `report`: the table and the JSON object.
//! - `cpu`: the bench's own CPU time.

mod cpu;
mod direct;
mod latency;
mod receiver;
mod report;
mod sender;
mod tally;
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
}

/// Runs the chosen benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Direct(args) => direct::run(args).await,
    }
}
