//! An ephemeral PostgreSQL server for tests (feature `testing`).
//!
//! [`PgServer::start`] makes a cluster in a temporary directory (`initdb`, user
//! `koi`, trust authentication), starts `postgres` on a free port of 127.0.0.1
//! with `fsync=on`, and waits until it accepts connections. The server can be
//! stopped, crashed and restarted on the same data directory and port; dropping
//! the handle always stops it and removes the directory.
//!
//! `initdb` is most of a start (about a second, where copying its result takes
//! a fifth of that), and test suites start many servers: it runs once into a
//! template cluster kept in the system's temporary directory, one per
//! PostgreSQL installation and user, and every server starts from a copy of it
//! (`$TMPDIR/koi-pg-template-*`: delete it to have it made again).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! let server = koi_store::testing::PgServer::start().await?;
//! let url = server.create_database("koi").await?;
//! let store = koi_store::postgres::PostgresStore::connect(&url).await;
//! # Ok(())
//! # }
//! ```
//!
//! PostgreSQL refuses to run as root. Run as root, the helper gives the
//! directory to the `postgres` user and runs `initdb` and `postgres` as that user
//! through `setpriv` (util-linux). `setpriv` also sets a parent-death signal, so
//! the server shuts down even when the test process is killed before it could
//! drop the handle.
//!
//! The binaries are looked up in `$KOI_PG_BIN`, then `PATH`, then
//! `/usr/lib/postgresql/<newest>/bin`.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The superuser `initdb` creates; trust authentication, no password.
pub const USER: &str = "koi";

/// How long a start may take before it is reported as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How `initdb` makes a cluster (`--no-sync`: a test cluster need not survive
/// a power cut while it is being made).
const INITDB_ARGS: [&str; 4] = ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"];

/// An ephemeral PostgreSQL server; stopped and deleted on drop.
pub struct PgServer {
    /// Field order: the server stops (drop) before its directory goes.
    server: Option<Running>,
    bin: Binaries,
    run_as: Option<(u32, u32)>,
    port: u16,
    data: PathBuf,
    dir: TempDir,
}

/// Where the server programs are.
#[derive(Clone, Hash)]
struct Binaries {
    initdb: PathBuf,
    postgres: PathBuf,
}

/// A started `postgres` process.
///
/// A keeper thread spawns it and waits for it, so that the thread that started
/// it (the one the parent-death signal watches) lives exactly as long as it.
struct Running {
    pid: u32,
    exit: Arc<Exit>,
    keeper: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Exit {
    status: Mutex<Option<ExitStatus>>,
    changed: Condvar,
}

impl PgServer {
    /// Creates a cluster in a new temporary directory, starts it on a free port
    /// and waits until it accepts connections.
    pub async fn start() -> io::Result<PgServer> {
        let bin = Binaries::find()?;
        let dir = tempfile::Builder::new().prefix("koi-pg-").tempdir()?;
        let uid = std::fs::metadata(dir.path())?.uid();
        let run_as = if uid == 0 {
            let (uid, gid) = postgres_user()?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
            Some((uid, gid))
        } else {
            None
        };
        let data = dir.path().join("data");
        let mut server = PgServer {
            server: None,
            bin,
            run_as,
            port: 0,
            data,
            dir,
        };
        server.copy_template(uid).await?;
        // A port found free may be taken before the server binds it: try again
        // on another one a few times.
        let mut attempt = 0;
        loop {
            attempt += 1;
            server.port = free_port()?;
            match server.launch().await {
                Ok(()) => return Ok(server),
                Err(e) if attempt < 3 && !server.is_running() => {
                    eprintln!("postgres did not start on port {}: {e}", server.port);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The port the server listens on (127.0.0.1), the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The URL of `database` on this server, as [`USER`].
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` and returns its URL.
    pub async fn create_database(&self, database: &str) -> io::Result<String> {
        let client = connect(&self.url("postgres")).await?;
        let quoted = format!("\"{}\"", database.replace('"', "\"\""));
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
            .map_err(|e| io::Error::other(format!("CREATE DATABASE {quoted}: {e:?}")))?;
        Ok(self.url(database))
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.server.as_ref().is_some_and(|s| !s.exited())
    }

    /// A clean ("fast") shutdown: sessions are ended, the server checkpoints
    /// and exits. Blocks until it did.
    pub fn stop(&mut self) -> io::Result<()> {
        self.shut_down("INT")
    }

    /// An "immediate" shutdown, as after a crash: every process exits at once,
    /// without a checkpoint; the next start runs crash recovery from the WAL.
    /// Blocks until the server exited.
    pub fn crash(&mut self) -> io::Result<()> {
        self.shut_down("QUIT")
    }

    /// Starts the server again on the same data directory and port, and waits
    /// until it accepts connections.
    pub async fn restart(&mut self) -> io::Result<()> {
        if self.is_running() {
            return Err(io::Error::other("the server is running"));
        }
        self.launch().await
    }

    /// The server's log so far (every start appends to it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// A command running `program` as the user that may run the server.
    fn command(&self, program: &Path) -> Command {
        server_command(program, self.run_as, self.dir.path())
    }

    /// Makes the data directory a copy of the template cluster, made first
    /// when there is none yet. `uid` is the test's user.
    async fn copy_template(&self, uid: u32) -> io::Result<()> {
        let template = {
            let (bin, run_as) = (self.bin.clone(), self.run_as);
            tokio::task::spawn_blocking(move || Template::ready(&bin, run_as, uid))
                .await
                .map_err(io::Error::other)??
        };
        let cp = Path::new("cp");
        let mut command = self.command(cp);
        command.arg("-a").arg(template.data()).arg(&self.data);
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .map_err(|e| spawn_error(cp, self.run_as.is_some(), e))?;
        check_output("copying the template cluster", &output)
    }

    /// Starts `postgres` and waits until it accepts connections.
    async fn launch(&mut self) -> io::Result<()> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut command = self.command(&self.bin.postgres);
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=on"])
            .args(["-c", "shared_buffers=32MB"])
            .args(["-c", "max_connections=200"])
            .stdout(log.try_clone()?)
            .stderr(log);
        let running = Running::spawn(command, &self.bin.postgres, self.run_as.is_some())?;
        self.server = Some(running);
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{} connect_timeout=2", self.key_values("postgres"));
        loop {
            let attempt = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
            if let Ok((client, connection)) = attempt {
                drop(client);
                let _ = connection.await;
                return Ok(());
            }
            if !self.is_running() {
                self.server = None;
                return Err(io::Error::other(format!(
                    "postgres exited before accepting connections; its log:\n{}",
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                let _ = self.shut_down("QUIT");
                return Err(io::Error::other(format!(
                    "postgres did not accept connections within {READY_TIMEOUT:?}; its log:\n{}",
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn key_values(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={USER} dbname={database}",
            self.port
        )
    }

    /// Sends `signal` to the postmaster and waits for it to exit; kills it if
    /// it takes too long.
    fn shut_down(&mut self, signal: &str) -> io::Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        server.signal(signal);
        if server.wait(STOP_TIMEOUT).is_none() {
            eprintln!("postgres did not stop within {STOP_TIMEOUT:?} of SIG{signal}; killing it");
            server.signal("KILL");
            if server.wait(STOP_TIMEOUT).is_none() {
                return Err(io::Error::other("postgres could not be stopped"));
            }
        }
        server.join();
        Ok(())
    }
}

impl Drop for PgServer {
    /// Always stops the server (immediately: its data is about to be deleted).
    fn drop(&mut self) {
        if let Err(e) = self.shut_down("QUIT") {
            eprintln!("stopping the test PostgreSQL server: {e}");
        }
    }
}

impl Running {
    fn spawn(mut command: Command, program: &Path, as_other_user: bool) -> io::Result<Running> {
        let exit = Arc::new(Exit::default());
        let (started, pid) = mpsc::channel();
        let keeper = std::thread::Builder::new()
            .name("koi-test-postgres".into())
            .spawn({
                let exit = exit.clone();
                move || {
                    let mut child = match command.spawn() {
                        Ok(child) => child,
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    let _ = started.send(Ok(child.id()));
                    let status = child.wait();
                    let mut slot = exit.status.lock().unwrap_or_else(PoisonError::into_inner);
                    *slot = Some(status.unwrap_or_else(|_| {
                        // Cannot wait: treat it as gone.
                        std::os::unix::process::ExitStatusExt::from_raw(-1)
                    }));
                    exit.changed.notify_all();
                }
            })?;
        let pid = pid
            .recv()
            .map_err(|_| io::Error::other("the postgres keeper thread died"))?
            .map_err(|e| spawn_error(program, as_other_user, e))?;
        Ok(Running {
            pid,
            exit,
            keeper: Some(keeper),
        })
    }

    fn exited(&self) -> bool {
        self.exit
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Sends a signal with `kill(1)` (the workspace forbids `unsafe`, so no
    /// `libc::kill`).
    fn signal(&self, signal: &str) {
        if self.exited() {
            return;
        }
        let sent = Command::new("kill")
            .args(["-s", signal, &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        if let Err(e) = sent {
            eprintln!("cannot run kill -s {signal} {}: {e}", self.pid);
        }
    }

    /// The exit status, waiting at most `timeout` for it.
    fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        let slot = self
            .exit
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (slot, _) = self
            .exit
            .changed
            .wait_timeout_while(slot, timeout, |status| status.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        *slot
    }

    fn join(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.exited() {
            self.signal("QUIT");
            if self.wait(STOP_TIMEOUT).is_none() {
                self.signal("KILL");
                let _ = self.wait(STOP_TIMEOUT);
            }
        }
        if self.exited() {
            self.join();
        }
    }
}

/// A cluster `initdb` made, from which servers start (see the module's
/// documentation); it is never changed once made.
struct Template {
    dir: PathBuf,
}

impl Template {
    /// The template for these binaries and this server user, made first if
    /// there is none yet (blocking while `initdb` runs).
    ///
    /// Test processes starting side by side may each make one: each makes it
    /// aside and renames it into place, which fails for all but the first
    /// (a directory is not renamed over a full one), so a template that exists
    /// is whole, and the others' copies are deleted.
    fn ready(bin: &Binaries, run_as: Option<(u32, u32)>, uid: u32) -> io::Result<Template> {
        // A template belongs to one installation (a reinstalled one, with new
        // files, gets a new template), one way of running it, and one user.
        let mut key = DefaultHasher::new();
        for program in [&bin.initdb, &bin.postgres] {
            let meta = std::fs::metadata(program)?;
            (meta.len(), meta.mtime(), meta.mtime_nsec()).hash(&mut key);
        }
        (bin, run_as, uid, USER, INITDB_ARGS).hash(&mut key);
        let name = format!("koi-pg-template-{:016x}", key.finish());
        let temp = std::env::temp_dir();
        let template = Template {
            dir: temp.join(&name),
        };

        if template.dir.exists() {
            return Ok(template);
        }
        let partial = tempfile::Builder::new()
            .prefix(&format!("{name}.partial-"))
            .tempdir_in(&temp)?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(partial.path(), Some(uid), Some(gid))?;
        }
        let mut command = server_command(&bin.initdb, run_as, partial.path());
        command
            .arg("-D")
            .arg(partial.path().join("data"))
            .arg(format!("--username={USER}"))
            .args(INITDB_ARGS);
        let output = command
            .output()
            .map_err(|e| spawn_error(&bin.initdb, run_as.is_some(), e))?;
        check_output("initdb", &output)?;
        match std::fs::rename(partial.path(), &template.dir) {
            Ok(()) => {
                // Renamed away: nothing is left to delete.
                let _ = partial.keep();
            }
            // Another process's template won the race: use it.
            Err(_) if template.dir.exists() => {}
            Err(e) => return Err(e),
        }
        Ok(template)
    }

    /// The template's data directory.
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Binaries {
    fn find() -> io::Result<Binaries> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("KOI_PG_BIN") {
            dirs.push(dir.into());
        }
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.extend(debian_bin_dirs());
        let find = |name: &str| {
            dirs.iter()
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        };
        match (find("initdb"), find("postgres")) {
            (Some(initdb), Some(postgres)) => Ok(Binaries { initdb, postgres }),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the PostgreSQL server programs (initdb, postgres) are not installed: none in \
                 $KOI_PG_BIN, PATH or /usr/lib/postgresql/*/bin. Install them (Debian: \
                 apt-get install postgresql) or set KOI_PG_BIN to their directory",
            )),
        }
    }
}

/// `/usr/lib/postgresql/<version>/bin`, newest version first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// The uid and gid of the `postgres` user, from `/etc/passwd`.
fn postgres_user() -> io::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .ok_or_else(|| {
            io::Error::other(
                "running as root, and PostgreSQL refuses to: no `postgres` user to run it as \
                 (it comes with the postgresql package; or run the tests as another user)",
            )
        })
}

/// A command running `program` in `dir` as the user that may run the server:
/// `run_as`, when the test's user is root.
fn server_command(program: &Path, run_as: Option<(u32, u32)>, dir: &Path) -> Command {
    let mut command = match run_as {
        Some((uid, gid)) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--pdeathsig=QUIT")
                .arg("--")
                .arg(program);
            command
        }
        None => Command::new(program),
    };
    // The server's user may not be able to read the test's directory.
    command.current_dir(dir).stdin(Stdio::null());
    command
}

/// An error saying what failed, with its output, unless `output` is a success.
fn check_output(what: &str, output: &std::process::Output) -> io::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// A port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn spawn_error(program: &Path, through_setpriv: bool, e: io::Error) -> io::Error {
    let how = if through_setpriv {
        " through setpriv (util-linux), to run it as the postgres user"
    } else {
        ""
    };
    io::Error::new(
        e.kind(),
        format!("cannot run {}{how}: {e}", program.display()),
    )
}

/// A plain connection (its driver task spawned) for setting up.
async fn connect(url: &str) -> io::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| io::Error::other(format!("connecting to {url}: {e:?}")))?;
    tokio::spawn(connection);
    Ok(client)
}

// Files in S3 (objstore): an ephemeral moto server.
mod moto;
pub use moto::MotoServer;
