//! The command-line clients: `koi send`, `koi tail` and `koi chat`, on the
//! client library (`koi-client`) over WebSocket + JSON.

pub mod chat;
pub mod send;
pub mod tail;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use koi_client::proto::Message;
use koi_client::{Client, ClientOptions, Credentials, Http, Transport, Trust};

/// Who to log in as, and where.
#[derive(clap::Args, Debug, Clone)]
pub struct Login {
    /// The node's HTTP address; `https://` for a node serving TLS.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    pub url: String,
    /// A PEM file of certificates to trust beside the system's: the node's own
    /// (self-signed) certificate or its private CA's.
    #[arg(long, env = "KOI_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// The username.
    #[arg(long, short)]
    pub user: String,
    /// The password.
    #[arg(long, env = "KOI_PASSWORD", hide_env_values = true)]
    pub password: String,
}

impl Login {
    /// Logs in, dispatches and connects (over `wss://` when the node serves
    /// TLS); the client reconnects by itself.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let trust = match &self.ca_file {
            Some(path) => Trust::with_ca_file(path)?,
            None => Trust::system(),
        };
        let http = Http::with_trust(&self.url, &trust)?;
        let mut options = ClientOptions::new(Transport::WsJson);
        options.connection.trust = trust;
        Client::connect_with(
            http,
            Credentials::password(&self.user, &self.password),
            options,
        )
        .await
        .with_context(|| format!("connecting to {} as {}", self.url, self.user))
    }
}

/// A fresh idempotency key for `send`.
pub fn client_msg_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("cli-{}-{nanos:x}", std::process::id())
}

/// The direct conversation of two users.
pub fn direct_conv(a: &str, b: &str) -> String {
    if a < b {
        format!("d:{a}:{b}")
    } else {
        format!("d:{b}:{a}")
    }
}

/// What a message says, on one line: its text, or a description of its file.
pub fn body(m: &Message) -> String {
    let text = m.text.as_deref().unwrap_or("");
    let mut out = match (m.kind.as_str(), &m.file) {
        ("recalled", _) => "[recalled]".to_owned(),
        (kind, Some(file)) => format!(
            "[{kind} {} ({} bytes, {})]",
            file.name, file.size, file.file_id
        ),
        _ => text.to_owned(),
    };
    if m.file.is_some() && !text.is_empty() {
        out = format!("{out} {text}");
    }
    out.replace('\n', "\n    ")
}

/// `conv#seq from: text`.
pub fn line(m: &Message) -> String {
    format!("{}#{} {}: {}", m.conv, m.seq, m.from, body(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_conversation_the_seq_and_the_sender() {
        let mut m = Message {
            conv: "d:alice:bob".into(),
            seq: 7,
            from: "alice".into(),
            kind: "text".into(),
            text: Some("hi\nthere".into()),
            ..Default::default()
        };
        assert_eq!(line(&m), "d:alice:bob#7 alice: hi\n    there");
        m.kind = "image".into();
        m.text = None;
        m.file = Some(koi_client::proto::File {
            file_id: "f1".into(),
            name: "a.png".into(),
            size: 3,
            mime: "image/png".into(),
        });
        assert_eq!(line(&m), "d:alice:bob#7 alice: [image a.png (3 bytes, f1)]");
        assert_eq!(direct_conv("bob", "alice"), "d:alice:bob");
    }
}
