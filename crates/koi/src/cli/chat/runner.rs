//! Makes the requests the screen asks for and reports what came back on a
//! channel: the screen never waits for the network. Sends go one after the
//! other, in the order typed; everything else runs on a task of its own.

use std::path::Path;
use std::sync::Arc;

use koi_client::proto::Message;
use koi_client::{Api, Client, ClientError};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::clock::Clock;
use super::effect::{Effect, Outcome};
use super::upload::{kind_of, mime_of};

/// The page of history fetched at a time.
const PAGE: u32 = 50;

/// Runs effects against one client.
pub struct Runner {
    client: Arc<Client>,
    clock: Clock,
    outcomes: UnboundedSender<Outcome>,
    /// Sends, to the task that makes them in order.
    sends: UnboundedSender<Effect>,
}

impl Runner {
    pub fn new(client: Arc<Client>, clock: Clock, outcomes: UnboundedSender<Outcome>) -> Runner {
        let (sends, mut queue) = mpsc::unbounded_channel();
        let (c, o) = (client.clone(), outcomes.clone());
        tokio::spawn(async move {
            while let Some(effect) = queue.recv().await {
                report(&o, run(&c, effect, clock).await);
            }
        });
        Runner {
            client,
            clock,
            outcomes,
            sends,
        }
    }

    /// Starts `effect`; its outcome comes on the channel.
    pub fn start(&self, effect: Effect) {
        if matches!(effect, Effect::Send { .. } | Effect::File { .. }) {
            let _ = self.sends.send(effect);
            return;
        }
        let (client, outcomes, clock) = (self.client.clone(), self.outcomes.clone(), self.clock);
        tokio::spawn(async move { report(&outcomes, run(&client, effect, clock).await) });
    }
}

/// Passes an outcome on; a failure becomes a status line.
fn report(outcomes: &UnboundedSender<Outcome>, result: Result<Option<Outcome>, ClientError>) {
    let outcome = match result {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return,
        Err(e) => Outcome::Status(format!("! {}", describe(&e))),
    };
    let _ = outcomes.send(outcome);
}

/// The server's error code and message, or what went wrong.
fn describe(e: &ClientError) -> String {
    match e {
        ClientError::Server { code, message } => format!("{code}: {message}"),
        ClientError::Http {
            code: Some(code),
            message,
            ..
        } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

fn code(e: &ClientError) -> Option<&str> {
    match e {
        ClientError::Server { code, .. } => Some(code),
        ClientError::Http { code, .. } => code.as_deref(),
        _ => None,
    }
}

async fn run(
    client: &Client,
    effect: Effect,
    clock: Clock,
) -> Result<Option<Outcome>, ClientError> {
    let outcome = match effect {
        Effect::Sync => Outcome::Synced(client.sync().await?),
        Effect::History { conv, before } => Outcome::History {
            msgs: client.history(&conv, None, before, Some(PAGE)).await?,
            conv,
        },
        Effect::Read { conv, seq } => {
            client.read(&conv, seq).await?;
            return Ok(None);
        }
        Effect::Send {
            conv,
            to,
            client_msg_id,
            text,
            reply_to,
        } => {
            let send = koi_client::proto::Send {
                to,
                conv: None,
                client_msg_id: client_msg_id.clone(),
                kind: "text".to_owned(),
                text: Some(text),
                file: None,
                meta: None,
                reply_to,
                ..koi_client::proto::Send::default()
            };
            let send = in_conv(send, &conv);
            Outcome::Sent {
                conv,
                client_msg_id,
                result: stored(client, send)
                    .await
                    .map(Box::new)
                    .map_err(|e| describe(&e)),
            }
        }
        Effect::CheckUser(user) => {
            // `profiles` leaves out users who do not exist and flags deleted ones.
            match client.profiles([user.as_str()]).await {
                Ok(found) => match found.first() {
                    Some(p) if p.deleted_user == Some(true) => {
                        Outcome::Status(format!("{user} deleted their account: nothing changed"))
                    }
                    Some(_) => Outcome::UserExists(user),
                    None => Outcome::Status(format!("no user named {user}: nothing changed")),
                },
                Err(e) if code(&e) == Some("bad_request") => {
                    Outcome::Status(format!("{user} is not a valid user name: nothing changed"))
                }
                Err(e) => return Err(e),
            }
        }
        Effect::GroupCreate { name, members } => {
            let group = client.group_create(&name, members, false).await?;
            Outcome::Joined(format!("g:{}", group.id))
        }
        Effect::GroupJoin(id) => {
            let id = id.trim_start_matches("g:").to_owned();
            client.group_join(&id).await?;
            Outcome::Joined(format!("g:{id}"))
        }
        Effect::GroupLeave(conv) => {
            client.group_leave(conv.trim_start_matches("g:")).await?;
            Outcome::Left(conv)
        }
        Effect::GroupInfo(conv) => {
            let info = client.group_info(conv.trim_start_matches("g:")).await?;
            let mut lines = Vec::new();
            if let Some(g) = info.group {
                lines.push(format!(
                    "#{} (owner {}, {} members)",
                    g.name, g.owner, g.size
                ));
            }
            lines.extend(
                info.members
                    .into_iter()
                    .map(|m| format!("  {} ({})", m.user, m.role)),
            );
            Outcome::Panel(lines)
        }
        Effect::File { conv, to, path } => {
            let bytes = tokio::fs::read(&path).await.map_err(ClientError::Io)?;
            let name = Path::new(&path)
                .file_name()
                .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
            let mime = mime_of(&name);
            let info = client.http().upload_file(&name, mime, bytes).await?;
            let send = koi_client::proto::Send {
                to,
                conv: None,
                client_msg_id: crate::cli::client_msg_id(),
                kind: kind_of(mime).to_owned(),
                text: None,
                file: Some(info.to_file()),
                meta: None,
                ..koi_client::proto::Send::default()
            };
            let client_msg_id = send.client_msg_id.clone();
            Outcome::Sent {
                result: stored(client, in_conv(send, &conv))
                    .await
                    .map(Box::new)
                    .map_err(|e| describe(&e)),
                conv,
                client_msg_id,
            }
        }
        Effect::Edit { conv, seq, text } => {
            client.edit(&conv, seq, Some(&text), None).await?;
            Outcome::Edited { conv, seq, text }
        }
        Effect::React { conv, seq, emoji } => {
            client.react(&conv, seq, &emoji).await?;
            Outcome::Status(format!("{emoji} on #{seq}"))
        }
        Effect::Unreact { conv, seq, emoji } => {
            client.unreact(&conv, seq, &emoji).await?;
            Outcome::Status(format!("{emoji} taken back from #{seq}"))
        }
        Effect::ReadBy { conv, seq } => {
            let read = client.read_by(&conv, seq).await?;
            let mut lines = vec![format!("#{seq} read by {} (Esc closes):", read.count)];
            lines.extend(read.users.iter().map(|u| format!("  {u}")));
            if u64::from(read.count) > read.users.len() as u64 {
                lines.push(format!(
                    "  … and {} more",
                    u64::from(read.count) - read.users.len() as u64
                ));
            }
            Outcome::Panel(lines)
        }
        Effect::Typing(conv) => {
            client.typing(&conv).await?;
            return Ok(None);
        }
        Effect::Presence(users) => Outcome::Online {
            online: client.presence(users.iter().cloned()).await?,
            asked: users,
        },
        Effect::Search(q) => {
            let search = koi_client::proto::Search {
                q: q.clone(),
                ..Default::default()
            };
            let found = client.search(search).await?;
            let mut lines = vec![format!("{} found for \"{q}\" (Esc closes):", found.len())];
            lines.extend(found.iter().map(|m| {
                format!(
                    "  {} #{} {} {}: {}",
                    m.conv,
                    m.seq,
                    clock.hh_mm(m.ts),
                    m.from,
                    crate::cli::body(m)
                )
            }));
            Outcome::Panel(lines)
        }
        Effect::Sessions => {
            let mut lines = vec!["your sessions (/sessions end ID logs one out):".to_owned()];
            for s in client.http().sessions().await? {
                let current = if s.current { "(this one)" } else { "" };
                let mut line = format!(
                    "  {} since {} last used {}",
                    s.id,
                    clock.hh_mm(s.created_at),
                    clock.hh_mm(s.last_used_at)
                );
                for extra in [s.user_agent.as_str(), current] {
                    if !extra.trim().is_empty() {
                        line = format!("{line} {}", extra.trim());
                    }
                }
                lines.push(line);
            }
            Outcome::Panel(lines)
        }
        Effect::EndSession(id) => {
            client.http().end_session(&id).await?;
            Outcome::Status(format!("session {id} logged out"))
        }
        Effect::Logout { all } => {
            client.http().logout(all).await?;
            Outcome::LoggedOut { all }
        }
    };
    Ok(Some(outcome))
}

/// Direct messages go `to` the peer; others into `conv`.
fn in_conv(mut send: koi_client::proto::Send, conv: &str) -> koi_client::proto::Send {
    if send.to.is_none() {
        send.conv = Some(conv.to_owned());
    }
    send
}

/// Sends, and returns the message as stored.
async fn stored(client: &Client, send: koi_client::proto::Send) -> Result<Message, ClientError> {
    let ok = client.send(send.clone()).await?;
    Ok(Message {
        conv: ok.conv,
        seq: ok.seq,
        id: ok.id,
        from: client.user().to_owned(),
        kind: send.kind,
        text: send.text,
        file: send.file,
        meta: send.meta,
        ts: ok.ts,
        client_msg_id: send.client_msg_id,
        reply_to: send.reply_to,
        ..Message::default()
    })
}
