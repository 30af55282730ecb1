//! An ephemeral S3-compatible server for tests: moto's (PyPI `moto[server]`,
//! installed by `scripts/install-moto`), started on a free port of 127.0.0.1
//! with one empty bucket, its log in a temporary directory; killed on drop.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! let moto = koi_store::testing::MotoServer::start().await?;
//! let endpoint = moto.endpoint(); // http://127.0.0.1:<free port>
//! let bucket = moto.bucket(); // exists, empty
//! # Ok(())
//! # }
//! ```
//!
//! The program is `$MOTO_SERVER` if set, else `moto/bin/moto_server` in
//! `$CARGO_TARGET_DIR` or the workspace's `target/` (where
//! `scripts/install-moto` puts it), else `moto_server` on the `PATH`. When
//! none exists, [`MotoServer::start`] fails saying how to install it: a test
//! that needs S3 fails rather than passing without it.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a starting server may take to create the bucket (Python's imports
/// are most of it).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The credentials and region clients are given; moto accepts any.
const ACCESS_KEY_ID: &str = "koi-test-key";
const SECRET_ACCESS_KEY: &str = "koi-test-secret";
const REGION: &str = "us-east-1";

/// A running moto server with one bucket.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    bucket: String,
    dir: tempfile::TempDir,
}

impl MotoServer {
    /// Starts a server on a free port and creates the bucket `koi-files`.
    pub async fn start() -> io::Result<Self> {
        let program = program()?;
        let dir = tempfile::Builder::new().prefix("koi-moto-").tempdir()?;
        let log = std::fs::File::create(dir.path().join("moto.log"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("starting {}: {e}", program.display()))
            })?;
        let mut server = Self {
            child,
            port,
            bucket: "koi-files".into(),
            dir,
        };
        server.create_bucket().await?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bucket made at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The region clients name.
    pub fn region(&self) -> &str {
        REGION
    }

    /// A [`crate::ObjectContent`] on the bucket, with the test credentials.
    pub fn content(&self) -> io::Result<crate::ObjectContent> {
        self.content_in(&self.bucket)
    }

    /// A [`crate::ObjectContent`] on `bucket` (which may not exist).
    pub fn content_in(&self, bucket: &str) -> io::Result<crate::ObjectContent> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region(REGION)
            .with_access_key_id(ACCESS_KEY_ID)
            .with_secret_access_key(SECRET_ACCESS_KEY)
            .build()
            .map_err(io::Error::other)?;
        Ok(crate::ObjectContent::new(std::sync::Arc::new(store)))
    }

    /// The `AWS_*` credentials a client (a node) needs in its environment.
    pub fn credentials_env(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ]
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// Retries creating the bucket until the server answers 200, it exits, or
    /// [`READY_WITHIN`] passes.
    async fn create_bucket(&mut self) -> io::Result<()> {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        let mut delay = Duration::from_millis(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "moto_server exited at start ({status}): {}",
                    self.log()
                )));
            }
            match self.put_bucket().await {
                Ok(status) if status.starts_with("HTTP/1.1 200") => return Ok(()),
                Ok(status) => {
                    return Err(io::Error::other(format!(
                        "moto_server refused to create the bucket: {status}"
                    )));
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(250));
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("moto_server not ready within {READY_WITHIN:?}: {e}"),
                    ));
                }
            }
        }
    }

    /// Whether the bucket holds file `id`'s object (fetched through
    /// [`crate::ObjectContent`], signed like a node's requests).
    pub async fn has_file(&self, id: &str) -> io::Result<bool> {
        use crate::FileContent;
        let dir = tempfile::tempdir()?;
        self.content()?
            .fetch(id, &dir.path().join("probe"))
            .await
            .map_err(io::Error::other)
    }

    async fn put_bucket(&self) -> io::Result<String> {
        self.request("PUT", &format!("/{}", self.bucket)).await
    }

    /// One request without a body (moto does not check signatures); the
    /// response's status line.
    async fn request(&self, method: &str, path: &str) -> io::Result<String> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let response = String::from_utf8_lossy(&response);
        match response.lines().next() {
            Some(line) if !line.is_empty() => Ok(line.to_owned()),
            _ => Err(io::Error::other("no answer")),
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `moto_server` to run (see the module's documentation).
fn program() -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let installed = target.join("moto/bin/moto_server");
    if installed.is_file() {
        return Ok(installed);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("moto_server"))
        .find(|path| path.is_file());
    on_path.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "moto_server not found (not in $MOTO_SERVER, {}, nor on PATH): \
                 run scripts/install-moto",
                installed.display()
            ),
        )
    })
}
