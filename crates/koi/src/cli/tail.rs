//! `koi tail`: prints each incoming message as it arrives.

use std::io::Write;

use koi_client::Event;
use koi_client::proto::frame::Op;

use super::Login;

/// Prints each incoming message, as `conv#seq from: text` or as JSON lines.
///
/// Says `connected as USER` on stderr once it receives pushes.
#[derive(clap::Args, Debug)]
pub struct TailArgs {
    #[command(flatten)]
    login: Login,
    /// Exit after this many messages.
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// One JSON object per message (the protocol's message), one per line.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let client = args.login.connect().await?;
    let mut seen = 0u64;
    let mut stdout = std::io::stdout();
    while args.count.is_none_or(|n| seen < n) {
        let Some(event) = client.next_event().await else {
            break;
        };
        match event {
            Event::Connected {
                auth, reconnect, ..
            } => {
                let again = if reconnect { "re" } else { "" };
                eprintln!("{again}connected as {}", auth.user);
            }
            Event::Disconnected {
                reason,
                reconnecting,
            } => {
                eprintln!("disconnected: {reason}");
                if !reconnecting {
                    anyhow::bail!("disconnected for good: {reason}");
                }
            }
            Event::Push(Op::Msg(m)) => {
                if args.json {
                    writeln!(stdout, "{}", serde_json::to_string(&m)?)?;
                } else {
                    writeln!(stdout, "{}", super::line(&m))?;
                }
                stdout.flush()?;
                seen += 1;
            }
            Event::Push(Op::Kicked(k)) => eprintln!("kicked: {}", k.reason),
            Event::Push(_) => {}
        }
    }
    client.close().await;
    Ok(())
}
