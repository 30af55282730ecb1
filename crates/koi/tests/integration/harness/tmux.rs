//! A terminal for interactive clients: a tmux server of the test's own
//! (`-S`, a socket in a temporary directory removed afterwards), one 120×40 session; keys in with `send-keys`, the screen out with
//! `capture-pane`, read until what is awaited shows or a deadline passes.

use std::process::{Command, Output};
use std::time::Duration;

/// How long the screen may take to show what is awaited.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
pub const POLL: Duration = Duration::from_millis(50);

/// One tmux server of its own, killed on drop.
pub struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a detached 120×40 session;
    /// fails clearly without tmux.
    pub fn start(command: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "this test drives `koi chat` in tmux, which is not installed \
             (apt-get install tmux; scripts/test installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let tmux = Tmux {
            socket: dir.path().join("tmux").to_string_lossy().into_owned(),
            _dir: dir,
        };
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
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "-f", "/dev/null"])
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
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types `text` and presses Enter.
    pub fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "chat", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// The screen, as text.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "chat"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Reads the screen until `shown` holds (at most [`WAIT`]); the screen.
    pub async fn wait_for(&self, what: &str, shown: impl Fn(&str) -> bool) -> String {
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
            .args(["-S", &self.socket, "kill-server"])
            .output();
    }
}
