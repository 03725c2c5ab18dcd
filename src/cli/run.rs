//! `feedsieve run [--once]`: the daemon, or one pass over every enabled feed.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use feedsieve::config::Config;
use feedsieve::daemon::{self, Context};
use feedsieve::db::Store;
use feedsieve::ops::signals::shutdown_signal;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Fetch every enabled feed once, print a one-line summary and exit
    #[arg(long)]
    pub once: bool,
}

pub async fn run(config: Config, args: RunArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    let ctx = Context::new(Arc::new(config), store.clone()).context("cannot set up the HTTP client")?;
    let summary = if args.once {
        let cancel = ctx.cancel.clone();
        let pass = daemon::run_once(&ctx);
        tokio::pin!(pass);
        tokio::select! {
            r = &mut pass => r?,
            () = shutdown_signal() => {
                // Stop new polls and pending fetches; batches already writing finish.
                cancel.cancel();
                let mut s = pass.await?;
                s.interrupted = true;
                s
            }
        }
    } else {
        daemon::run(ctx, shutdown_signal()).await?
    };
    store.close().await;
    if args.once {
        println!("{summary}");
    } else {
        tracing::info!(%summary, "daemon stopped");
    }
    Ok(ExitCode::SUCCESS)
}
