//! `koi`: the server, its load generator (`koi bench`, from the koi-bench
//! crate) and its command-line clients.

mod cli;
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
#[allow(clippy::large_enum_variant)] // parsed once at start-up
enum Command {
    /// Run a node (all roles, embedded store, by default).
    Serve(koi_server::ServeArgs),
    /// Load generators: drive a running node and measure it.
    Bench(koi_bench::BenchArgs),
    /// Send one text message; prints `conv seq id`.
    Send(cli::send::SendArgs),
    /// Print incoming messages as they arrive (`conv#seq from: text`, or --json).
    Tail(cli::tail::TailArgs),
    /// Chat interactively in the terminal.
    Chat(cli::chat::ChatArgs),
}

/// Exit status for an error the user can act on (bad configuration, an
/// unreachable engine, a refused start); clap uses 2 for bad flags too.
const USER_ERROR: i32 = 2;

/// Runs the command; an error it returns is the user's to fix, so it is printed
/// as one line (`koi: <cause>: <cause>...`), without a backtrace even when
/// `RUST_BACKTRACE` is set. Bugs panic, and panics keep their backtraces.
fn main() {
    if let Err(e) = run() {
        let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
        eprintln!("koi: {}", chain.join(": ").replace('\n', " "));
        std::process::exit(USER_ERROR);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The bench opens a NATS client per user in `relay-baseline`: not a line each.
    let default_filter = match cli.command {
        Command::Bench(_) => "info,async_nats=warn",
        // Log lines would tear the full-screen interface apart.
        Command::Chat(_) => "off",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KOI_LOG")
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // The time zone can be read only while the process has one thread.
    let clock = cli::chat::Clock::local();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
        Command::Bench(args) => runtime.block_on(koi_bench::run(args)),
        Command::Send(args) => runtime.block_on(cli::send::run(args)),
        Command::Tail(args) => runtime.block_on(cli::tail::run(args)),
        Command::Chat(args) => runtime.block_on(cli::chat::run(args, clock)),
    }
}
