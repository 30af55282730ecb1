//! `koi`: the server, its load generator and its command-line clients.

mod serve;

use clap::{Parser, Subcommand};

/// Koi: a distributed, horizontally scalable instant-messaging server.
#[derive(Parser)]
#[command(name = "koi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node (all roles, embedded store, by default).
    Serve(koi_server::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KOI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
    }
}
