//! The daemon: which feed is polled when, and the worker that runs one feed through the pipeline.
//!
//! [`poll_feed`] is one feed's trip: fetch (cancellable) -> parse, clean, flag, dedup (on the
//! blocking pool: CPU work, and a panic there stays this feed's error) -> store (one
//! transaction, never cancelled half-way). [`run_once`] polls every enabled feed once; [`run`]
//! keeps polling each feed when it is due until `shutdown` resolves.
//!
//! Shutdown has two parts: the [`CancellationToken`] stops new work and aborts fetches still
//! waiting on the network; then in-flight feed batches get [`SHUTDOWN_GRACE`] to finish their
//! write. A batch is one transaction, so an abort after the deadline loses nothing committed.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, FeedConfig};
use crate::db::{FeedBatch, FeedFailure, FeedRow, Store, StoreError, Unchanged};
use crate::model::{ContentHash, DropReason, FetchOutcome, ItemCounts, Timestamp, Validators};
use crate::pipeline::fetch::{FetchError, Fetcher};
use crate::pipeline::parse::ParseError;
use crate::pipeline::{self, ItemSettings};
use crate::scheduler::{self, Policy, PollOutcome};

/// How long in-flight feed batches may take to finish after a shutdown request. Shorter than
/// systemd's default `TimeoutStopSec` (90 s) so that we exit cleanly before being killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Why one feed's poll failed. The kind decides backoff and is stored in the feed's health.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("processing failed: {0}")]
    Process(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FeedError {
    pub fn kind(&self) -> &'static str {
        match self {
            FeedError::Fetch(e) => e.kind(),
            FeedError::Parse(e) => e.kind(),
            FeedError::Process(_) => "process",
            FeedError::Store(_) => "store",
        }
    }
}

/// What polling one feed came to.
#[derive(Debug)]
pub enum FeedOutcome {
    Stored(ItemCounts),
    Failed(FeedError),
    /// Shutdown arrived before the feed's data was fetched; nothing was written.
    Cancelled,
}

/// A poll's outcome plus what the scheduler needs from it.
#[derive(Debug)]
pub struct Polled {
    pub outcome: FeedOutcome,
    /// When the feed is due again (as stored); `None` when the poll was cancelled.
    pub next_poll_at: Option<Timestamp>,
    /// The feed's consecutive failures after this poll.
    pub consecutive_errors: i64,
    /// The feed answered 410 Gone and is no longer polled.
    pub retired: bool,
    /// A network failure not counted because nothing had succeeded yet (see [`NetworkMonitor`]).
    pub deferred: bool,
}

/// Shared by every worker.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    pub fetcher: Arc<Fetcher>,
    /// Cancelled when shutdown starts: no new polls, pending fetches abort.
    pub cancel: CancellationToken,
    /// Recent network-level outcomes, to tell a dead feed from our own network being down.
    pub network: Arc<NetworkMonitor>,
    /// Metrics, heartbeat and the systemd notifier.
    pub ops: Arc<crate::ops::Ops>,
    /// Article page fetches (`full_text`) in flight, over all feeds: their own budget, apart
    /// from the feed polls' `fetch.concurrency`.
    pub pages: Arc<Semaphore>,
}

/// Tells our network being down from a feed being down: a network-level failure (DNS, connect,
/// timeout) counts against a feed only if some request succeeded within [`NetworkMonitor::WINDOW`].
/// A pass of `run --once` settles the failures it deferred at its end: if anything succeeded in the
/// pass, they count after all.
#[derive(Debug, Default)]
pub struct NetworkMonitor {
    /// A std Mutex: held for a few field updates, never across an await.
    state: std::sync::Mutex<NetworkState>,
}

#[derive(Debug, Default)]
struct NetworkState {
    last_success: Option<std::time::Instant>,
    /// Recent network-level failures: when, and which host.
    failures: std::collections::VecDeque<(std::time::Instant, String)>,
}

impl NetworkMonitor {
    /// How far back a success proves the network works.
    pub const WINDOW: Duration = Duration::from_secs(300);

    pub fn success(&self) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.last_success = Some(std::time::Instant::now());
        s.failures.clear();
    }

    /// Records a network failure for `url`; true when it looks like our own network is down
    /// (no success within [`Self::WINDOW`]).
    pub fn failure_looks_local(&self, url: &str) -> bool {
        let now = std::time::Instant::now();
        let host =
            url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent_success = s.last_success.is_some_and(|t| now.duration_since(t) < Self::WINDOW);
        s.failures.retain(|(t, _)| now.duration_since(*t) < Self::WINDOW);
        s.failures.push_back((now, host));
        while s.failures.len() > 256 {
            s.failures.pop_front();
        }
        !recent_success
    }
}

impl Context {
    /// A context with metrics (per feed when `[http] per_feed_metrics`) and no systemd notifier.
    pub fn new(config: Arc<Config>, store: Store) -> Result<Self, FetchError> {
        let per_feed = config.http.as_ref().is_some_and(|h| h.per_feed_metrics);
        let ops = crate::ops::Ops {
            metrics: crate::ops::metrics::Metrics::new(per_feed),
            notify: crate::ops::notify::Notifier::disabled(),
        };
        Self::with_ops(config, store, Arc::new(ops))
    }

    pub fn with_ops(
        config: Arc<Config>,
        store: Store,
        ops: Arc<crate::ops::Ops>,
    ) -> Result<Self, FetchError> {
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        let pages = Arc::new(Semaphore::new(config.full_text.concurrency));
        Ok(Context {
            config,
            store,
            fetcher,
            cancel: CancellationToken::new(),
            network: Arc::default(),
            ops,
            pages,
        })
    }
}

/// Totals of one pass (or of the daemon's life so far).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassSummary {
    pub feeds_ok: u64,
    pub feeds_failed: u64,
    pub items: ItemCounts,
    pub interrupted: bool,
}

impl PassSummary {
    fn add(&mut self, outcome: &FeedOutcome) {
        match outcome {
            FeedOutcome::Stored(c) => {
                self.feeds_ok += 1;
                self.items.add(c);
            }
            FeedOutcome::Failed(_) => self.feeds_failed += 1,
            FeedOutcome::Cancelled => self.interrupted = true,
        }
    }
}

impl fmt::Display for PassSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.items;
        write!(
            f,
            "feeds: {} ok, {} failed; items: {} new, {} updated, {} unchanged, {} duplicate, {} flagged, {} dropped",
            self.feeds_ok,
            self.feeds_failed,
            i.new,
            i.updated,
            i.unchanged,
            i.duplicate,
            i.flagged,
            i.dropped_total()
        )?;
        if !i.dropped.is_empty() {
            let reasons: Vec<String> = i.dropped.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.interrupted {
            f.write_str(" (interrupted)")?;
        }
        Ok(())
    }
}

/// Polls one feed end to end and records the result (articles, or the failure) in the store.
pub async fn poll_feed(ctx: &Context, feed: &FeedConfig, row: &FeedRow) -> Polled {
    let started = Timestamp::now();
    let result = tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => {
            return Polled {
                outcome: FeedOutcome::Cancelled,
                next_poll_at: None,
                consecutive_errors: row.consecutive_errors,
                retired: false,
                deferred: false,
            };
        }
        r = fetch_and_process(ctx, feed, row) => r,
    };
    match result {
        Ok(fetched) => {
            ctx.network.success();
            store_success(ctx, feed, row, started, fetched).await
        }
        Err(e) => fail(ctx, feed, row, e).await,
    }
}

/// The scheduling hints stored for a feed (for polls that do not parse the document).
fn stored_hints(row: &FeedRow) -> scheduler::Hints {
    scheduler::Hints {
        feed_min: row.feed_min_secs.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs),
        skip_hours: row.skip_hours.as_deref().map(parse_list).unwrap_or_default(),
        skip_days: row.skip_days.as_deref().map(parse_list).unwrap_or_default(),
        ..scheduler::Hints::default()
    }
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',').filter_map(|v| v.trim().parse().ok()).collect()
}

fn jitter() -> f64 {
    fastrand::f64() * 2.0 - 1.0
}

async fn store_success(
    ctx: &Context,
    feed: &FeedConfig,
    row: &FeedRow,
    started: Timestamp,
    fetched: Fetched,
) -> Polled {
    let policy = Policy::from(&ctx.config.fetch);
    let stored_adaptive = row.adaptive_secs.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs);
    let (result, next) = match fetched {
        Fetched::Unchanged { status, validators, fresh_for, bytes } => {
            let hints = scheduler::Hints { fresh_for, ..stored_hints(row) };
            let (next, reason) = scheduler::next_check(
                Timestamp::now(),
                &policy,
                feed.interval,
                stored_adaptive,
                PollOutcome::Success,
                &hints,
                jitter(),
            );
            let r = ctx
                .store
                .record_unchanged(Unchanged {
                    feed_id: row.id,
                    at: started,
                    http_status: status,
                    validators,
                    bytes,
                    next_poll_at: next,
                    next_poll_reason: reason.as_str(),
                })
                .await
                .map(|()| ItemCounts::default());
            tracing::info!(feed = %feed.url, status, next_poll = %next, reason = reason.as_str(), "feed unchanged");
            let outcome = if status == Some(304) { "not_modified" } else { "unchanged" };
            ctx.ops.metrics.fetch(&feed.url, outcome, bytes);
            (r, next)
        }
        Fetched::Parsed(prepared) => {
            let Prepared { body, parsed, outcomes, mut pre_counts, adaptive, pruned_seen } = *prepared;
            let hints = scheduler::Hints {
                feed_min: parsed.feed_min,
                fresh_for: body.fresh_for,
                retry_after: None,
                skip_hours: parsed.skip_hours.clone(),
                skip_days: parsed.skip_days.clone(),
            };
            let (next, reason) = scheduler::next_check(
                Timestamp::now(),
                &policy,
                feed.interval,
                adaptive,
                PollOutcome::Success,
                &hints,
                jitter(),
            );
            let batch = FeedBatch {
                feed_id: row.id,
                fetched_at: started,
                feed: parsed,
                body_hash: ContentHash::of(&body.bytes).0,
                bytes: body.bytes.len(),
                adaptive,
                http_status: body.http_status,
                etag: body.etag.clone(),
                last_modified: body.last_modified.clone(),
                next_poll_at: next,
                next_poll_reason: reason.as_str(),
                dedup: pipeline::dedup::DedupSettings::from_config(&ctx.config.dedup),
                outcomes,
                pruned_seen,
            };
            let bytes = batch.bytes;
            let writing = std::time::Instant::now();
            let r = pipeline::store::store(&ctx.store, batch).await;
            ctx.ops.metrics.write_latency(writing.elapsed());
            if r.is_ok() {
                ctx.ops.metrics.fetch(&feed.url, "ok", bytes);
            }
            let r = r.map(|counts| {
                pre_counts.add(&counts);
                tracing::info!(
                    feed = %feed.url, new = pre_counts.new, updated = pre_counts.updated,
                    unchanged = pre_counts.unchanged, flagged = pre_counts.flagged,
                    dropped = pre_counts.dropped_total(), removed_lines = ?pre_counts.removed_lines,
                    next_poll = %next, reason = reason.as_str(), "feed stored"
                );
                pre_counts
            });
            (r, next)
        }
    };
    match result {
        Ok(counts) => {
            ctx.ops.metrics.items(&feed.url, &counts);
            Polled {
                outcome: FeedOutcome::Stored(counts),
                next_poll_at: Some(next),
                consecutive_errors: 0,
                retired: false,
                deferred: false,
            }
        }
        Err(e) => fail(ctx, feed, row, FeedError::Store(e)).await,
    }
}

async fn fail(ctx: &Context, feed: &FeedConfig, row: &FeedRow, e: FeedError) -> Polled {
    let policy = Policy::from(&ctx.config.fetch);
    let fetch_error = match &e {
        FeedError::Fetch(f) => Some(f),
        _ => None,
    };
    let http_status = fetch_error.and_then(FetchError::http_status);
    let retire = http_status == Some(410);
    // Not the feed's fault: a host-wide pause we honour, or our own network being down.
    let network_down =
        fetch_error.is_some_and(|f| f.is_network() && ctx.network.failure_looks_local(&feed.url));
    let counted = !network_down && !matches!(fetch_error, Some(FetchError::HostPaused { .. }));
    let errors = if counted { row.consecutive_errors.saturating_add(1) } else { row.consecutive_errors };
    let hints =
        scheduler::Hints { retry_after: fetch_error.and_then(FetchError::retry_after), ..stored_hints(row) };
    let (next, reason) = scheduler::next_check(
        Timestamp::now(),
        &policy,
        feed.interval,
        None,
        PollOutcome::Failure { consecutive_errors: u32::try_from(errors.max(1)).unwrap_or(u32::MAX) },
        &hints,
        jitter(),
    );
    ctx.ops.metrics.fetch(&feed.url, e.kind(), 0);
    let mut message = pipeline::fetch::error_chain(&e);
    if network_down {
        message =
            format!("every recent request failed at the network level (our network looks down): {message}");
    }
    if retire {
        tracing::warn!(feed = %feed.url, "feed is gone (410): retired, no longer polled");
    } else {
        tracing::warn!(
            feed = %feed.url, kind = e.kind(), error = %message, consecutive_errors = errors,
            counted, next_poll = %next, reason = reason.as_str(), "feed poll failed"
        );
    }
    let failure = FeedFailure {
        feed_id: row.id,
        at: Timestamp::now(),
        kind: e.kind(),
        message: &message,
        http_status,
        counted,
        retire,
        next_poll_at: next,
        next_poll_reason: if retire { "retired" } else { reason.as_str() },
    };
    if let Err(store_err) = ctx.store.record_failure(failure).await {
        tracing::error!(feed = %feed.url, error = %store_err, "cannot record feed failure in the database");
    }
    Polled {
        outcome: FeedOutcome::Failed(e),
        next_poll_at: Some(next),
        consecutive_errors: errors,
        retired: retire,
        deferred: network_down,
    }
}

/// Follows permanent redirects: a target seen on `redirect_adopt_after` consecutive polls becomes
/// the feed's effective URL (the config's url stays its identity); logged once when adopted.
async fn track_redirect(ctx: &Context, feed: &FeedConfig, row: &FeedRow, moved_to: Option<&str>) {
    let streak = match moved_to {
        Some(target) if row.redirect_to.as_deref() == Some(target) => row.redirect_streak.saturating_add(1),
        Some(_) => 1,
        None if row.redirect_streak == 0 => return,
        None => 0,
    };
    let adopt = moved_to.filter(|_| streak >= i64::from(ctx.config.fetch.redirect_adopt_after));
    let effective = adopt.or(row.effective_url.as_deref());
    if let Some(target) = adopt
        && row.effective_url.as_deref() != Some(target)
    {
        tracing::warn!(
            feed = %feed.url, moved_to = target, polls = streak,
            "feed moved permanently; now fetching the new URL (update the config's url to make it permanent)"
        );
    }
    if let Err(e) = ctx.store.record_redirect(row.id, moved_to, streak, effective).await {
        tracing::error!(feed = %feed.url, error = %e, "cannot record redirect state");
    }
}

/// What a successful fetch came to.
enum Fetched {
    /// 304, or a 200 whose body is byte-identical to the last one: nothing to parse.
    Unchanged {
        status: Option<u16>,
        validators: Validators,
        fresh_for: Option<Duration>,
        bytes: usize,
    },
    Parsed(Box<Prepared>),
}

struct Prepared {
    body: crate::model::FetchedBody,
    parsed: crate::model::ParsedFeed,
    outcomes: Vec<crate::db::StagedItem>,
    /// Counts decided before the write: unchanged items, items dropped while parsing.
    pre_counts: ItemCounts,
    /// The feed's entry spacing, for adaptive scheduling.
    adaptive: Option<Duration>,
    /// Guids of pruned items the document still lists.
    pruned_seen: Vec<String>,
}

async fn fetch_and_process(ctx: &Context, feed: &FeedConfig, row: &FeedRow) -> Result<Fetched, FeedError> {
    let validators = Validators { etag: row.etag.clone(), last_modified: row.last_modified.clone() };
    let effective = row.effective_url.as_deref().and_then(|u| url::Url::parse(u).ok());
    let body = match ctx.fetcher.fetch(feed, &validators, effective.as_ref()).await? {
        FetchOutcome::NotModified { validators: fresh, fresh_for, moved_to } => {
            track_redirect(ctx, feed, row, moved_to.as_deref()).await;
            // Keep the old validators unless the server sent new ones.
            let validators = Validators {
                etag: fresh.etag.or(validators.etag),
                last_modified: fresh.last_modified.or(validators.last_modified),
            };
            return Ok(Fetched::Unchanged { status: Some(304), validators, fresh_for, bytes: 0 });
        }
        FetchOutcome::Fresh(body) => {
            track_redirect(ctx, feed, row, body.moved_to.as_deref()).await;
            body
        }
    };
    let hash = ContentHash::of(&body.bytes).0;
    if row.body_hash.as_deref() == Some(hash.as_str()) {
        // Same bytes as last time: skip parsing, but save the (possibly new) validators.
        let validators = Validators { etag: body.etag.clone(), last_modified: body.last_modified.clone() };
        return Ok(Fetched::Unchanged {
            status: body.http_status,
            validators,
            fresh_for: body.fresh_for,
            bytes: body.bytes.len(),
        });
    }
    let known = ctx.store.item_hashes(row.id).await?;
    let config = Arc::clone(&ctx.config);
    let owned_feed = feed.clone();
    // Parsing and cleaning are CPU-bound: keep them off the async workers. A panic in any pure
    // stage surfaces as a JoinError and becomes this feed's error.
    let (body, feed_doc, mut pre_counts, adaptive, changed) = blocking(move || {
        let parsed = pipeline::parse::parse(&body, config.fetch.max_body)?;
        tracing::debug!(
            feed = %owned_feed.name, route = ?parsed.route, encoding = parsed.encoding,
            items = parsed.feed.items.len(), "parsed"
        );
        let mut pre_counts = ItemCounts::default();
        for _ in 0..parsed.repeated_guids {
            pre_counts.drop(DropReason::RepeatedGuid);
        }
        let mut feed_doc = parsed.feed;
        let items = std::mem::take(&mut feed_doc.items);
        let dates: Vec<_> = items.iter().filter_map(|i| i.published.or(i.updated)).collect();
        let adaptive = scheduler::adaptive_interval(&dates);
        let changed = pipeline::store::changed_items(items, &known);
        pre_counts.unchanged = changed.unchanged;
        Ok((body, feed_doc, pre_counts, adaptive, changed))
    })
    .await?;
    let pruned_seen = changed.pruned;
    let mut items = changed.items;
    if feed.full_text != crate::config::FullText::Off {
        attach_pages(ctx, feed, row.id, &mut items).await;
    }
    let config = Arc::clone(&ctx.config);
    let owned_feed = feed.clone();
    let (outcomes, pre_counts) = blocking(move || {
        let settings = ItemSettings::for_feed(&config, &owned_feed, Timestamp::now());
        let outcomes = items
            .into_iter()
            .map(|raw| crate::db::StagedItem::from(pipeline::process(raw, &settings, &mut pre_counts)))
            .collect();
        Ok((outcomes, pre_counts))
    })
    .await?;
    Ok(Fetched::Parsed(Box::new(Prepared {
        body,
        parsed: feed_doc,
        outcomes,
        pre_counts,
        adaptive,
        pruned_seen,
    })))
}

/// Runs CPU-bound work on the blocking pool, as many at once as there are cores; a panic
/// becomes a `process` error of the feed.
///
/// Without the bound, each of the `fetch.concurrency` polls in flight would parse and clean on a
/// thread of its own: dozens of runnable threads, among which the kernel shares the cores
/// fairly, so that the store's writer (one thread, the ingest's critical path) got a small
/// share and each of its statements waited behind them (a third of the end-to-end pass).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FeedError> + Send + 'static,
) -> Result<T, FeedError> {
    static CORES: std::sync::LazyLock<Semaphore> = std::sync::LazyLock::new(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    });
    // Never closed; a closed semaphore would only mean running unbounded.
    let _core = CORES.acquire().await;
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        Err(join) => Err(FeedError::Process(if join.is_panic() {
            let p = join.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            format!("panicked: {msg}")
        } else {
            "cancelled".into()
        })),
    }
}

/// Fetches the article page of every item of `items` that wants one (`full_text`), at most
/// `full_text.concurrency` pages at once over all feeds, and attaches it to the item. A page
/// that fails is attached with its error: the item keeps its feed content.
async fn attach_pages(ctx: &Context, feed: &FeedConfig, feed_id: i64, items: &mut [crate::model::RawItem]) {
    let min_words = ctx.config.full_text.min_words;
    let wanted: Vec<usize> = (0..items.len())
        .filter(|&i| pipeline::page::wants_page(feed.full_text, &items[i], min_words))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let guids: Vec<String> = wanted.iter().map(|&i| items[i].guid.clone()).collect();
    let previous = ctx.store.previous_pages(feed_id, &guids).await.unwrap_or_else(|e| {
        tracing::warn!(feed = %feed.url, error = %e, "cannot read stored pages; fetching them afresh");
        HashMap::new()
    });
    let fetches = wanted.iter().map(|&i| {
        let item = &items[i];
        let link = item.link.clone().unwrap_or_default();
        fetch_page(ctx, feed, link, previous.get(&item.guid))
    });
    let pages = futures_util::future::join_all(fetches).await;
    for (&i, page) in wanted.iter().zip(pages) {
        items[i].page = Some(page);
    }
}

/// One article page: fetched (conditionally when the stored one is for the same link), decoded
/// and extracted.
async fn fetch_page(
    ctx: &Context,
    feed: &FeedConfig,
    link: String,
    previous: Option<&crate::model::Page>,
) -> crate::model::Page {
    use crate::model::Page;
    let _permit = ctx.pages.acquire().await.ok();
    let now = chrono::Utc::now();
    let failed = |url: String, error: String, status: Option<u16>| Page {
        url,
        http_status: status,
        fetched_at: Some(now),
        error: Some(error),
        ..Page::default()
    };
    let url = match url::Url::parse(&link) {
        Ok(u) => u,
        Err(e) => return failed(link, format!("bad link: {e}"), None),
    };
    let previous = previous.filter(|p| p.url == link && p.error.is_none());
    let validators = previous
        .map(|p| Validators { etag: p.etag.clone(), last_modified: p.last_modified.clone() })
        .unwrap_or_default();
    match ctx.fetcher.fetch_page(&url, feed.allow_private, &validators).await {
        Ok(FetchOutcome::NotModified { .. }) => {
            ctx.ops.metrics.page("not_modified");
            match previous {
                Some(p) => Page { fetched_at: Some(now), http_status: Some(304), ..p.clone() },
                None => failed(link, "304 Not Modified without a stored page".into(), Some(304)),
            }
        }
        Ok(FetchOutcome::Fresh(body)) => {
            let final_url = body.final_url.clone().unwrap_or_else(|| link.clone());
            let base = final_url.clone();
            let extracted = blocking(move || {
                let html = pipeline::page::decode_html(&body.bytes, body.content_type.as_deref());
                Ok((pipeline::page::extract(&html, &base), body))
            })
            .await;
            match extracted {
                Ok((ex, body)) => {
                    ctx.ops.metrics.page(if ex.html.is_some() { "ok" } else { "no_article" });
                    let error = ex.html.is_none().then(|| "no article text found on the page".to_string());
                    Page {
                        url: link,
                        final_url: Some(final_url),
                        http_status: body.http_status,
                        fetched_at: Some(now),
                        etag: body.etag,
                        last_modified: body.last_modified,
                        html: ex.html,
                        meta: ex.meta,
                        error,
                    }
                }
                Err(e) => {
                    ctx.ops.metrics.page("process");
                    failed(link, e.to_string(), None)
                }
            }
        }
        Err(e) => {
            ctx.ops.metrics.page(e.kind());
            let message = format!("{}: {}", e.kind(), pipeline::fetch::error_chain(&e));
            tracing::warn!(feed = %feed.url, page = %link, error = %message, "article page fetch failed");
            failed(link, message, e.http_status())
        }
    }
}

/// Runs one pass over every enabled feed (at most `fetch.concurrency` at once) and returns the
/// totals. Stops starting feeds once `ctx.cancel` is cancelled.
pub async fn run_once(ctx: &Context) -> Result<PassSummary, StoreError> {
    let rows = ctx.store.sync_feeds(&ctx.config.feeds).await?;
    let limit = Arc::new(Semaphore::new(ctx.config.fetch.concurrency));
    let mut tasks = JoinSet::new();
    let mut summary = PassSummary::default();
    let mut deferred = Vec::new();
    let mut tally = |joined: Result<(i64, Polled), tokio::task::JoinError>| match joined {
        Ok((feed_id, polled)) => {
            if polled.deferred {
                deferred.push(feed_id);
            }
            summary.add(&polled.outcome);
        }
        Err(e) => {
            tracing::error!(error = %e, "feed task failed");
            summary.feeds_failed += 1;
        }
    };
    for feed in ctx.config.enabled_feeds() {
        // A retired feed (410 Gone) is not polled; its data stays.
        let Some(row) = rows.get(&feed.url).filter(|r| r.retired_at.is_none()).cloned() else { continue };
        // Feeds start in config order, and no more tasks exist than may run: a permit is taken
        // before a feed's task is spawned. The semaphore is never closed; if it were, polling
        // without a permit is harmless.
        let permit = tokio::select! {
            permit = Arc::clone(&limit).acquire_owned() => permit.ok(),
            () = ctx.cancel.cancelled() => break,
        };
        // Collect the finished ones as we go: a finished task keeps its whole future's memory
        // (several KiB) until it is joined, which over 10,000 feeds was 55 MiB.
        while let Some(joined) = tasks.try_join_next() {
            tally(joined);
        }
        let (ctx, feed) = (ctx.clone(), feed.clone());
        tasks.spawn(async move {
            let _permit = permit;
            (row.id, poll_feed(&ctx, &feed, &row).await)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        tally(joined);
    }
    // Failures deferred while nothing had succeeded yet count after all if something did.
    if !deferred.is_empty() && summary.feeds_ok > 0 {
        ctx.store.count_deferred_failures(&deferred).await?;
    }
    if !ctx.cancel.is_cancelled() {
        prune(ctx).await;
    }
    Ok(summary)
}

/// How often the daemon applies `[retention] keep`.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Applies `[retention] keep` (when set): prunes what was first stored before the window. A
/// failure is logged and retried at the next run; nothing half-done is committed.
pub async fn prune(ctx: &Context) {
    let Some(keep) = ctx.config.retention.keep else { return };
    let Ok(keep) = chrono::Duration::from_std(keep) else { return };
    let cutoff = Timestamp(chrono::Utc::now() - keep);
    let window_days = pipeline::dedup::DedupSettings::from_config(&ctx.config.dedup).window_days;
    match ctx.store.prune(cutoff, window_days).await {
        Ok(p) if p == crate::db::Pruned::default() => {
            tracing::debug!(cutoff = %cutoff, "retention: nothing to prune");
        }
        Ok(p) => tracing::info!(
            cutoff = %cutoff, items = p.items, tombstones = p.tombstones, dedup_rows = p.dedup_rows,
            "retention: pruned"
        ),
        Err(e) => tracing::error!(error = %e, "retention: pruning failed"),
    }
}

/// How often the scheduler loop turns even when no feed is due: its heartbeat (for `/healthz`
/// and the watchdog) and the systemd status line.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// The feeds the daemon polls: enabled, and not retired.
fn polled_feeds(config: &Config, rows: &HashMap<String, FeedRow>) -> Vec<FeedConfig> {
    config
        .enabled_feeds()
        .filter(|f| rows.get(&f.url).is_some_and(|r| r.retired_at.is_none()))
        .cloned()
        .collect()
}

/// When a feed is first due: its stored next poll, or now.
fn first_due(row: Option<&FeedRow>, now: tokio::time::Instant) -> tokio::time::Instant {
    row.and_then(|r| r.next_poll_at.as_deref()).and_then(Timestamp::parse).map_or(now, instant_of)
}

/// The daemon loop: polls each enabled feed whenever it is due, until `shutdown` resolves; then
/// stops new work and waits up to [`SHUTDOWN_GRACE`] for in-flight batches. A config arriving on
/// `reloads` (SIGHUP, already validated) replaces the running one: added feeds are polled at
/// once, removed ones are no longer polled (their data stays), changed settings apply from the
/// next poll.
pub async fn run(
    mut ctx: Context,
    shutdown: impl Future<Output = ()>,
    mut reloads: tokio::sync::mpsc::Receiver<Config>,
) -> Result<PassSummary, StoreError> {
    let mut rows = ctx.store.sync_feeds(&ctx.config.feeds).await?;
    let mut feeds = polled_feeds(&ctx.config, &rows);
    // url -> when it is due. A feed with a stored next poll in the past (or none) is due now.
    let now = tokio::time::Instant::now();
    let mut due: HashMap<String, tokio::time::Instant> =
        feeds.iter().map(|f| (f.url.clone(), first_due(rows.get(&f.url), now))).collect();
    let mut concurrency = ctx.config.fetch.concurrency;
    let mut limit = Arc::new(Semaphore::new(concurrency));
    let mut in_flight: JoinSet<(String, Polled)> = JoinSet::new();
    let mut running: HashSet<String> = HashSet::new();
    // Which feed each task polls, so that a task that panicked still frees its feed.
    let mut task_feed: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut summary = PassSummary::default();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention = tokio::time::interval(RETENTION_EVERY);
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruning: Option<tokio::task::JoinHandle<()>> = None;
    let watchdog = spawn_watchdog(&ctx);
    ctx.ops.metrics.feeds_polled(feeds.len());
    ctx.ops.metrics.beat();
    tracing::info!(feeds = feeds.len(), "daemon started");
    ctx.ops.notify.ready(&status_line(feeds.len(), &summary));
    tokio::pin!(shutdown);

    loop {
        ctx.ops.metrics.beat();
        let now = tokio::time::Instant::now();
        for feed in &feeds {
            let Some(at) = due.get(&feed.url).copied() else { continue };
            if running.contains(&feed.url) || at > now {
                continue;
            }
            let Some(row) = rows.get(&feed.url).cloned() else { continue };
            running.insert(feed.url.clone());
            let (ctx, feed, limit) = (ctx.clone(), feed.clone(), Arc::clone(&limit));
            let url = feed.url.clone();
            let handle = in_flight.spawn(async move {
                let _permit = limit.acquire_owned().await.ok();
                ctx.ops.metrics.scheduler_lag(tokio::time::Instant::now().saturating_duration_since(at));
                let polled = poll_feed(&ctx, &feed, &row).await;
                (feed.url, polled)
            });
            task_feed.insert(handle.id(), url);
        }
        let next_due = feeds
            .iter()
            .filter(|f| !running.contains(&f.url))
            .filter_map(|f| due.get(&f.url).copied())
            .min()
            .unwrap_or_else(|| now + Duration::from_secs(3600));

        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep_until(next_due) => {}
            _ = heartbeat.tick() => {
                ctx.ops.notify.status(&status_line(feeds.len(), &summary));
            }
            _ = retention.tick() => {
                if ctx.config.retention.keep.is_some() && pruning.as_ref().is_none_or(|p| p.is_finished()) {
                    let ctx = ctx.clone();
                    pruning = Some(tokio::spawn(async move { prune(&ctx).await }));
                }
            }
            Some(config) = reloads.recv() => {
                match reload(&mut ctx, config).await {
                    Ok(fresh) => {
                        let old = std::mem::take(&mut feeds);
                        rows = fresh;
                        feeds = polled_feeds(&ctx.config, &rows);
                        let now = tokio::time::Instant::now();
                        let mut next = HashMap::new();
                        for f in &feeds {
                            let at = match (old.iter().find(|o| o.url == f.url), due.get(&f.url)) {
                                // Added by this reload: polled at once.
                                (None, _) | (_, None) => now,
                                // A changed interval applies now if it makes the feed due sooner.
                                (Some(o), Some(at)) if o.interval != f.interval => {
                                    let sooner = f.interval.map(|i| now + i).unwrap_or(*at);
                                    (*at).min(sooner)
                                }
                                (Some(_), Some(at)) => *at,
                            };
                            next.insert(f.url.clone(), at);
                        }
                        due = next;
                        if ctx.config.fetch.concurrency != concurrency {
                            // Polls in flight keep their permits of the old limit.
                            concurrency = ctx.config.fetch.concurrency;
                            limit = Arc::new(Semaphore::new(concurrency));
                        }
                        ctx.ops.metrics.feeds_polled(feeds.len());
                        tracing::info!(
                            feeds = feeds.len(), added = feeds.iter().filter(|f| !old.iter().any(|o| o.url == f.url)).count(),
                            removed = old.iter().filter(|o| !feeds.iter().any(|f| f.url == o.url)).count(),
                            "config reloaded"
                        );
                    }
                    Err(e) => tracing::error!(error = %e, "config reload failed; the running config stays"),
                }
                ctx.ops.notify.ready(&status_line(feeds.len(), &summary));
            }
            Some(joined) = in_flight.join_next_with_id() => {
                let (url, polled) = match joined {
                    Ok((id, done)) => {
                        task_feed.remove(&id);
                        done
                    }
                    Err(e) => {
                        // A bug, not a feed problem: free the feed and try it again later.
                        if let Some(url) = task_feed.remove(&e.id()) {
                            tracing::error!(feed = %url, error = %e, "feed task failed");
                            running.remove(&url);
                            if let Some(at) = due.get_mut(&url) {
                                *at = tokio::time::Instant::now() + ctx.config.fetch.default_interval;
                            }
                        }
                        continue;
                    }
                };
                running.remove(&url);
                summary.add(&polled.outcome);
                if polled.retired {
                    feeds.retain(|f| f.url != url);
                    due.remove(&url);
                    continue;
                }
                if !due.contains_key(&url) {
                    // Removed by a reload while it was being polled.
                    continue;
                }
                // The poll changed the feed's validators, hints and error count: re-read its row.
                match ctx.store.feed_row(&url).await {
                    Ok(Some(fresh)) => {
                        rows.insert(url.clone(), fresh);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(feed = %url, error = %e, "cannot re-read the feed's state");
                        if let Some(row) = rows.get_mut(&url) {
                            row.consecutive_errors = polled.consecutive_errors;
                        }
                    }
                }
                let at = polled
                    .next_poll_at
                    .map(instant_of)
                    .unwrap_or_else(|| tokio::time::Instant::now() + ctx.config.fetch.default_interval);
                due.insert(url, at);
            }
        }
    }

    tracing::info!(in_flight = in_flight.len(), "shutdown requested: stopping new polls");
    ctx.ops.notify.stopping();
    ctx.cancel.cancel();
    if let Some(w) = watchdog {
        w.abort();
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(joined) = in_flight.join_next().await {
            if let Ok((_, polled)) = joined {
                summary.add(&polled.outcome);
            }
        }
        if let Some(p) = pruning {
            let _ = p.await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = in_flight.len(),
            "in-flight feeds did not finish in time; their batches roll back"
        );
        in_flight.abort_all();
    }
    Ok(summary)
}

/// Applies a new (validated) config: the feed table, then the fetcher if `[fetch]` changed
/// (per-host pauses and spacing live in the fetcher and are kept otherwise). Settings that need
/// a restart (`database.path`, `[http]`) are logged and left as they are.
async fn reload(ctx: &mut Context, mut config: Config) -> Result<HashMap<String, FeedRow>, String> {
    if config.database.path != ctx.config.database.path {
        tracing::warn!("database.path changed: the new path is used after a restart");
        config.database.path.clone_from(&ctx.config.database.path);
    }
    if config.http.as_ref().map(|h| h.listen) != ctx.config.http.as_ref().map(|h| h.listen) {
        tracing::warn!("[http] changed: the endpoint changes after a restart");
    }
    let same_fetch = toml::to_string(&config.fetch).ok() == toml::to_string(&ctx.config.fetch).ok();
    let fetcher = if same_fetch {
        Arc::clone(&ctx.fetcher)
    } else {
        Arc::new(Fetcher::new(&config.fetch).map_err(|e| format!("cannot set up the HTTP client: {e}"))?)
    };
    let rows = ctx.store.sync_feeds(&config.feeds).await.map_err(|e| e.to_string())?;
    ctx.fetcher = fetcher;
    ctx.config = Arc::new(config);
    Ok(rows)
}

/// The systemd status line.
fn status_line(feeds: usize, s: &PassSummary) -> String {
    format!(
        "polling {feeds} feeds; since start: {} polls ok, {} failed; {} new, {} updated, {} duplicate, {} flagged items",
        s.feeds_ok, s.feeds_failed, s.items.new, s.items.updated, s.items.duplicate, s.items.flagged
    )
}

/// Pings systemd's watchdog at half its timeout, only while the scheduler loop turns and the
/// database answers: a hung daemon gets restarted.
fn spawn_watchdog(ctx: &Context) -> Option<tokio::task::JoinHandle<()>> {
    let every = ctx.ops.notify.watchdog_interval()?;
    let (ops, store, cancel) = (Arc::clone(&ctx.ops), ctx.store.clone(), ctx.cancel.clone());
    Some(tokio::spawn(async move {
        let stale = HEARTBEAT * 3;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let scheduler_ok = ops.metrics.heartbeat_age().is_some_and(|a| a <= stale);
            let db_ok = matches!(tokio::time::timeout(every, store.ping()).await, Ok(Ok(())));
            if scheduler_ok && db_ok {
                ops.notify.watchdog();
            } else {
                tracing::warn!(scheduler_ok, db_ok, "watchdog not pinged: the daemon looks stuck");
            }
        }
    }))
}

/// The monotonic instant corresponding to a wall-clock timestamp (now, if it is in the past).
fn instant_of(t: Timestamp) -> tokio::time::Instant {
    tokio::time::Instant::now() + (t.0 - chrono::Utc::now()).to_std().unwrap_or_default()
}
