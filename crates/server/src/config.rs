//! Configuration: flags, `KOI_*` environment variables, a TOML file, defaults —
//! in that order of precedence. Validated once into [`Config`] and handed down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use koi_core::{FilterAction, WordFilter};
use serde::Deserialize;

mod files;

/// `koi serve` options. Every option is also a key of the TOML file given by
/// `--config` (with `_` for `-`) and an environment variable `KOI_<KEY>`.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "KOI_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Data directory (embedded store, files, signing key) [default: ./koi-data].
    #[arg(long, env = "KOI_DATA")]
    pub data: Option<PathBuf>,
    /// HTTP listener: web pages, API, WebSocket [default: 127.0.0.1:7780].
    #[arg(long, env = "KOI_HTTP")]
    pub http: Option<String>,
    /// TCP listener for length-prefixed protobuf frames [default: 127.0.0.1:7781].
    #[arg(long, env = "KOI_TCP")]
    pub tcp: Option<String>,
    /// Bearer token for the admin endpoints; without one they answer 403.
    #[arg(long, env = "KOI_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// This node's id in the cluster [default: kept in the data dir, generated once].
    #[arg(long, env = "KOI_NODE_ID")]
    pub node_id: Option<String>,
    /// NATS URL: with --postgres, join a cluster instead of the embedded engines.
    #[arg(long, env = "KOI_NATS")]
    pub nats: Option<String>,
    /// PostgreSQL URL: with --nats, join a cluster instead of the embedded engines.
    #[arg(long, env = "KOI_POSTGRES")]
    pub postgres: Option<String>,
    /// WebSocket URL announced to clients by dispatch [default: from --http].
    #[arg(long, env = "KOI_PUBLIC_WS")]
    pub public_ws: Option<String>,
    /// TCP address announced to clients by dispatch [default: from --tcp].
    #[arg(long, env = "KOI_PUBLIC_TCP")]
    pub public_tcp: Option<String>,
    /// Roles this node runs: gateway, access, logic (comma-separated) [default: all].
    #[arg(long, env = "KOI_ROLES")]
    pub roles: Option<String>,
    /// Seconds between client pings; silence for 3x this closes a connection [default: 30].
    #[arg(long, env = "KOI_HEARTBEAT_S")]
    pub heartbeat_s: Option<u32>,
    /// Largest frame accepted, in bytes [default: 65536].
    #[arg(long, env = "KOI_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Bad frames in a row before a connection is closed [default: 10].
    #[arg(long, env = "KOI_MAX_BAD_FRAMES")]
    pub max_bad_frames: Option<u32>,
    /// Frames per second per connection after auth [default: 50].
    #[arg(long, env = "KOI_MSGS_PER_SEC")]
    pub msgs_per_sec: Option<u32>,
    /// Burst of frames allowed above the rate [default: 100].
    #[arg(long, env = "KOI_MSGS_BURST")]
    pub msgs_burst: Option<u32>,
    /// Frames per second per user, across all their connections on a node [default: 100; burst twice that].
    #[arg(long, env = "KOI_USER_MSGS_PER_SEC")]
    pub user_msgs_per_sec: Option<u32>,
    /// Seconds during which a sender may recall a message [default: 120].
    #[arg(long, env = "KOI_RECALL_WINDOW_S")]
    pub recall_window_s: Option<u64>,
    /// Seconds during which a sender may edit a message [default: 172800].
    #[arg(long, env = "KOI_EDIT_WINDOW_S")]
    pub edit_window_s: Option<u64>,
    /// Largest group size [default: 100000].
    #[arg(long, env = "KOI_MAX_GROUP_MEMBERS")]
    pub max_group_members: Option<u32>,
    /// Largest upload, in bytes [default: 52428800].
    #[arg(long, env = "KOI_MAX_FILE_BYTES")]
    pub max_file_bytes: Option<u64>,
    /// Total bytes of one user's kept uploads [default: 1073741824].
    #[arg(long, env = "KOI_MAX_USER_BYTES")]
    pub max_user_bytes: Option<u64>,
    /// Seconds after which an upload no message references is deleted [default: 86400].
    #[arg(long, env = "KOI_UNREFERENCED_FILE_TTL_S")]
    pub unreferenced_file_ttl_s: Option<u64>,
    /// Lifetime of login tokens, in seconds [default: 604800].
    #[arg(long, env = "KOI_TOKEN_TTL_S")]
    pub token_ttl_s: Option<u64>,
    /// Token signing secret, at least 32 bytes [default: generated once and kept in the
    /// data dir, or in a cluster in PostgreSQL].
    #[arg(long, env = "KOI_TOKEN_SECRET")]
    pub token_secret: Option<String>,
    /// Seconds a new connection has to authenticate [default: 10].
    #[arg(long, env = "KOI_AUTH_TIMEOUT_S")]
    pub auth_timeout_s: Option<u64>,
    /// Pushes queued per connection before it is cut off as a slow consumer [default: 1024].
    #[arg(long, env = "KOI_OUTBOUND_QUEUE")]
    pub outbound_queue: Option<usize>,
    /// File holding the admin token (its first line), so the token is not in `ps`.
    #[arg(long, env = "KOI_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, HTTP serves HTTPS/wss and TCP speaks TLS.
    #[arg(long, env = "KOI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --tls-cert.
    #[arg(long, env = "KOI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Registrations per hour from one client address; 0: unlimited [default: 20].
    #[arg(long, env = "KOI_REGISTER_PER_HOUR_PER_ADDR")]
    pub register_per_hour_per_addr: Option<u32>,
    /// Logins per minute from one client address; 0: unlimited [default: 30].
    #[arg(long, env = "KOI_LOGIN_PER_MIN_PER_ADDR")]
    pub login_per_min_per_addr: Option<u32>,
    /// Seconds an HTTP client has to send a request's headers, the first or the
    /// next on a kept-alive connection (so also the idle timeout) [default: 10].
    #[arg(long, env = "KOI_HTTP_HEADER_TIMEOUT_S")]
    pub http_header_timeout_s: Option<u64>,
    /// Seconds a request body may stall (no bytes arriving) before the request fails [default: 30].
    #[arg(long, env = "KOI_HTTP_BODY_TIMEOUT_S")]
    pub http_body_timeout_s: Option<u64>,
    /// Open connections on the HTTP listener (WebSockets included) [default: 10000].
    #[arg(long, env = "KOI_MAX_HTTP_CONNECTIONS")]
    pub max_http_connections: Option<usize>,
    /// Open connections on the TCP listener [default: 10000].
    #[arg(long, env = "KOI_MAX_TCP_CONNECTIONS")]
    pub max_tcp_connections: Option<usize>,
    /// Live login sessions per user; a login beyond it ends the least recently used
    /// one [default: 100].
    #[arg(long, env = "KOI_MAX_SESSIONS_PER_USER")]
    pub max_sessions_per_user: Option<usize>,
    /// Sensitive-word filter (TOML only: `[filter] words = [...]`, `action = "mask" | "reject"`).
    #[arg(skip)]
    pub filter: Option<FilterSection>,
    // Files in S3 (objstore): flags and `KOI_S3_*`, or the TOML `[files]` table.
    /// S3-compatible endpoint for a cluster's files, e.g. http://minio:9000 [default: AWS]
    /// (TOML: `[files] s3_endpoint`).
    #[arg(long, env = "KOI_S3_ENDPOINT")]
    #[serde(skip)]
    pub s3_endpoint: Option<String>,
    /// S3 bucket for a cluster's files; without it a cluster keeps files in PostgreSQL
    /// (TOML: `[files] s3_bucket`).
    #[arg(long, env = "KOI_S3_BUCKET")]
    #[serde(skip)]
    pub s3_bucket: Option<String>,
    /// Region of the S3 bucket [default: $AWS_REGION, else us-east-1] (TOML: `[files] s3_region`).
    #[arg(long, env = "KOI_S3_REGION")]
    #[serde(skip)]
    pub s3_region: Option<String>,
    /// Where a cluster keeps files' bytes (TOML only: the `[files]` table).
    #[arg(skip)]
    pub files: Option<files::FilesSection>,
}

/// The `[filter]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSection {
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub action: Option<String>,
}

/// The validated configuration of a node.
#[derive(Debug, Clone)]
pub struct Config {
    pub data: PathBuf,
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub admin_token: Option<String>,
    pub node_id: Option<String>,
    pub nats: Option<String>,
    pub postgres: Option<String>,
    pub public_ws: Option<String>,
    pub public_tcp: Option<String>,
    pub roles: Vec<String>,
    pub limits: Limits,
    pub token_ttl_s: u64,
    pub token_secret: Option<String>,
    pub filter_words: Vec<String>,
    pub filter_action: FilterAction,
    /// Where the configuration came from, to reload the filter on SIGHUP.
    pub config_file: Option<PathBuf>,
    /// Certificate and key paths when TLS is on (re-read on SIGHUP).
    pub tls: Option<TlsFiles>,
    /// Bounds of the HTTP and TCP listeners and the per-address limits.
    pub edge: EdgeLimits,
    /// A cluster's S3 bucket for files; none: PostgreSQL keeps them.
    pub s3: Option<koi_store::S3Settings>,
}

/// Where the TLS certificate chain and private key are (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What strangers may cost a node before and around login.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    /// 0: unlimited.
    pub register_per_hour_per_addr: u32,
    /// 0: unlimited.
    pub login_per_min_per_addr: u32,
    pub http_header_timeout: Duration,
    pub http_body_timeout: Duration,
    pub max_http_connections: usize,
    pub max_tcp_connections: usize,
    /// Live login sessions per user (at least 1).
    pub max_sessions_per_user: usize,
}

/// The shortest configured `token_secret` accepted, in bytes (HS256 keys
/// shorter than the hash are guessable offline from one token).
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// The bounds of §9 and friends, handed to the access and logic roles.
#[derive(Debug, Clone)]
pub struct Limits {
    pub heartbeat_s: u32,
    pub max_frame_bytes: usize,
    pub max_bad_frames: u32,
    pub msgs_per_sec: u32,
    pub msgs_burst: u32,
    /// Per user on a node, across their connections (burst twice this).
    pub user_msgs_per_sec: u32,
    pub recall_window_s: u64,
    pub edit_window_s: u64,
    pub max_group_members: u32,
    pub max_file_bytes: u64,
    pub max_user_bytes: u64,
    pub unreferenced_file_ttl_s: u64,
    pub auth_timeout_s: u64,
    pub outbound_queue: usize,
}

impl ServeArgs {
    /// Merges the flags and environment (already in `self`) over the TOML file
    /// over the defaults, and validates the result.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => Some(read_file(path)?),
            None => None,
        };
        let file = file.unwrap_or_default();
        let m = Merged { cli: self, file };
        let roles: Vec<String> = m
            .pick(|a| a.roles.clone())
            .unwrap_or_else(|| "gateway,access,logic".into())
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        for role in &roles {
            if !["gateway", "access", "logic"].contains(&role.as_str()) {
                bail!("unknown role {role:?}: expected gateway, access or logic");
            }
        }
        if roles.is_empty() {
            bail!("--roles names no role: expected a subset of gateway,access,logic");
        }
        if roles.iter().any(|r| r == "access") && !roles.iter().any(|r| r == "logic") {
            bail!(
                "the access role needs the logic role on the same node: a connection's \
                 requests are handled by the node that holds it"
            );
        }
        let filter = m.file.filter.clone().unwrap_or_default();
        let filter_action = parse_action(filter.action.as_deref())?;
        let config = Config {
            data: m
                .pick(|a| a.data.clone())
                .unwrap_or_else(|| PathBuf::from("koi-data")),
            http: parse_addr(
                "http",
                &m.pick(|a| a.http.clone())
                    .unwrap_or_else(|| "127.0.0.1:7780".into()),
            )?,
            tcp: parse_addr(
                "tcp",
                &m.pick(|a| a.tcp.clone())
                    .unwrap_or_else(|| "127.0.0.1:7781".into()),
            )?,
            admin_token: admin_token(
                m.pick(|a| a.admin_token.clone()),
                m.pick(|a| a.admin_token_file.clone()),
            )?,
            node_id: m.pick(|a| a.node_id.clone()),
            nats: m.pick(|a| a.nats.clone()),
            postgres: m.pick(|a| a.postgres.clone()),
            public_ws: m.pick(|a| a.public_ws.clone()),
            public_tcp: m.pick(|a| a.public_tcp.clone()),
            roles,
            limits: Limits {
                heartbeat_s: m.pick(|a| a.heartbeat_s).unwrap_or(30).max(1),
                max_frame_bytes: m.pick(|a| a.max_frame_bytes).unwrap_or(65_536).max(1024),
                max_bad_frames: m.pick(|a| a.max_bad_frames).unwrap_or(10).max(1),
                msgs_per_sec: m.pick(|a| a.msgs_per_sec).unwrap_or(50).max(1),
                msgs_burst: m.pick(|a| a.msgs_burst).unwrap_or(100).max(1),
                user_msgs_per_sec: m.pick(|a| a.user_msgs_per_sec).unwrap_or(100).max(1),
                recall_window_s: m.pick(|a| a.recall_window_s).unwrap_or(120),
                edit_window_s: m.pick(|a| a.edit_window_s).unwrap_or(172_800),
                max_group_members: m.pick(|a| a.max_group_members).unwrap_or(100_000).max(1),
                max_file_bytes: m.pick(|a| a.max_file_bytes).unwrap_or(50 * 1024 * 1024),
                max_user_bytes: m.pick(|a| a.max_user_bytes).unwrap_or(1024 * 1024 * 1024),
                unreferenced_file_ttl_s: m
                    .pick(|a| a.unreferenced_file_ttl_s)
                    .unwrap_or(24 * 3600)
                    .max(1),
                auth_timeout_s: m.pick(|a| a.auth_timeout_s).unwrap_or(10).max(1),
                outbound_queue: m.pick(|a| a.outbound_queue).unwrap_or(1024).max(16),
            },
            token_ttl_s: m.pick(|a| a.token_ttl_s).unwrap_or(7 * 24 * 3600).max(1),
            token_secret: m.pick(|a| a.token_secret.clone()),
            filter_words: filter.words,
            filter_action,
            config_file: m.cli.config.clone(),
            tls: match (
                m.pick(|a| a.tls_cert.clone()),
                m.pick(|a| a.tls_key.clone()),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => bail!("TLS needs both --tls-cert and --tls-key"),
            },
            edge: EdgeLimits {
                register_per_hour_per_addr: m.pick(|a| a.register_per_hour_per_addr).unwrap_or(20),
                login_per_min_per_addr: m.pick(|a| a.login_per_min_per_addr).unwrap_or(30),
                http_header_timeout: secs(m.pick(|a| a.http_header_timeout_s).unwrap_or(10)),
                http_body_timeout: secs(m.pick(|a| a.http_body_timeout_s).unwrap_or(30)),
                max_http_connections: m.pick(|a| a.max_http_connections).unwrap_or(10_000).max(1),
                max_tcp_connections: m.pick(|a| a.max_tcp_connections).unwrap_or(10_000).max(1),
                max_sessions_per_user: m.pick(|a| a.max_sessions_per_user).unwrap_or(100).max(1),
            },
            s3: files::s3_settings(&m.cli, m.file.files.as_ref())?,
        };
        if let Some(secret) = &config.token_secret
            && secret.len() < MIN_TOKEN_SECRET_BYTES
        {
            bail!(
                "token_secret is {} bytes; at least {MIN_TOKEN_SECRET_BYTES} are needed \
                 (e.g. `openssl rand -hex 32`)",
                secret.len()
            );
        }
        if config.nats.is_some() != config.postgres.is_some() {
            bail!("cluster mode needs both --nats and --postgres");
        }
        if config.s3.is_some() && config.nats.is_none() {
            bail!(
                "files in S3 (s3_bucket) are for a cluster (--nats and --postgres); \
                 an embedded node keeps files in its data dir"
            );
        }
        Ok(config)
    }
}

impl Config {
    /// The word filter as configured.
    pub fn word_filter(&self) -> WordFilter {
        WordFilter::new(&self.filter_words, self.filter_action)
    }

    /// Whether this node runs `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Re-reads the `[filter]` table of a configuration file (for SIGHUP).
pub fn reload_filter(path: &Path) -> anyhow::Result<WordFilter> {
    let file = read_file(path)?;
    let filter = file.filter.unwrap_or_default();
    Ok(WordFilter::new(
        &filter.words,
        parse_action(filter.action.as_deref())?,
    ))
}

struct Merged {
    cli: ServeArgs,
    file: ServeArgs,
}

impl Merged {
    fn pick<T>(&self, get: impl Fn(&ServeArgs) -> Option<T>) -> Option<T> {
        get(&self.cli).or_else(|| get(&self.file))
    }
}

fn read_file(path: &Path) -> anyhow::Result<ServeArgs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// At least one second: a zero timeout would close every connection at once.
fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

/// The admin token given inline or read from a file (its first line); not both.
fn admin_token(inline: Option<String>, file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    match (inline.filter(|t| !t.is_empty()), file) {
        (Some(_), Some(_)) => bail!("give --admin-token or --admin-token-file, not both"),
        (Some(token), None) => Ok(Some(token)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the admin token file {}", path.display()))?;
            let token = text.lines().next().unwrap_or("").trim().to_owned();
            if token.is_empty() {
                bail!("the admin token file {} is empty", path.display());
            }
            Ok(Some(token))
        }
        (None, None) => Ok(None),
    }
}

fn parse_addr(name: &str, value: &str) -> anyhow::Result<SocketAddr> {
    value
        .parse()
        .with_context(|| format!("--{name} {value:?} is not an address such as 127.0.0.1:7780"))
}

fn parse_action(action: Option<&str>) -> anyhow::Result<FilterAction> {
    match action {
        None | Some("mask") => Ok(FilterAction::Mask),
        Some("reject") => Ok(FilterAction::Reject),
        Some(other) => bail!("[filter] action {other:?}: expected \"mask\" or \"reject\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_operator_contract() {
        let config = ServeArgs::default().resolve().unwrap();
        assert_eq!(config.http.to_string(), "127.0.0.1:7780");
        assert_eq!(config.tcp.to_string(), "127.0.0.1:7781");
        assert_eq!(config.data, PathBuf::from("koi-data"));
        assert_eq!(config.limits.max_frame_bytes, 65_536);
        assert_eq!(config.limits.msgs_per_sec, 50);
        assert_eq!(config.limits.user_msgs_per_sec, 100);
        assert_eq!(config.roles, ["gateway", "access", "logic"]);
    }

    #[test]
    fn roles_are_a_valid_subset() {
        let roles = |list: &str| {
            ServeArgs {
                roles: Some(list.into()),
                ..Default::default()
            }
            .resolve()
        };
        assert_eq!(roles("gateway").unwrap().roles, ["gateway"]);
        assert_eq!(roles(" access , logic").unwrap().roles, ["access", "logic"]);
        for bad in ["", ",", "router", "gateway,access"] {
            assert!(roles(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("koi.toml");
        std::fs::write(
            &path,
            "http = \"127.0.0.1:9000\"\ntcp = \"127.0.0.1:9001\"\nheartbeat_s = 5\n[filter]\nwords = [\"darn\"]\naction = \"reject\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            http: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.http.port(), 9100);
        assert_eq!(config.tcp.port(), 9001);
        assert_eq!(config.limits.heartbeat_s, 5);
        assert_eq!(config.filter_action, FilterAction::Reject);
        assert_eq!(config.word_filter().len(), 1);
    }

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../koi.example.toml");
        let args = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        args.resolve().unwrap();
    }

    #[test]
    fn a_short_token_secret_is_refused() {
        let with = |secret: &str| {
            ServeArgs {
                token_secret: Some(secret.into()),
                ..Default::default()
            }
            .resolve()
        };
        let err = with("short-secret").unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
        with(&"x".repeat(32)).unwrap();
    }

    #[test]
    fn the_admin_token_comes_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin");
        std::fs::write(&path, "from-file\n").unwrap();
        let args = ServeArgs {
            admin_token_file: Some(path.clone()),
            ..Default::default()
        };
        assert_eq!(
            args.resolve().unwrap().admin_token.as_deref(),
            Some("from-file")
        );
        let both = ServeArgs {
            admin_token: Some("inline".into()),
            admin_token_file: Some(path),
            ..Default::default()
        };
        assert!(both.resolve().is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("koi.toml");
        std::fs::write(&path, "htp = \"x\"\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(args.resolve().is_err());
    }
}
