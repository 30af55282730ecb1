//! `koi serve`: runs a node until SIGTERM or Ctrl-C; SIGHUP reloads the filter.

use std::pin::Pin;

use tokio::signal::unix::{SignalKind, signal};

pub async fn serve(args: koi_server::ServeArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    // Every connection is a socket: take all the descriptors the hard limit
    // allows (shells often start with a soft limit of 1024).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "file descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the file descriptor limit"),
    }
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let (hup_tx, hup_rx) = tokio::sync::watch::channel(0u64);
    tokio::spawn(async move {
        let mut n = 0;
        while hup.recv().await.is_some() {
            n += 1;
            let _ = hup_tx.send(n);
        }
    });
    let reload = move || -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut rx = hup_rx.clone();
        Box::pin(async move {
            rx.borrow_and_update();
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    };
    koi_server::run(config, shutdown, reload).await
}
