//! Storage: the only place SQL lives.
//!
//! SQLite through sqlx: WAL, `synchronous = NORMAL`, a busy timeout, foreign keys, the file
//! created if missing and migrated (`migrations/`, embedded with `sqlx::migrate!`) when opened.
//! SQLite has one writer, so writes go through a pool of exactly one connection and every write
//! transaction starts with `BEGIN IMMEDIATE` (a deferred transaction that reads then writes can
//! fail with `SQLITE_BUSY` without waiting). Reads use a separate pool and never block writes;
//! one more connection checkpoints the WAL beside the writer, after its commits.
//!
//! The rest of the program sees only [`Store`]'s methods and plain Rust types; a PostgreSQL
//! backend would implement the same methods without touching the pipeline.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

/// The columns of an [`ExportRow`], from `articles a` and `feeds f`.
macro_rules! export_columns {
    () => {
        "a.id, f.url AS feed_url, f.name AS feed_name, a.guid, a.url, a.canonical_url,
         a.title, a.author, a.published_at, a.updated_at, a.fetched_at, a.lang, a.text,
         a.html, a.auto_generated, a.auto_generated_rule, a.auto_generated_marker,
         a.duplicate_of, a.duplicate_kind, a.similarity"
    };
}

/// [`ExportRow`]s: `articles a` joined with `feeds f`.
macro_rules! export_select {
    () => {
        concat!("SELECT ", export_columns!(), " FROM articles a JOIN feeds f ON f.id = a.feed_id")
    };
}

mod dedup;
mod reprocess;
mod retention;
mod search;

pub use reprocess::StoredRaw;
pub use retention::{PRUNED, Pruned};
pub use search::{SearchError, SearchHit, SearchQuery};

use crate::config::FeedConfig;
use crate::model::{ItemCounts, ItemOutcome, ParsedFeed, Timestamp};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A storage failure. `Unusable` (cannot open or migrate) is fatal for the process; the others
/// fail one operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path} cannot be opened: {source}")]
    Unusable { path: String, source: sqlx::Error },
    #[error("database {path} cannot be migrated: {source}")]
    Migrate { path: String, source: sqlx::migrate::MigrateError },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Handle to the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Exactly one connection: SQLite allows one writer, and queuing here is cheaper and fairer
    /// than retrying on SQLITE_BUSY.
    writer: SqlitePool,
    /// Readers: WAL lets them run beside the writer.
    reader: SqlitePool,
    /// One connection that checkpoints the WAL after the writer's commits (see [`checkpointer`]).
    checkpoints: SqlitePool,
    /// Feed batches for the group writer (see [`Store::write_batch`]).
    batches: tokio::sync::mpsc::Sender<BatchJob>,
}

/// A feed batch waiting for the group writer, and where its result goes.
#[derive(Debug)]
struct BatchJob {
    batch: FeedBatch,
    reply: tokio::sync::oneshot::Sender<Result<ItemCounts, StoreError>>,
}

/// At most this many feed batches share one transaction (the default `fetch.concurrency`: a group
/// can hold every poll in flight) …
const GROUP_BATCHES: usize = 64;
/// … and at most about this many items. Larger groups write less: every group rewrites the pages
/// its rows land on, and the band-key index's rows land on random pages.
const GROUP_ITEMS: usize = 8_000;

/// The columns of [`FeedRow`], in one place for every query that reads it.
macro_rules! feed_row_columns {
    () => {
        "id, url, next_poll_at, consecutive_errors, etag, last_modified, body_hash, feed_min_secs, \
         adaptive_secs, skip_hours, skip_days, retired_at, redirect_to, redirect_streak, effective_url"
    };
}

/// A feed's row id and schedule, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct FeedRow {
    pub id: i64,
    pub url: String,
    pub next_poll_at: Option<String>,
    pub consecutive_errors: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub feed_min_secs: Option<i64>,
    pub adaptive_secs: Option<i64>,
    pub skip_hours: Option<String>,
    pub skip_days: Option<String>,
    pub retired_at: Option<String>,
    pub redirect_to: Option<String>,
    pub redirect_streak: i64,
    pub effective_url: Option<String>,
}

/// A poll that needed no parsing: a 304, or a 200 with the same body as last time.
#[derive(Debug)]
pub struct Unchanged<'a> {
    pub feed_id: i64,
    pub at: Timestamp,
    pub http_status: Option<u16>,
    /// The validators to keep (new ones when the server sent them).
    pub validators: crate::model::Validators,
    pub bytes: usize,
    pub next_poll_at: Timestamp,
    pub next_poll_reason: &'a str,
}

/// What one successful poll of a feed produced, written in one transaction.
#[derive(Debug)]
pub struct FeedBatch {
    pub feed_id: i64,
    pub fetched_at: Timestamp,
    /// The document's own fields (its items are in `outcomes`).
    pub feed: ParsedFeed,
    pub body_hash: String,
    /// Bytes received for this poll.
    pub bytes: usize,
    /// The entry spacing (adaptive scheduling), stored for polls that do not parse.
    pub adaptive: Option<Duration>,
    pub http_status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_poll_at: Timestamp,
    pub next_poll_reason: &'static str,
    /// How new articles are linked to earlier copies.
    pub dedup: crate::pipeline::dedup::DedupSettings,
    /// New or changed items (unchanged ones were filtered out before processing).
    pub outcomes: Vec<StagedItem>,
    /// Guids of pruned items the document still lists (their tombstones are kept alive).
    pub pruned_seen: Vec<String>,
}

/// An item ready for the writer: its outcome, and what the write derives from its raw item (the
/// stored form, the content hash, the article page's word count and whether its body won),
/// computed where the item was processed (in parallel) rather than by the single writer, whose
/// transaction is the ingest's critical path. The raw item's bodies (summary, content, page
/// HTML) are then only in the stored form: `outcome`'s raw item keeps its identity and page
/// metadata, all the writer reads, so that a queued batch does not hold every body twice.
#[derive(Debug)]
pub struct StagedItem {
    pub outcome: ItemOutcome,
    raw_json: Arc<str>,
    content_hash: Arc<str>,
    /// Words of the extracted page body, and whether it replaced the feed's.
    page_words: usize,
    page_used: bool,
}

impl From<ItemOutcome> for StagedItem {
    fn from(mut outcome: ItemOutcome) -> Self {
        let raw = raw_of_mut(&mut outcome);
        let (json, hash) = raw.encode();
        let page_html = raw.page.as_ref().and_then(|p| p.html.as_deref());
        let page_words = page_html
            .map_or(0, |h| crate::pipeline::page::word_count(&crate::pipeline::clean::inline_text(h)));
        let page_used = page_html.is_some_and(|h| crate::pipeline::page::page_body_wins(raw, h));
        raw.summary = None;
        raw.content = None;
        if let Some(page) = &mut raw.page {
            page.html = None;
        }
        StagedItem { outcome, raw_json: json.into(), content_hash: hash.0.into(), page_words, page_used }
    }
}

/// A failed poll, for the feed's health record.
#[derive(Debug)]
pub struct FeedFailure<'a> {
    pub feed_id: i64,
    pub at: Timestamp,
    pub kind: &'a str,
    pub message: &'a str,
    pub http_status: Option<u16>,
    /// Whether this failure counts against the feed (not when our network is down or a host
    /// asked everyone to wait).
    pub counted: bool,
    /// 410 Gone: the feed is retired and no longer polled.
    pub retire: bool,
    pub next_poll_at: Timestamp,
    pub next_poll_reason: &'a str,
}

/// One article as exported (DESIGN §3): field names are the contract.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ExportRow {
    pub id: i64,
    pub feed_url: String,
    pub feed_name: String,
    pub guid: String,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub fetched_at: Option<String>,
    pub lang: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub auto_generated: bool,
    pub auto_generated_rule: Option<String>,
    pub auto_generated_marker: Option<String>,
    pub duplicate_of: Option<i64>,
    pub duplicate_kind: Option<String>,
    pub similarity: Option<f64>,
}

/// Which articles to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Include duplicates (`--all`).
    pub all: bool,
    /// Only articles fetched at or after this instant.
    pub since: Option<Timestamp>,
}

/// One feed's health, as `feedsieve feeds` shows it (the `feed_health` view).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct FeedHealthRow {
    pub url: String,
    pub name: String,
    pub in_config: bool,
    pub enabled: bool,
    pub last_fetch_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_status: Option<String>,
    pub last_http_status: Option<i64>,
    pub last_error_kind: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_errors: i64,
    pub next_poll_at: Option<String>,
    pub next_poll_reason: Option<String>,
    pub retired_at: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub effective_url: Option<String>,
    pub count_200: i64,
    pub count_304: i64,
    pub count_errors: i64,
    pub bytes_received: i64,
    pub items_stored: i64,
}

/// Counts for `feedsieve stats`: one row per feed, and the totals.
#[derive(Debug, Clone, Default, Serialize, FromRow)]
pub struct StatsRow {
    pub url: String,
    pub name: String,
    /// Stored articles.
    pub items: i64,
    pub flagged: i64,
    pub duplicates: i64,
    /// Sightings without an article (e.g. `flag.action = "drop"`).
    pub dropped: i64,
    #[sqlx(skip)]
    pub languages: std::collections::BTreeMap<String, i64>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unusable { path: shown.clone(), source: sqlx::Error::Io(e) })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| StoreError::Unusable { path: shown.clone(), source: e })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // A new database gets 16 KiB pages (SQLite's default is 4 KiB): an article with its
            // HTML, or a raw item, then fits in a page instead of a chain of overflow pages, and
            // a commit writes a quarter as many WAL frames (one syscall and checksum each). The
            // end-to-end and fetch benches ingest 8-12% faster. An existing database keeps its
            // page size (WAL mode cannot change it).
            .page_size(16_384)
            .foreign_keys(true);
        // The writer gets a 32 MiB page cache (SQLite's default is 2 MiB): the dedup and FTS
        // indexes are written at random keys, and a small cache turns each insert into page
        // reads once the database outgrows it. The WAL is checkpointed beside it, after its
        // commits, by a connection of its own (`checkpointer`): a checkpoint copies pages into
        // the database file and waits for two fsyncs, which inside the writer's commit held up
        // the whole ingest. The writer checkpoints itself only past 4,096 pages (64 MiB), should
        // that one fall behind; a WAL file that grew past 64 MiB in a burst is cut back to it
        // when the WAL starts over. Its temporary files stay in memory: the multi-row inserts run
        // with a statement journal, which SQLite otherwise spills to a temporary file past 64 KiB
        // (~5% of the end-to-end time went to those writes). Only this connection: readers' sorts
        // of large exports keep spilling to disk. Its rows come back through a channel deep
        // enough for a whole statement's (the raw-item insert returns one row per item).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(
                options
                    .clone()
                    .row_buffer_size(1024)
                    .pragma("cache_size", "-32768")
                    .pragma("wal_autocheckpoint", "4096")
                    .pragma("journal_size_limit", "67108864")
                    .pragma("temp_store", "memory"),
            )
            .await
            .map_err(|e| StoreError::Unusable { path: shown.clone(), source: e })?;
        migrate(&writer).await.map_err(|e| StoreError::Migrate { path: shown.clone(), source: e })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(|e| StoreError::Unusable { path: shown.clone(), source: e })?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unusable { path: shown.clone(), source: e })?;
        // One pending request at most: requests made while a checkpoint runs are one.
        let (commits, requests) = tokio::sync::mpsc::channel(1);
        tokio::spawn(checkpointer(checkpoints.clone(), requests));
        // Feed batches queue for one task that writes whatever has queued up in one transaction
        // (see `group_writer`); 64 waiting batches is the fetch side's default concurrency.
        let (batches, queue) = tokio::sync::mpsc::channel(64);
        tokio::spawn(group_writer(writer.clone(), queue, commits));
        Ok(Store { writer, reader, checkpoints, batches })
    }

    /// Checkpoints the WAL into the main file and closes every connection.
    pub async fn close(&self) {
        // First the background checkpointer (closing waits for a checkpoint it is running): two
        // checkpoints cannot run at once, and this one must truncate the WAL.
        self.checkpoints.close().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.writer).await {
            tracing::warn!(error = %e, "WAL checkpoint on close failed");
        }
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Cheap liveness check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Makes the `feeds` table match the config: every listed feed exists with its current name
    /// and enabled flag; feeds no longer listed are marked `in_config = 0` (their data stays).
    /// Returns the feeds' rows keyed by url.
    pub async fn sync_feeds(&self, feeds: &[FeedConfig]) -> Result<HashMap<String, FeedRow>, StoreError> {
        let now = Timestamp::now().to_db();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE feeds SET in_config = 0").execute(&mut *tx).await?;
        for f in feeds {
            sqlx::query(
                "INSERT INTO feeds (url, name, in_config, enabled, created_at) VALUES (?1, ?2, 1, ?3, ?4)
                 ON CONFLICT (url) DO UPDATE SET name = excluded.name, in_config = 1, enabled = excluded.enabled",
            )
            .bind(&f.url)
            .bind(&f.name)
            .bind(f.enabled)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        let rows: Vec<FeedRow> =
            sqlx::query_as(concat!("SELECT ", feed_row_columns!(), " FROM feeds WHERE in_config = 1"))
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|r| (r.url.clone(), r)).collect())
    }

    /// One feed's row as the scheduler needs it (validators, hints, error count), fresh from disk.
    pub async fn feed_row(&self, url: &str) -> Result<Option<FeedRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", feed_row_columns!(), " FROM feeds WHERE url = ?1"))
            .bind(url)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// guid -> content hash of every item stored for a feed (to skip unchanged items early);
    /// items pruned by retention map to [`PRUNED`].
    pub async fn item_hashes(&self, feed_id: i64) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT guid, content_hash FROM raw_items WHERE feed_id = ?1
             UNION ALL SELECT guid, 'pruned' FROM pruned_items WHERE feed_id = ?1",
        )
        .bind(feed_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The article pages stored with the items `guids` of a feed (for conditional re-fetches).
    pub async fn previous_pages(
        &self,
        feed_id: i64,
        guids: &[String],
    ) -> Result<HashMap<String, crate::model::Page>, StoreError> {
        let list = serde_json::to_string(guids).unwrap_or_else(|_| "[]".into());
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT guid, raw FROM raw_items
             WHERE feed_id = ?1 AND guid IN (SELECT value FROM json_each(?2)) AND raw LIKE '%\"page\":%'",
        )
        .bind(feed_id)
        .bind(list)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(guid, raw)| {
                let item: crate::model::RawItem = serde_json::from_str(&raw).ok()?;
                Some((guid, item.page?))
            })
            .collect())
    }

    /// Writes one feed's poll result atomically: the feed's health and validators, then every new
    /// or changed item. Either all of it commits or none.
    ///
    /// Group commit: batches that arrive while the writer is busy are written together in one
    /// `BEGIN IMMEDIATE` transaction when it is free. If the group fails, none of it is stored
    /// and its batches are written again one by one, so a batch that fails, fails alone and the
    /// others commit. Under load one commit then carries many
    /// feeds, and the index pages they share (dedup, full-text, URL and hash indexes) go to the
    /// WAL once instead of once per feed; an idle writer starts on a lone batch at once. A
    /// result is returned only after its transaction committed.
    pub async fn write_batch(&self, batch: FeedBatch) -> Result<ItemCounts, StoreError> {
        let (reply, result) = tokio::sync::oneshot::channel();
        if self.batches.send(BatchJob { batch, reply }).await.is_err() {
            return Err(StoreError::Sql(sqlx::Error::PoolClosed));
        }
        // A closed reply channel: the group writer failed while writing this batch.
        result.await.unwrap_or(Err(StoreError::Sql(sqlx::Error::WorkerCrashed)))
    }

    /// Writes `batches` (of distinct feeds, with the same dedup settings) inside the open
    /// transaction `tx`, each step for all of them at once: every statement is a round trip to
    /// the connection's thread, and on a busy machine that hand-off, not SQLite, bounds the
    /// ingest rate. The ids of the articles written are added to `unindexed`: the caller indexes
    /// them before it commits (see [`index_articles`]).
    async fn write_segment(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        batches: &[&FeedBatch],
        unindexed: &mut Vec<i64>,
    ) -> Result<Vec<ItemCounts>, StoreError> {
        let mut counts = vec![ItemCounts::default(); batches.len()];
        let Some(first) = batches.first() else { return Ok(counts) };
        let at: Vec<String> = batches.iter().map(|b| b.fetched_at.to_db()).collect();
        update_feeds(tx, batches, &at).await?;
        for (batch, at) in batches.iter().zip(&at) {
            Store::touch_tombstones(tx, batch.feed_id, &batch.pruned_seen, at).await?;
        }

        // Every item of the segment, with the index of its batch.
        let items: Vec<(usize, &StagedItem)> =
            batches.iter().enumerate().flat_map(|(i, b)| b.outcomes.iter().map(move |s| (i, s))).collect();
        // feed -> guid -> (id, revision) of the items inserted or changed; no row = unchanged.
        let mut written: Written = HashMap::new();
        for chunk in statement_chunks(&items, 512) {
            let mut raw_insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO raw_items (feed_id, guid, guid_derived, content_hash, raw, first_seen_at, last_seen_at) ",
            );
            raw_insert.push_values(chunk, |mut b, (i, staged)| {
                let raw = raw_of(&staged.outcome);
                b.push_bind(batches[*i].feed_id)
                    .push_bind(raw.guid.clone())
                    .push_bind(raw.guid_derived)
                    .push_bind(Arc::clone(&staged.content_hash))
                    .push_bind(Arc::clone(&staged.raw_json))
                    .push_bind(at[*i].clone())
                    .push_bind(at[*i].clone());
            });
            // Insert, or update in place when the content changed; no row back = unchanged.
            raw_insert.push(
                " ON CONFLICT (feed_id, guid) DO UPDATE SET
                     content_hash = excluded.content_hash, raw = excluded.raw,
                     revision = revision + 1, last_seen_at = excluded.last_seen_at
                 WHERE content_hash != excluded.content_hash
                 RETURNING feed_id, guid, id, revision",
            );
            let rows = raw_insert.build_query_as::<(i64, String, i64, i64)>().fetch_all(&mut **tx).await?;
            for (feed, guid, id, revision) in rows {
                written.entry(feed).or_default().insert(guid, (id, revision));
            }
        }
        write_pages(tx, batches, &items, &written).await?;

        let mut rows: Vec<ArticleRow<'_>> = Vec::new();
        let mut dropped_ids = Vec::new();
        for (i, StagedItem { outcome, .. }) in &items {
            let (batch, counts) = (batches[*i], &mut counts[*i]);
            let Some(&(id, revision)) = written_id(&written, batch.feed_id, &raw_of(outcome).guid) else {
                counts.unchanged += 1;
                continue;
            };
            if revision == 1 {
                counts.new += 1;
            } else {
                counts.updated += 1;
            }
            match outcome {
                ItemOutcome::Article(a) => {
                    if a.flag.is_some() {
                        counts.flagged += 1;
                    }
                    rows.push(ArticleRow {
                        id,
                        revision,
                        feed_id: batch.feed_id,
                        fetched_at: &at[*i],
                        article: a,
                        batch: *i,
                    });
                }
                ItemOutcome::Dropped { reason, flag, .. } => {
                    if flag.is_some() {
                        counts.flagged += 1;
                    }
                    counts.drop(*reason);
                    dropped_ids.push(id);
                }
            }
        }
        if !rows.is_empty() {
            let keyed: Vec<dedup::Keyed<'_>> = rows
                .iter()
                .map(|r| dedup::Keyed {
                    id: r.id,
                    article: r.article,
                    new: r.revision == 1,
                    day: dedup::day_of(r.article, batches[r.batch].fetched_at),
                })
                .collect();
            let newest = batches.iter().map(|b| b.fetched_at).max().unwrap_or(first.fetched_at);
            let started = std::time::Instant::now();
            let links = dedup::link(tx, &keyed, newest, &first.dedup).await?;
            let linking = started.elapsed();
            for (row, link) in rows.iter().zip(&links) {
                if link.is_some() {
                    counts[row.batch].duplicate += 1;
                }
            }
            upsert_articles(tx, &rows, &links, false).await?;
            unindexed.extend(rows.iter().map(|r| r.id));
            let started = std::time::Instant::now();
            dedup::store_keys(tx, &keyed, &links).await?;
            DEDUP_TIME.record(linking + started.elapsed(), keyed.len());
        }
        if !dropped_ids.is_empty() {
            let list = serde_json::to_string(&dropped_ids).unwrap_or_else(|_| "[]".into());
            sqlx::query("DELETE FROM articles WHERE id IN (SELECT value FROM json_each(?1))")
                .bind(list)
                .execute(&mut **tx)
                .await?;
        }
        Ok(counts)
    }

    /// Records a failed poll in the feed's health record.
    pub async fn record_failure(&self, f: FeedFailure<'_>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE feeds SET last_fetch_at = ?2, last_status = 'error', last_error_kind = ?3,
                 last_error = ?4, last_http_status = ?5,
                 consecutive_errors = consecutive_errors + ?8, count_errors = count_errors + 1,
                 next_poll_at = CASE WHEN ?9 THEN NULL ELSE ?6 END, next_poll_reason = ?7,
                 retired_at = CASE WHEN ?9 THEN ?2 ELSE retired_at END
             WHERE id = ?1",
        )
        .bind(f.feed_id)
        .bind(f.at.to_db())
        .bind(f.kind)
        .bind(f.message)
        .bind(f.http_status.map(i64::from))
        .bind(f.next_poll_at.to_db())
        .bind(f.next_poll_reason)
        .bind(i64::from(f.counted))
        .bind(f.retire)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the permanent-redirect state of a feed after a successful poll.
    pub async fn record_redirect(
        &self,
        feed_id: i64,
        redirect_to: Option<&str>,
        streak: i64,
        effective_url: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE feeds SET redirect_to = ?2, redirect_streak = ?3, effective_url = ?4 WHERE id = ?1",
        )
        .bind(feed_id)
        .bind(redirect_to)
        .bind(streak)
        .bind(effective_url)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts failures that were recorded as "network down" against their feeds after all.
    pub async fn count_deferred_failures(&self, feed_ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for id in feed_ids {
            sqlx::query("UPDATE feeds SET consecutive_errors = consecutive_errors + 1 WHERE id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a poll that needed no parsing (304, or the same body again).
    pub async fn record_unchanged(&self, u: Unchanged<'_>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE feeds SET last_fetch_at = ?2, last_success_at = ?2, last_status = 'ok', last_http_status = ?3,
                 last_error_kind = NULL, last_error = NULL, consecutive_errors = 0,
                 etag = ?4, last_modified = ?5, next_poll_at = ?6, next_poll_reason = ?7,
                 count_304 = count_304 + coalesce(?3 = 304, 0),
                 count_200 = count_200 + coalesce(?3 IS NOT NULL AND ?3 != 304, 0),
                 bytes_received = bytes_received + ?8
             WHERE id = ?1",
        )
        .bind(u.feed_id)
        .bind(u.at.to_db())
        .bind(u.http_status.map(i64::from))
        .bind(&u.validators.etag)
        .bind(&u.validators.last_modified)
        .bind(u.next_poll_at.to_db())
        .bind(u.next_poll_reason)
        .bind(i64::try_from(u.bytes).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every feed's health, configured feeds first.
    pub async fn feed_health(&self) -> Result<Vec<FeedHealthRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT url, name, in_config, enabled, last_fetch_at, last_success_at, last_status, last_http_status,
                    last_error_kind, last_error, consecutive_errors, next_poll_at, next_poll_reason, retired_at,
                    etag, last_modified, effective_url, count_200, count_304, count_errors, bytes_received,
                    items_stored
             FROM feed_health ORDER BY in_config DESC, name, url",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Per-feed counts (feeds with any stored item, or still configured) and languages.
    pub async fn stats(&self) -> Result<Vec<StatsRow>, StoreError> {
        let mut rows: Vec<StatsRow> = sqlx::query_as(
            "SELECT f.url, f.name,
                    (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS items,
                    (SELECT count(*) FROM articles a WHERE a.feed_id = f.id AND a.auto_generated = 1) AS flagged,
                    (SELECT count(*) FROM articles a WHERE a.feed_id = f.id AND a.duplicate_of IS NOT NULL) AS duplicates,
                    (SELECT count(*) FROM raw_items r WHERE r.feed_id = f.id
                        AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = r.id)) AS dropped
             FROM feeds f
             WHERE f.in_config = 1 OR EXISTS (SELECT 1 FROM raw_items r WHERE r.feed_id = f.id)
             ORDER BY f.name, f.url",
        )
        .fetch_all(&self.reader)
        .await?;
        let langs: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT f.url, coalesce(a.lang, '?'), count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id
             GROUP BY 1, 2",
        )
        .fetch_all(&self.reader)
        .await?;
        for (url, lang, n) in langs {
            if let Some(row) = rows.iter_mut().find(|r| r.url == url) {
                row.languages.insert(lang, n);
            }
        }
        Ok(rows)
    }

    /// Streams articles in id order, joined with their feed, as export rows.
    pub fn export(&self, filter: &ExportFilter) -> BoxStream<'_, Result<ExportRow, sqlx::Error>> {
        sqlx::query_as(concat!(
            export_select!(),
            " WHERE (?1 OR a.duplicate_of IS NULL) AND (?2 IS NULL OR a.fetched_at >= ?2) ORDER BY a.id"
        ))
        .bind(filter.all)
        .bind(filter.since.map(Timestamp::to_db))
        .fetch(&self.reader)
    }
}

impl Store {
    /// One article by id (any, duplicates included).
    pub async fn article(&self, id: i64) -> Result<Option<ExportRow>, sqlx::Error> {
        sqlx::query_as(concat!(export_select!(), " WHERE a.id = ?1"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
    }

    /// Every article of the cluster rooted at `root`: the root first, then its copies in the
    /// order they were stored.
    pub async fn cluster(&self, root: i64) -> Result<Vec<ExportRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            export_select!(),
            " WHERE a.id = ?1 OR a.duplicate_of = ?1 ORDER BY a.duplicate_of IS NOT NULL, a.id"
        ))
        .bind(root)
        .fetch_all(&self.reader)
        .await
    }
}

/// Applies pending migrations. Two processes opening a new database at once (the daemon and a
/// query command) can both see a migration as pending; the second one's attempt fails inside its
/// transaction (nothing applied), and a retry finds it applied.
async fn migrate(writer: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut attempt = 0;
    loop {
        match MIGRATOR.run(writer).await {
            Err(
                e @ (sqlx::migrate::MigrateError::Execute(_)
                | sqlx::migrate::MigrateError::ExecuteMigration(..)),
            ) if attempt < 5 => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "migration raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Time spent in dedup lookups and key writes, and the articles they served, since start: what
/// `benches/dedup_scale.rs` reports (and a ready counter for metrics).
pub static DEDUP_TIME: Timing = Timing::new();

/// A monotonic total of durations and items.
#[derive(Debug, Default)]
pub struct Timing {
    nanos: std::sync::atomic::AtomicU64,
    items: std::sync::atomic::AtomicU64,
}

impl Timing {
    pub const fn new() -> Timing {
        Timing { nanos: std::sync::atomic::AtomicU64::new(0), items: std::sync::atomic::AtomicU64::new(0) }
    }

    pub fn record(&self, spent: Duration, items: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.nanos.fetch_add(u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        self.items.fetch_add(items as u64, Relaxed);
    }

    /// (total time, total items) so far.
    pub fn totals(&self) -> (Duration, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (Duration::from_nanos(self.nanos.load(Relaxed)), self.items.load(Relaxed))
    }
}

fn raw_of(outcome: &ItemOutcome) -> &crate::model::RawItem {
    match outcome {
        ItemOutcome::Article(a) => &a.raw,
        ItemOutcome::Dropped { raw, .. } => raw,
    }
}

fn raw_of_mut(outcome: &mut ItemOutcome) -> &mut crate::model::RawItem {
    match outcome {
        ItemOutcome::Article(a) => &mut a.raw,
        ItemOutcome::Dropped { raw, .. } => raw,
    }
}

/// The group writer: takes the batches that queued up while it wrote the last group and writes
/// them in one transaction (see [`Store::write_batch`]). Ends when every [`Store`] is dropped.
async fn group_writer(
    pool: SqlitePool,
    mut queue: tokio::sync::mpsc::Receiver<BatchJob>,
    commits: tokio::sync::mpsc::Sender<()>,
) {
    while let Some(first) = queue.recv().await {
        let mut items = first.batch.outcomes.len();
        let mut group = vec![first];
        while group.len() < GROUP_BATCHES && items < GROUP_ITEMS {
            let Ok(job) = queue.try_recv() else { break };
            items += job.batch.outcomes.len();
            group.push(job);
        }
        // In a task of its own: a panic (a bug, never input: no unwrap touches it) fails that
        // group's polls (their reply channels close) and the writer goes on with the next.
        let pool = pool.clone();
        let commits = commits.clone();
        let written = tokio::spawn(async move {
            let results = match write_group(&pool, &group).await {
                Ok(counts) => counts.into_iter().map(Ok).collect(),
                // Nothing of the group is stored: each batch is tried alone, so that a failing
                // one fails alone and each gets its own result.
                Err(e) if group.len() > 1 => {
                    tracing::debug!(error = %e, batches = group.len(), "group write failed; writing batches one by one");
                    let mut results = Vec::with_capacity(group.len());
                    for job in &group {
                        results.push(write_alone(&pool, &job.batch).await);
                    }
                    results
                }
                Err(e) => vec![Err(e)],
            };
            let mut done = Vec::with_capacity(group.len());
            for (job, result) in group.into_iter().zip(results) {
                // The poll that sent it may have been cancelled: its batch is stored all the same.
                let _ = job.reply.send(result);
                done.push(job.batch);
            }
            // Freeing a group (megabytes of text, allocated by the processing threads) is left to
            // the blocking pool: the writer's time is the ingest's critical path.
            drop(tokio::task::spawn_blocking(move || drop(done)));
            // Full: a checkpoint is already asked for, and will copy this commit's pages too.
            let _ = commits.try_send(());
        })
        .await;
        if let Err(e) = written {
            tracing::error!(error = %e, "writing a group of feed batches failed");
        }
    }
}

/// Checkpoints the WAL (PASSIVE: never waits for the writer or readers, copies what is
/// committed) when asked after a commit, at most once per [`CHECKPOINT_SPACING`]. The WAL then
/// stays small: the writer starts it over at its next commit once everything was copied. Ends
/// with the group writer.
async fn checkpointer(pool: SqlitePool, mut requests: tokio::sync::mpsc::Receiver<()>) {
    while requests.recv().await.is_some() {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!(error = %e, "WAL checkpoint failed; the next commit asks again");
        }
        tokio::time::sleep(CHECKPOINT_SPACING).await;
    }
}

/// The least time between two background checkpoints: each costs two fsyncs, however little
/// it copies.
const CHECKPOINT_SPACING: Duration = Duration::from_millis(500);

/// Writes `group` in one transaction. `Err` when any batch fails or the transaction cannot
/// begin or commit: nothing of the group is then stored. (No savepoint per batch: FTS5 flushes
/// its pending index at every savepoint and SQLite journals each page a savepoint touches
/// again, which together cost more than the grouping saves; a failing batch is rare, and the
/// caller then writes the batches one by one.)
async fn write_group(pool: &SqlitePool, group: &[BatchJob]) -> Result<Vec<ItemCounts>, StoreError> {
    let batches: Vec<&FeedBatch> = group.iter().map(|job| &job.batch).collect();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(group.len());
    let mut unindexed = Vec::new();
    for segment in segments(&batches) {
        results.extend(Store::write_segment(&mut tx, segment, &mut unindexed).await?);
        // Before the next segment, which may replace or delete these articles (its terms must
        // be in the index to be removed); usually a group is one segment.
        index_articles(&mut tx, &mut unindexed).await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// `batches` cut into runs that can be written as one: a feed at most once in each (a second
/// batch of a feed may replace or delete what the first wrote, which must then be written and
/// indexed), and the same dedup settings throughout (a reload may change them).
fn segments<'a, 'b>(batches: &'b [&'a FeedBatch]) -> Vec<&'b [&'a FeedBatch]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut feeds = HashSet::new();
    for (i, batch) in batches.iter().enumerate() {
        let same_settings = batches.get(start).is_some_and(|first| first.dedup == batch.dedup);
        if !feeds.insert(batch.feed_id) || !same_settings {
            out.push(&batches[start..i]);
            start = i;
            feeds.clear();
            feeds.insert(batch.feed_id);
        }
    }
    if start < batches.len() {
        out.push(&batches[start..]);
    }
    out
}

/// Writes one batch in its own transaction.
async fn write_alone(pool: &SqlitePool, batch: &FeedBatch) -> Result<ItemCounts, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut unindexed = Vec::new();
    let counts = Store::write_segment(&mut tx, &[batch], &mut unindexed).await?;
    index_articles(&mut tx, &mut unindexed).await?;
    tx.commit().await?;
    Ok(counts.into_iter().next().unwrap_or_default())
}

/// The feed health of a segment's successful polls, in one statement.
async fn update_feeds(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    batches: &[&FeedBatch],
    at: &[String],
) -> Result<(), sqlx::Error> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "UPDATE feeds SET title = v.column2, site_url = v.column3, language = v.column4,
             body_hash = v.column5, etag = v.column6, last_modified = v.column7,
             last_fetch_at = v.column8, last_success_at = v.column8, last_status = 'ok',
             last_http_status = v.column9, last_error_kind = NULL, last_error = NULL,
             consecutive_errors = 0, next_poll_at = v.column10, next_poll_reason = v.column11,
             feed_min_secs = v.column12, skip_hours = v.column13, skip_days = v.column14,
             adaptive_secs = v.column15, count_200 = count_200 + 1,
             bytes_received = bytes_received + v.column16
         FROM (",
    );
    q.push_values(batches.iter().zip(at), |mut b, (batch, at)| {
        b.push_bind(batch.feed_id)
            .push_bind(batch.feed.title.clone())
            .push_bind(batch.feed.site_url.clone())
            .push_bind(batch.feed.language.clone())
            .push_bind(batch.body_hash.clone())
            .push_bind(batch.etag.clone())
            .push_bind(batch.last_modified.clone())
            .push_bind(at.clone())
            .push_bind(batch.http_status.map(i64::from))
            .push_bind(batch.next_poll_at.to_db())
            .push_bind(batch.next_poll_reason)
            .push_bind(batch.feed.feed_min.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
            .push_bind(join_list(&batch.feed.skip_hours))
            .push_bind(join_list(&batch.feed.skip_days))
            .push_bind(batch.adaptive.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
            .push_bind(i64::try_from(batch.bytes).unwrap_or(i64::MAX));
    });
    q.push(") AS v WHERE feeds.id = v.column1");
    q.build().execute(&mut **tx).await?;
    Ok(())
}

/// feed -> guid -> (id, revision) of the raw items a write inserted or changed.
type Written = HashMap<i64, HashMap<String, (i64, i64)>>;

fn written_id<'w>(written: &'w Written, feed_id: i64, guid: &str) -> Option<&'w (i64, i64)> {
    written.get(&feed_id)?.get(guid)
}

/// `items` in statement-sized chunks: `max` (a power of two) at a time, then the rest in
/// halving sizes. The SQL of a multi-row statement depends on its row count, and these few
/// counts keep each one prepared in the connection's statement cache.
fn statement_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    let mut size = max.max(1);
    while !rest.is_empty() {
        while size > rest.len() {
            size /= 2;
        }
        let (head, tail) = rest.split_at(size);
        out.push(head);
        rest = tail;
    }
    out
}

/// Adds the stored articles among `ids` to the full-text index, in one statement, and empties
/// `ids`. Called once per write transaction, after its last write: FTS5 keeps the terms in
/// memory until the commit, and writes them as one index segment (a statement that needs a
/// statement journal, as every multi-row write here does, would make it write what it holds).
async fn index_articles(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    ids: &mut Vec<i64>,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO articles_fts (rowid, title, text)
         SELECT id, title, text FROM articles WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(list)
    .execute(&mut **tx)
    .await?;
    ids.clear();
    Ok(())
}

/// Removes from the full-text index the terms of the stored articles among `ids` (before they
/// are replaced; [`index_articles`] then indexes their new text).
async fn unindex_articles(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO articles_fts (articles_fts, rowid, title, text)
         SELECT 'delete', id, title, text FROM articles WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(list)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An article to write, with its raw item's id and revision, feed and fetch time.
pub(super) struct ArticleRow<'a> {
    pub id: i64,
    pub revision: i64,
    pub feed_id: i64,
    pub fetched_at: &'a str,
    pub article: &'a crate::model::Article,
    /// Index of its batch in the segment being written.
    pub batch: usize,
}

/// Inserts or replaces `rows` (a few multi-row statements); the article id is its raw item's
/// id. The terms of a replaced article leave the full-text index here; the caller indexes every
/// article written (new or replaced) before it commits ([`index_articles`]).
async fn upsert_articles(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    rows: &[ArticleRow<'_>],
    links: &[Option<crate::model::Duplicate>],
    relink: bool,
) -> Result<(), sqlx::Error> {
    // A first revision of a raw item has no article yet; `reprocess` may replace any.
    let replaced: Vec<i64> = rows.iter().filter(|r| relink || r.revision > 1).map(|r| r.id).collect();
    unindex_articles(tx, &replaced).await?;
    let rows: Vec<(&ArticleRow<'_>, &Option<crate::model::Duplicate>)> = rows.iter().zip(links).collect();
    for chunk in statement_chunks(&rows, 512) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO articles (id, feed_id, guid, url, canonical_url, title, author, published_at,
                 updated_at, fetched_at, lang, text, html, text_hash, auto_generated, auto_generated_rule,
                 auto_generated_marker, duplicate_of, duplicate_kind, similarity, revision, stored_at,
                 auto_generated_position, syndication_source) ",
        );
        q.push_values(chunk, |mut b, (row, link)| {
            let (a, c) = (row.article, &row.article.clean);
            b.push_bind(row.id)
                .push_bind(row.feed_id)
                .push_bind(c.guid.clone())
                .push_bind(c.url.clone())
                .push_bind(c.canonical_url.clone())
                .push_bind(c.title.clone())
                .push_bind(c.author.clone())
                .push_bind(c.published_at.map(Timestamp::to_db))
                .push_bind(c.updated_at.map(Timestamp::to_db))
                .push_bind(row.fetched_at.to_string())
                .push_bind(c.lang.clone())
                .push_bind(c.text.clone())
                .push_bind(c.html.clone())
                .push_bind(a.dedup.text_hash.0.clone())
                .push_bind(a.flag.is_some())
                .push_bind(a.flag.as_ref().map(|f| f.rule.clone()))
                .push_bind(a.flag.as_ref().map(|f| f.marker.clone()))
                .push_bind(link.as_ref().map(|d| d.of))
                .push_bind(link.as_ref().map(|d| d.kind.as_str()))
                .push_bind(link.as_ref().map(|d| d.similarity))
                .push_bind(row.revision)
                .push_bind(row.fetched_at.to_string())
                .push_bind(a.flag.as_ref().map(|f| f.position.as_str()))
                .push_bind(a.syndication.clone());
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET
                 url = excluded.url, canonical_url = excluded.canonical_url, title = excluded.title,
                 author = excluded.author, published_at = excluded.published_at,
                 updated_at = excluded.updated_at, fetched_at = excluded.fetched_at, lang = excluded.lang,
                 text = excluded.text, html = excluded.html, text_hash = excluded.text_hash,
                 auto_generated = excluded.auto_generated, auto_generated_rule = excluded.auto_generated_rule,
                 auto_generated_marker = excluded.auto_generated_marker,
                 revision = excluded.revision, stored_at = excluded.stored_at,
                 auto_generated_position = excluded.auto_generated_position,
                 syndication_source = excluded.syndication_source",
        );
        // An update keeps its cluster link, except when `reprocess` re-derives every link.
        if relink {
            q.push(
                ", duplicate_of = excluded.duplicate_of, duplicate_kind = excluded.duplicate_kind,
                   similarity = excluded.similarity",
            );
        }
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The `article_pages` rows of the segment's items that carry a fetched page.
async fn write_pages(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    batches: &[&FeedBatch],
    items: &[(usize, &StagedItem)],
    written: &Written,
) -> Result<(), sqlx::Error> {
    let pages: Vec<(i64, &StagedItem, &crate::model::Page)> = items
        .iter()
        .filter_map(|(i, staged)| {
            let raw = raw_of(&staged.outcome);
            let page = raw.page.as_ref()?;
            Some((written_id(written, batches[*i].feed_id, &raw.guid)?.0, *staged, page))
        })
        .collect();
    if pages.is_empty() {
        return Ok(());
    }
    for chunk in statement_chunks(&pages, 512) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO article_pages (raw_item_id, url, final_url, http_status, fetched_at,
             canonical_url, og_url, og_site_name, published_time, lang, headline, date_published, author,
             publisher, is_based_on, extracted_words, used, error) ",
        );
        q.push_values(chunk, |mut b, (id, staged, p)| {
            let m = &p.meta;
            b.push_bind(id)
                .push_bind(p.url.clone())
                .push_bind(p.final_url.clone())
                .push_bind(p.http_status.map(i64::from))
                .push_bind(p.fetched_at.map(|t| Timestamp(t).to_db()))
                .push_bind(m.canonical.clone())
                .push_bind(m.og_url.clone())
                .push_bind(m.og_site_name.clone())
                .push_bind(m.published_time.clone())
                .push_bind(m.lang.clone())
                .push_bind(m.headline.clone())
                .push_bind(m.date_published.clone())
                .push_bind(m.author.clone())
                .push_bind(m.publisher.clone())
                .push_bind(m.is_based_on.clone())
                .push_bind(i64::try_from(staged.page_words).unwrap_or(i64::MAX))
                .push_bind(staged.page_used)
                .push_bind(p.error.clone());
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

fn join_list<T: std::fmt::Display>(items: &[T]) -> Option<String> {
    (!items.is_empty()).then(|| items.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::statement_chunks;
    use proptest::prelude::*;

    proptest! {
        /// The chunks are the items in order; each is a power of two no larger than `max`, so
        /// that a table's inserts use a handful of distinct statements, and there are few.
        #[test]
        fn statement_chunks_cover_the_items_in_few_cached_sizes(len in 0usize..5000, shift in 0u32..11) {
            let max = 1usize << shift;
            let items: Vec<usize> = (0..len).collect();
            let chunks = statement_chunks(&items, max);
            prop_assert_eq!(chunks.concat(), items.clone());
            for c in &chunks {
                prop_assert!(!c.is_empty() && c.len() <= max && c.len().is_power_of_two());
            }
            prop_assert!(chunks.len() <= len / max + shift as usize + 1);
        }
    }
}
