//! `koi chat` in a real terminal: tmux runs it at 120×40 against a real
//! `koi serve`; the test types with `send-keys` and reads the screen with
//! `capture-pane`, while the other users talk through the client library.
//!
//! Needs `tmux` (scripts/test installs it when missing).

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

#[allow(dead_code)] // the node only: the bench helpers are not used here
mod bench_harness;

use std::process::{Command, Output};
use std::time::Duration;

use bench_harness::Node;
use koi_client::proto::Message;
use koi_client::{Api, Client, Credentials, Http, Transport};

const PASSWORD: &str = "secret-pass-1";
/// How long the screen (or a client) may take to show what is awaited.
const WAIT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(50);

/// One tmux server of its own (`-L`), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a detached 120×40 session; fails clearly without tmux.
    fn start(command: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "this test drives `koi chat` in tmux, which is not installed \
             (apt-get install tmux; scripts/test installs it)"
        );
        let tmux = Tmux {
            socket: format!("koi-chat-test-{}", std::process::id()),
        };
        // The pane stays after the chat exits, to read how it ended.
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "chat",
            "-x",
            "120",
            "-y",
            "40",
            command,
            ";",
            "set-option",
            "-t",
            "chat",
            "remain-on-exit",
            "on",
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Presses keys (tmux names: `Enter`, `Tab`, `C-l`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types `text` and presses Enter.
    fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "chat", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// The screen, as text.
    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "chat"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `#{name}` of the pane.
    fn pane(&self, name: &str) -> String {
        let format = format!("#{{{name}}}");
        let out = self.run(&["display-message", "-p", "-t", "chat", &format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Reads the screen until `shown` holds (at most [`WAIT`]); the screen.
    async fn wait_for(&self, what: &str, shown: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if shown(&screen) {
                return screen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not on the screen within {WAIT:?}:\n{screen}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

async fn connect(node: &Node, user: &str) -> Client {
    let http = Http::new(&node.http).unwrap();
    Client::connect(
        http,
        Credentials::password(user, PASSWORD),
        Transport::WsJson,
    )
    .await
    .unwrap()
}

/// The next message `client` receives.
async fn next_msg(client: &Client) -> Message {
    let wait = async {
        loop {
            if let Some(m) = client.next_event().await.expect("events").msg() {
                return m.clone();
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("a message in time")
}

/// Alice's screen lists her conversations with unread counts, refuses an
/// unknown user, opens one by `/to` and one by group name, sends (marked ✓,
/// then ✓✓ once read), receives live, switches with Tab, counts a message to
/// another conversation as unread, lists a group's members, and `/quit`
/// restores the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_in_a_terminal() {
    let node = Node::start(&[]);
    let http = Http::new(&node.http).unwrap();
    for user in ["alice", "bob", "carol"] {
        http.register(user, PASSWORD).await.unwrap();
    }
    let bob = connect(&node, "bob").await;
    let carol = connect(&node, "carol").await;
    let team = bob.group_create("team", ["alice"], false).await.unwrap();
    carol
        .send_text("alice", "c1", "hi from carol")
        .await
        .unwrap();
    bob.send_text("alice", "b1", "first from bob")
        .await
        .unwrap();

    let tmux = Tmux::start(&format!(
        "env KOI_LOG=off {} chat --url {} --user alice --password {PASSWORD}",
        env!("CARGO_BIN_EXE_koi"),
        node.http
    ));
    tmux.wait_for("the list with unread counts", |s| {
        s.contains("bob (1)") && s.contains("carol (1)") && s.contains("#team")
    })
    .await;

    tmux.line("/to nobody");
    let screen = tmux
        .wait_for("the unknown user refused", |s| {
            s.contains("no user named nobody")
        })
        .await;
    assert!(!screen.contains("to nobody ›"), "no switch:\n{screen}");

    tmux.line("/to bob");
    let screen = tmux
        .wait_for("the conversation with bob", |s| {
            s.contains("to bob ›") && s.contains("bob: first from bob")
        })
        .await;
    assert!(!screen.contains("d:alice:bob"), "no raw ids:\n{screen}");
    tmux.wait_for("bob's message read", |s| !s.contains("bob (1)"))
        .await;

    tmux.line("hello bob");
    let got = next_msg(&bob).await;
    assert_eq!(
        (got.from.as_str(), got.text.as_deref()),
        ("alice", Some("hello bob"))
    );
    tmux.wait_for("the sent mark", |s| s.contains("alice: hello bob ✓"))
        .await;
    bob.read(&got.conv, got.seq).await.unwrap();
    tmux.wait_for("the read mark", |s| s.contains("alice: hello bob ✓✓"))
        .await;
    bob.send_text("alice", "b2", "live from bob").await.unwrap();
    tmux.wait_for("bob's live message", |s| s.contains("bob: live from bob"))
        .await;

    // Tab walks the list until carol's conversation is open.
    for _ in 0..3 {
        tmux.keys(&["Tab"]);
        let screen = tmux
            .wait_for("another conversation", |s| !s.contains("to bob ›"))
            .await;
        if screen.contains("to carol ›") {
            break;
        }
    }
    tmux.wait_for("carol's conversation", |s| {
        s.contains("to carol ›") && s.contains("carol: hi from carol")
    })
    .await;
    bob.send_text("alice", "b3", "while you were away")
        .await
        .unwrap();
    tmux.wait_for("an unread count for bob", |s| s.contains("bob (1)"))
        .await;

    tmux.line("/group team");
    tmux.wait_for("the group by name", |s| s.contains("#team ›"))
        .await;
    tmux.line("hi team");
    let got = next_msg(&bob).await;
    assert_eq!(got.conv, format!("g:{}", team.id));
    assert_eq!(got.text.as_deref(), Some("hi team"));

    tmux.line("/group info");
    tmux.wait_for("the group's members", |s| {
        s.contains("bob (owner)") && s.contains("alice (member)")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the panel closed", |s| s.contains("alice: hi team"))
        .await;

    tmux.keys(&["C-l"]);
    tmux.wait_for("a redrawn screen", |s| s.contains("#team ›"))
        .await;
    tmux.line("/quit");
    tmux.wait_for("the chat gone", |s| !s.contains("koi · alice"))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while tmux.pane("pane_dead") != "1" {
        assert!(tokio::time::Instant::now() < deadline, "koi chat exits");
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(tmux.pane("pane_dead_status"), "0", "koi chat exits with 0");
}
