//! `feedsieve feeds`: every feed with its health: last fetch, status, consecutive errors, next
//! poll and why, items stored.

use std::process::ExitCode;

use feedsieve::config::Config;
use feedsieve::db::Store;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub async fn feeds(config: Config, args: FeedsArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    // Make the listing reflect the current config (new feeds appear before their first poll).
    let synced = store.sync_feeds(&config.feeds).await;
    let rows = match synced {
        Ok(_) => store.feed_health().await,
        Err(e) => Err(e),
    };
    store.close().await;
    let rows = rows?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Table => {
            println!(
                "{:<32} {:<8} {:<20} {:>6} {:<34} {:>7}",
                "feed", "status", "last fetch", "errors", "next poll (reason)", "items"
            );
            for r in &rows {
                let status = if r.retired_at.is_some() {
                    "retired".to_string()
                } else if !r.in_config {
                    "removed".to_string()
                } else if !r.enabled {
                    "disabled".to_string()
                } else {
                    r.last_status.clone().unwrap_or_else(|| "new".into())
                };
                let next = match (&r.next_poll_at, &r.next_poll_reason) {
                    (Some(at), Some(why)) => format!("{at} ({why})"),
                    (Some(at), None) => at.clone(),
                    _ => "-".into(),
                };
                let name: String = r.name.chars().take(32).collect();
                println!(
                    "{:<32} {:<8} {:<20} {:>6} {:<34} {:>7}",
                    name,
                    status,
                    r.last_fetch_at.as_deref().unwrap_or("-"),
                    r.consecutive_errors,
                    next,
                    r.items_stored
                );
                if let (Some(kind), Some(err)) = (&r.last_error_kind, &r.last_error)
                    && r.last_status.as_deref() == Some("error")
                {
                    let err: String = err.chars().take(160).collect();
                    println!("    {kind}: {err}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
