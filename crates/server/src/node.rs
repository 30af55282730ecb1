//! Starting a node and stopping it.
//!
//! The caller binds nothing: [`run`] binds the configured addresses (port 0
//! allowed) and prints one `listening` line per listener, which tests read to
//! learn the ports. Shutdown: stop accepting, kick every connection with
//! `shutdown` after flushing its queue, wait for them to close, then stop.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use koi_cluster::{Hub, Kick};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::access::{Access, TcpEdge, close_silent, serve_tcp};
use crate::config::Config;
use crate::edge::http::serve_http;
use crate::edge::pre_auth::PRE_AUTH_SLACK;
use crate::edge::private_files::{self, private_dir};
use crate::edge::tls::ReloadingCert;
use crate::engines::Engines;
use crate::gateway::{AddrLimits, Gateway, InFlight, LoginThrottle, routes, spawn_sweep};
use crate::logic::Logic;
use crate::monitor::{Meters, install_recorder};
use crate::node_info::NodeSelf;
use crate::revocation::Revocations;
use crate::tokens::Tokens;

/// How long connections get to close after `kicked shutdown`.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a node until `shutdown` resolves, then stops it gracefully.
/// `reload` resolving (SIGHUP) re-reads the word filter and the TLS
/// certificate; it may resolve repeatedly.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    mut reload: impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> anyhow::Result<()> {
    private_dir(&config.data).with_context(|| format!("creating {}", config.data.display()))?;
    let files_dir = config.data.join("files");
    private_dir(&files_dir).context("creating the file store")?;
    if config.nats.is_none() {
        private_files::precreate(&config.data.join("koi.db")).context("creating koi.db")?;
    }
    private_files::tighten(&config.data).context("making the data dir owner-only")?;
    let tls = match &config.tls {
        Some(files) => Some(ReloadingCert::load(files).context("loading the TLS certificate")?),
        None => None,
    };

    let prometheus = install_recorder();
    let meters = Meters::new();
    meters.spawn_rate_sampler();

    let node_id = node_id(&config)?;
    let hub = Arc::new(Hub::new());
    let Engines {
        store,
        router,
        registry,
        content,
        settings,
        cluster,
        token_secret,
    } = Engines::open(&config, hub.clone(), &node_id).await?;
    let logic = Arc::new(Logic::new(
        store.clone(),
        router,
        registry.clone(),
        hub.clone(),
        config.word_filter(),
        config.limits.clone(),
        meters.clone(),
    ));
    let _filter_follower = match &settings {
        Some(settings) => Some(AbortOnDrop(
            crate::filter_sync::follow(settings, logic.clone())
                .await
                .context("following the cluster's filter changes")?,
        )),
        None => None,
    };
    let throttle = Arc::new(LoginThrottle::default());
    let addr_limits = Arc::new(AddrLimits::new(&config.edge));
    let _addr_shrinker = {
        let addr_limits = addr_limits.clone();
        AbortOnDrop(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                addr_limits.shrink();
            }
        }))
    };
    let _addr_follower = match &settings {
        Some(settings) => Some(AbortOnDrop(
            crate::addr_sync::follow(settings, addr_limits.clone())
                .await
                .context("following the cluster's per-address limits")?,
        )),
        None => None,
    };
    let _login_follower = match &settings {
        Some(settings) => Some(AbortOnDrop(
            crate::login_sync::follow(settings, throttle.clone())
                .await
                .context("following the cluster's failed logins")?,
        )),
        None => None,
    };
    // The database files exist now (SQLite made its -wal and -shm).
    private_files::tighten(&config.data).context("making the data dir owner-only")?;
    let fanout = logic.fanout().clone();
    store.set_commit_listener(Arc::new(move |batch| fanout.committed(batch)));

    let tokens = Arc::new(Tokens::new(&token_secret, config.token_ttl_s));
    let revocations = Arc::new(Revocations::new(store.clone(), config.token_ttl_s));
    let _revocation_follower = match &settings {
        Some(settings) => Some(AbortOnDrop(
            crate::revocation::sync::follow(settings, revocations.clone())
                .await
                .context("following the cluster's token revocations")?,
        )),
        None => None,
    };
    revocations
        .read_back()
        .await
        .map_err(|e| anyhow::anyhow!("reading the revoked tokens back: {e}"))?;
    let _revocation_sweeper = AbortOnDrop(revocations.spawn_sweeper());

    let http = TcpListener::bind(config.http)
        .await
        .with_context(|| format!("binding http {}", config.http))?;
    let http_addr = http.local_addr()?;
    let tcp = TcpListener::bind(config.tcp)
        .await
        .with_context(|| format!("binding tcp {}", config.tcp))?;
    let tcp_addr = tcp.local_addr()?;

    let node = Arc::new(NodeSelf {
        id: node_id.clone(),
        roles: config.roles.clone(),
        ws: config.public_ws.clone().unwrap_or_else(|| {
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            format!("{scheme}://{http_addr}/ws")
        }),
        tcp: config
            .public_tcp
            .clone()
            .unwrap_or_else(|| tcp_addr.to_string()),
        tls: tls.is_some(),
        started_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        hub: hub.clone(),
        meters: meters.clone(),
        registry: registry.clone(),
    });
    node.announce().await;

    // In a cluster, users' frame rates are shared (`rate_sync`).
    let (rate_notices, outgoing_rates) = match (&settings, config.has_role("access")) {
        (Some(_), true) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        _ => (None, None),
    };
    let access = config.has_role("access").then(|| {
        Arc::new(Access::new(
            logic.clone(),
            tokens.clone(),
            revocations.clone(),
            config.limits.clone(),
            meters.clone(),
            rate_notices,
        ))
    });
    let _rate_publisher = match (&settings, outgoing_rates) {
        (Some(settings), Some(outgoing)) => Some(AbortOnDrop(crate::rate_sync::publish(
            settings.clone(),
            node_id.clone(),
            outgoing,
        ))),
        _ => None,
    };
    let _rate_follower = match (&settings, &access) {
        (Some(settings), Some(access)) => Some(AbortOnDrop(
            crate::rate_sync::follow(settings, access.clone())
                .await
                .context("following the cluster's frame rates")?,
        )),
        _ => None,
    };
    let _silence = access.as_ref().map(|_| {
        let limit = Duration::from_secs(3 * u64::from(config.limits.heartbeat_s));
        AbortOnDrop(tokio::spawn(close_silent(hub.clone(), limit)))
    });
    let gateway = Arc::new(Gateway {
        logic: logic.clone(),
        tokens,
        revocations,
        access: access.clone(),
        admin_token: config.admin_token.clone(),
        files_dir,
        content,
        settings,
        max_file_bytes: config.limits.max_file_bytes,
        max_user_bytes: config.limits.max_user_bytes,
        max_sessions_per_user: config.edge.max_sessions_per_user,
        uploads: InFlight::default(),
        throttle: throttle.clone(),
        addr_limits,
        prometheus,
        node: node.clone(),
        serving: AtomicBool::new(true),
        config_file: config.config_file.clone(),
    });

    let _sweep = config.has_role("gateway").then(|| {
        AbortOnDrop(spawn_sweep(
            store.clone(),
            gateway.content.clone(),
            gateway.files_dir.clone(),
            Duration::from_secs(config.limits.unreferenced_file_ttl_s),
        ))
    });

    let stop_accepting = CancellationToken::new();
    let (http_tls, tcp_tls) = match &tls {
        Some(cert) => (Some(cert.http_acceptor()?), Some(cert.tcp_acceptor()?)),
        None => (None, None),
    };
    let http_task = tokio::spawn(serve_http(
        http,
        routes(gateway.clone()),
        config.edge.clone(),
        http_tls,
        config.limits.max_frame_bytes + PRE_AUTH_SLACK,
        stop_accepting.clone(),
    ));
    let tcp_task = access.clone().map(|access| {
        tokio::spawn(serve_tcp(
            access,
            tcp,
            TcpEdge {
                tls: tcp_tls,
                max_connections: config.edge.max_tcp_connections,
            },
            stop_accepting.clone(),
        ))
    });
    let heartbeat = {
        let node = node.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                node.announce().await;
            }
        })
    };

    if tls.is_some() {
        println!("koi: node {node_id} tls on");
    }
    println!("koi: node {node_id} http listening on {http_addr}");
    println!("koi: node {node_id} tcp listening on {tcp_addr}");
    tracing::info!(%http_addr, %tcp_addr, node = %node_id, "koi node serving");

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = reload() => {
                if let Some(cert) = &tls {
                    match cert.reload() {
                        Ok(()) => tracing::info!("TLS certificate reloaded"),
                        Err(e) => tracing::error!(
                            error = %e,
                            "TLS certificate reload failed; keeping the previous one"
                        ),
                    }
                }
                match &config.config_file {
                    Some(path) => match crate::config::reload_filter(path) {
                        Ok(filter) => {
                            tracing::info!(words = filter.len(), "word filter reloaded");
                            logic.set_filter(filter);
                        }
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "word filter reload failed")
                        }
                    },
                    None if tls.is_none() => {
                        tracing::warn!("SIGHUP ignored: started without --config or TLS")
                    }
                    None => {}
                }
            }
        }
    }

    tracing::info!("shutting down");
    gateway.serving.store(false, Ordering::Relaxed);
    stop_accepting.cancel();
    for conn in hub.all() {
        conn.kick(Kick::Shutdown);
    }
    // Until every session said goodbye (its last frames written and the
    // socket closed), within the drain timeout.
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let running = || hub.connections() > 0 || access.as_ref().is_some_and(|a| a.sessions() > 0);
    while running() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    heartbeat.abort();
    if let Some(registry) = &cluster {
        // Leave dispatch at once rather than when the heartbeat expires.
        if let Err(e) = registry.withdraw().await {
            tracing::warn!(error = %e, "withdrawing from the registry failed");
        }
    }
    if let Some(task) = tcp_task {
        let _ = task.await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), http_task).await;
    println!("koi: node {node_id} stopped");
    Ok(())
}

/// The configured node id, or the one kept in the data dir (made on first start).
fn node_id(config: &Config) -> anyhow::Result<String> {
    if let Some(id) = &config.node_id {
        return Ok(id.clone());
    }
    let path = config.data.join("node.id");
    read_or_create(&path, || format!("koi-{}", &koi_store::new_id()[16..]))
}

fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            let id = make();
            private_files::write_private(path, id.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(id)
        }
    }
}

/// Aborts a background task when dropped, i.e. when the node stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
