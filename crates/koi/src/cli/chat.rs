//! `koi chat`: an interactive terminal chat. Lines typed go to the chosen peer
//! or group; pushes are printed as they come.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use koi_client::proto::frame::Op;
use koi_client::{Api, Client, Event};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Login, direct_conv, line};

const HELP: &str = "\
commands:
  /to USER                         talk to USER
  /conv CONV                       talk in a conversation (g:ID, d:A:B)
  /group create NAME [MEMBERS...]  create a group and talk in it
  /group join ID                   join a public group and talk in it
  /group leave ID                  leave a group
  /group info [ID]                 a group's members
  /history [N]                     the last N (default 20) messages here
  /file PATH                       send a file (images are shown as images)
  /list                            your conversations, with unread counts
  /sessions                        your logged-in devices (sessions)
  /sessions end ID                 log that device out
  /logout [all]                    log out (all: every device) and leave
  /help                            this text
  /quit                            leave (or Ctrl-D)
any other line is sent as a message.";

/// Chat interactively: `/to USER` or a `/group` command picks where lines go.
#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    login: Login,
}

/// Where typed lines go.
enum Target {
    User(String),
    Conv(String),
}

impl Target {
    fn conv(&self, me: &str) -> String {
        match self {
            Target::User(user) => direct_conv(me, user),
            Target::Conv(conv) => conv.clone(),
        }
    }

    fn send(&self, kind: &str) -> koi_client::proto::Send {
        let (to, conv) = match self {
            Target::User(user) => (Some(user.clone()), None),
            Target::Conv(conv) => (None, Some(conv.clone())),
        };
        koi_client::proto::Send {
            to,
            conv,
            client_msg_id: super::client_msg_id(),
            kind: kind.into(),
            text: None,
            file: None,
            meta: None,
            ..koi_client::proto::Send::default()
        }
    }
}

pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let client = Arc::new(args.login.connect().await?);
    let me = client.user().to_owned();
    println!("connected as {me}: /to USER or /group ... to choose where to write, /help for more");
    let printer = tokio::spawn(print_events(client.clone()));
    let mut target: Option<Target> = None;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(input) = lines.next_line().await? {
        let input = input.trim();
        if input.is_empty() {
            continue;
        }
        let result = if let Some(command) = input.strip_prefix('/') {
            match command.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["quit" | "exit" | "q"] => break,
                ["logout", rest @ ..] => match client.http().logout(rest == ["all"]).await {
                    Ok(()) => {
                        println!("logged out");
                        break;
                    }
                    Err(e) => Err(e.into()),
                },
                words => command_line(&client, &me, &mut target, words).await,
            }
        } else {
            match &target {
                Some(t) => {
                    let mut send = t.send("text");
                    send.text = Some(input.to_owned());
                    send_and_read(&client, send).await.map(drop)
                }
                None => Err(anyhow::anyhow!("choose someone first: /to USER (or /help)")),
            }
        };
        if let Err(e) = result {
            eprintln!("! {e:#}");
        }
    }
    printer.abort();
    client.close().await;
    Ok(())
}

async fn command_line(
    client: &Client,
    me: &str,
    target: &mut Option<Target>,
    words: &[&str],
) -> anyhow::Result<()> {
    let here = || {
        target
            .as_ref()
            .map(|t| t.conv(me))
            .ok_or_else(|| anyhow::anyhow!("choose someone first: /to USER"))
    };
    match words {
        ["help" | "h"] => println!("{HELP}"),
        ["to", user] => {
            *target = Some(Target::User((*user).to_owned()));
            println!("talking to {user} ({})", direct_conv(me, user));
        }
        ["conv", conv] => {
            *target = Some(Target::Conv((*conv).to_owned()));
            println!("talking in {conv}");
        }
        ["group", "create", name, members @ ..] => {
            let group = client
                .group_create(name, members.iter().copied(), false)
                .await?;
            println!(
                "created group {} (id {}, conv g:{}, {} members)",
                group.name, group.id, group.id, group.size
            );
            *target = Some(Target::Conv(format!("g:{}", group.id)));
        }
        ["group", "join", id] => {
            let id = id.trim_start_matches("g:");
            client.group_join(id).await?;
            println!("joined g:{id}");
            *target = Some(Target::Conv(format!("g:{id}")));
        }
        ["group", "leave", id] => {
            let id = id.trim_start_matches("g:");
            client.group_leave(id).await?;
            println!("left g:{id}");
            if target
                .as_ref()
                .is_some_and(|t| t.conv(me) == format!("g:{id}"))
            {
                *target = None;
            }
        }
        ["group", "info", rest @ ..] => {
            let id = match rest {
                [id] => id.trim_start_matches("g:").to_owned(),
                _ => here()?
                    .strip_prefix("g:")
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow::anyhow!("not in a group: /group info ID"))?,
            };
            let info = client.group_info(&id).await?;
            if let Some(g) = info.group {
                println!(
                    "{} (g:{}, owner {}, {} members)",
                    g.name, g.id, g.owner, g.size
                );
            }
            for m in info.members {
                println!("  {} ({})", m.user, m.role);
            }
        }
        ["history", rest @ ..] => {
            let n = match rest {
                [] => 20,
                [n] => n.parse().context("/history N: N is a number")?,
                _ => anyhow::bail!("/history [N]"),
            };
            for m in client.history(&here()?, None, None, Some(n)).await? {
                println!("{}", line(&m));
            }
        }
        ["file", ..] => {
            let path = words[1..].join(" ");
            let conv_target = target
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("choose someone first: /to USER"))?;
            let bytes = tokio::fs::read(&path)
                .await
                .with_context(|| format!("reading {path}"))?;
            let name = Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            let mime = mime_of(&name);
            let info = client.http().upload_file(&name, mime, bytes).await?;
            let kind = match mime {
                "image/gif" => "gif",
                m if m.starts_with("image/") => "image",
                _ => "file",
            };
            let mut send = conv_target.send(kind);
            send.file = Some(info.to_file());
            let ok = send_and_read(client, send).await?;
            println!(
                "sent {name} ({} bytes) as {}#{}",
                info.size, ok.conv, ok.seq
            );
        }
        ["list"] => {
            for c in client.sync().await? {
                let name = c.peer.or(c.name).unwrap_or_default();
                let unread = c.last_seq.saturating_sub(c.read_seq);
                println!(
                    "  {} {name} ({} messages, {unread} unread)",
                    c.conv, c.last_seq
                );
            }
        }
        ["sessions"] => {
            for s in client.http().sessions().await? {
                let current = if s.current { " (this one)" } else { "" };
                println!(
                    "  {} since {} last used {} {:?}{current}",
                    s.id, s.created_at, s.last_used_at, s.user_agent
                );
            }
        }
        ["sessions", "end", id] => {
            client.http().end_session(id).await?;
            println!("session {id} logged out");
        }
        _ => anyhow::bail!("unknown command: /{} (try /help)", words.join(" ")),
    }
    Ok(())
}

/// Sends, then moves the read cursor past the message: what one writes is read.
async fn send_and_read(
    client: &Client,
    send: koi_client::proto::Send,
) -> anyhow::Result<koi_client::proto::SendOk> {
    let ok = client.send(send).await?;
    client.read(&ok.conv, ok.seq).await?;
    Ok(ok)
}

/// Prints pushes until the client closes; a message printed counts as read.
async fn print_events(client: Arc<Client>) {
    let me = client.user().to_owned();
    while let Some(event) = client.next_event().await {
        match event {
            Event::Push(Op::Msg(m)) => {
                println!("{}", line(&m));
                let client = client.clone();
                tokio::spawn(async move { client.read(&m.conv, m.seq).await });
            }
            Event::Push(Op::Recalled(r)) => println!("{}#{} recalled by {}", r.conv, r.seq, r.by),
            Event::Push(Op::Receipt(r)) if r.user != me => {
                println!("{} read by {} up to #{}", r.conv, r.user, r.seq)
            }
            Event::Push(Op::Presence(p)) => {
                if let (Some(user), Some(online)) = (p.user, p.online) {
                    println!("{user} is {}", if online { "online" } else { "offline" });
                }
            }
            Event::Push(Op::Kicked(k)) => println!("kicked by the server: {}", k.reason),
            Event::Disconnected {
                reason,
                reconnecting,
            } => {
                let next = if reconnecting {
                    "reconnecting"
                } else {
                    "/quit to leave"
                };
                println!("disconnected ({reason}); {next}");
            }
            Event::Connected {
                reconnect: true, ..
            } => println!("reconnected"),
            Event::Push(_) | Event::Connected { .. } => {}
        }
    }
}

/// The content type of a file name, by its extension.
fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("txt" | "md" | "log") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}
