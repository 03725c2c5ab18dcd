//! `feedsieve reprocess`: re-runs clean, flag and dedup over every stored raw item with the
//! current config (after a rule change), in place. Items go in id order (the order they were
//! first stored), one transaction per feed poll's group, so each article is compared only with
//! earlier ones and an interruption leaves every article either re-derived or as it was; running
//! it again finishes the job.

use std::process::ExitCode;

use anyhow::Context as _;
use feedsieve::config::Config;
use feedsieve::db::{Store, StoredRaw};
use feedsieve::model::{ItemCounts, RawItem, Timestamp};
use feedsieve::pipeline::{self, ItemSettings, dedup::DedupSettings};

#[derive(Debug, clap::Args)]
pub struct ReprocessArgs {}

/// Raw items read per page, and written per transaction at most.
const PAGE: i64 = 1000;
const GROUP: usize = 200;

pub async fn reprocess(config: Config, _args: ReprocessArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    let result = run(&config, &store).await;
    store.close().await;
    let (items, counts, unreadable) = result?;
    println!(
        "reprocessed {items} items: {} articles, {} flagged, {} duplicate, {} dropped{}",
        counts.updated,
        counts.flagged,
        counts.duplicate,
        counts.dropped_total(),
        if unreadable > 0 {
            format!(", {unreadable} unreadable raw items left as they were")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn run(config: &Config, store: &Store) -> anyhow::Result<(u64, ItemCounts, u64)> {
    store.sync_feeds(&config.feeds).await?;
    let total = store.raw_count().await?;
    let bar = progress_bar(u64::try_from(total).unwrap_or_default());
    let settings = DedupSettings::from_config(&config.dedup);
    store.begin_reprocess().await.context("cannot reset the duplicate index")?;
    let mut counts = ItemCounts::default();
    let (mut items, mut unreadable, mut after) = (0u64, 0u64, 0i64);
    loop {
        let page = store.raw_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        // Consecutive items of one feed fetched at the same time: one poll's batch.
        for group in page.chunk_by(|a, b| a.feed_id == b.feed_id && a.fetched_at == b.fetched_at) {
            for chunk in group.chunks(GROUP) {
                let fetched_at = Timestamp::parse(&chunk[0].fetched_at).unwrap_or_else(Timestamp::now);
                let (outcomes, bad) = derive(config, chunk, fetched_at).await?;
                unreadable += bad;
                let c = store.reprocess_group(chunk[0].feed_id, fetched_at, &outcomes, &settings).await?;
                counts.add(&c);
                items += chunk.len() as u64;
                bar.inc(chunk.len() as u64);
            }
        }
    }
    bar.finish_and_clear();
    Ok((items, counts, unreadable))
}

/// clean and flag (pure, CPU-bound: on the blocking pool) for one group of stored raw items.
async fn derive(
    config: &Config,
    chunk: &[StoredRaw],
    fetched_at: Timestamp,
) -> anyhow::Result<(Vec<(i64, i64, feedsieve::model::ItemOutcome)>, u64)> {
    let config = config.clone();
    let chunk = chunk.to_vec();
    tokio::task::spawn_blocking(move || {
        let feed = config.feed_or_default(&chunk[0].feed_url);
        let item_settings = ItemSettings::for_feed(&config, &feed, fetched_at);
        let mut scratch = ItemCounts::default();
        let mut out = Vec::with_capacity(chunk.len());
        let mut bad = 0;
        for row in &chunk {
            match serde_json::from_str::<RawItem>(&row.raw) {
                Ok(raw) => {
                    out.push((row.id, row.revision, pipeline::process(raw, &item_settings, &mut scratch)));
                }
                Err(e) => {
                    tracing::warn!(id = row.id, error = %e, "stored raw item cannot be read; left as it was");
                    bad += 1;
                }
            }
        }
        (out, bad)
    })
    .await
    .context("reprocessing a group of items failed")
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} items ({per_sec}, {eta} left)")
    {
        bar.set_style(style);
    }
    bar
}
