//! `feedsieve run [--once]`: the daemon, or one pass over every enabled feed.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use feedsieve::config::Config;
use feedsieve::daemon::{self, Context};
use feedsieve::db::Store;
use feedsieve::ops::metrics::Metrics;
use feedsieve::ops::notify::Notifier;
use feedsieve::ops::signals::shutdown_signal;
use feedsieve::ops::{Ops, http};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Fetch every enabled feed once, print a one-line summary and exit
    #[arg(long)]
    pub once: bool,
}

pub async fn run(config: Config, args: RunArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    if args.once {
        let ctx = Context::new(Arc::new(config), store.clone()).context("cannot set up the HTTP client")?;
        let cancel = ctx.cancel.clone();
        let pass = daemon::run_once(&ctx);
        tokio::pin!(pass);
        let summary = tokio::select! {
            r = &mut pass => r?,
            () = shutdown_signal() => {
                // Stop new polls and pending fetches; batches already writing finish.
                cancel.cancel();
                let mut s = pass.await?;
                s.interrupted = true;
                s
            }
        };
        store.close().await;
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    }

    let per_feed = config.http.as_ref().is_some_and(|h| h.per_feed_metrics);
    let ops = Arc::new(Ops { metrics: Metrics::new(per_feed), notify: Notifier::from_env() });
    let listen = config.http.as_ref().map(|h| h.listen);
    let ctx = Context::with_ops(Arc::new(config), store.clone(), Arc::clone(&ops))
        .context("cannot set up the HTTP client")?;
    let endpoint = match listen {
        Some(addr) => Some(
            http::bind(addr, store.clone(), Arc::clone(&ops), ctx.cancel.clone())
                .await
                .with_context(|| format!("cannot listen on {addr} ([http] listen)"))?,
        ),
        None => None,
    };
    // Installed before READY: from then on, a SIGHUP means "reload", never the default "exit".
    let sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot install the SIGHUP handler")?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let hup = tokio::spawn(reload_on_sighup(sighup, ctx.config.source.clone(), reload_tx, Arc::clone(&ops)));
    let summary = daemon::run(ctx, shutdown_signal(), reload_rx).await;
    hup.abort();
    if let Some(e) = endpoint {
        let _ = e.await;
    }
    store.close().await;
    tracing::info!(summary = %summary?, "daemon stopped");
    Ok(ExitCode::SUCCESS)
}

/// On each SIGHUP: tell systemd a reload started, re-read and validate the config file, and hand
/// a valid one to the daemon (which answers READY when applied). An invalid file is logged with
/// its key and reason, and the running config stays.
async fn reload_on_sighup(
    mut hup: tokio::signal::unix::Signal,
    source: std::path::PathBuf,
    daemon: tokio::sync::mpsc::Sender<Config>,
    ops: Arc<Ops>,
) {
    while hup.recv().await.is_some() {
        ops.notify.reloading();
        tracing::info!(config = %source.display(), "SIGHUP: reloading the config");
        match super::load_config(Some(&source)) {
            Ok(config) => {
                if daemon.send(config).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "config reload failed; the running config stays");
                ops.notify.ready(&format!("config reload failed: {e:#}"));
            }
        }
    }
}
