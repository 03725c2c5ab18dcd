//! The store's half of `feedsieve reprocess`: read the stored raw items in id order, and write
//! each group's re-derived articles (clean text, flags, duplicate links) in one transaction.

use sqlx::FromRow;

use super::{ArticleRow, Store, StoreError, dedup, index_articles, upsert_articles};
use crate::model::{Article, ItemCounts, ItemOutcome, Timestamp};
use crate::pipeline::dedup::DedupSettings;

/// A stored raw item, with what reprocessing needs to know about it.
#[derive(Debug, Clone, FromRow)]
pub struct StoredRaw {
    pub id: i64,
    pub feed_id: i64,
    pub feed_url: String,
    /// The raw item as received (JSON of `RawItem`).
    pub raw: String,
    pub revision: i64,
    /// When its current revision was fetched (the article's, else the raw item's last sighting).
    pub fetched_at: String,
}

impl Store {
    /// Number of stored raw items.
    pub async fn raw_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM raw_items").fetch_one(&self.reader).await?)
    }

    /// Up to `limit` raw items with an id above `after`, in id order.
    pub async fn raw_page(&self, after: i64, limit: i64) -> Result<Vec<StoredRaw>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.feed_id, f.url AS feed_url, r.raw, r.revision,
                    coalesce(a.fetched_at, r.last_seen_at) AS fetched_at
             FROM raw_items r JOIN feeds f ON f.id = r.feed_id LEFT JOIN articles a ON a.id = r.id
             WHERE r.id > ?1 ORDER BY r.id LIMIT ?2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Starts a reprocess: the near-duplicate and translation index is rebuilt as articles are
    /// re-derived (in id order, each compared only with earlier ones), so its rows go first.
    pub async fn begin_reprocess(&self) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM dedup_bands").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM dedup_features").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the re-derived outcomes of one feed's items fetched at `fetched_at` (ids
    /// ascending) in one transaction: articles replaced with their new text, flags and duplicate
    /// link; an item a rule now drops loses its article; one it no longer drops gets it back.
    pub async fn reprocess_group(
        &self,
        feed_id: i64,
        fetched_at: Timestamp,
        items: &[(i64, i64, ItemOutcome)],
        settings: &DedupSettings,
    ) -> Result<ItemCounts, StoreError> {
        let mut counts = ItemCounts::default();
        let mut articles: Vec<(i64, i64, &Article)> = Vec::new();
        let mut dropped: Vec<i64> = Vec::new();
        for (id, revision, outcome) in items {
            match outcome {
                ItemOutcome::Article(a) => {
                    if a.flag.is_some() {
                        counts.flagged += 1;
                    }
                    articles.push((*id, *revision, &**a));
                }
                ItemOutcome::Dropped { reason, flag, .. } => {
                    if flag.is_some() {
                        counts.flagged += 1;
                    }
                    counts.drop(*reason);
                    dropped.push(*id);
                }
            }
        }
        let at = fetched_at.to_db();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if !dropped.is_empty() {
            let list = serde_json::to_string(&dropped).unwrap_or_else(|_| "[]".into());
            sqlx::query("DELETE FROM articles WHERE id IN (SELECT value FROM json_each(?1))")
                .bind(list)
                .execute(&mut *tx)
                .await?;
        }
        if !articles.is_empty() {
            let keyed: Vec<dedup::Keyed<'_>> = articles
                .iter()
                .map(|(id, _, a)| dedup::Keyed {
                    id: *id,
                    article: a,
                    new: true,
                    day: dedup::day_of(a, fetched_at),
                })
                .collect();
            let links = dedup::link(&mut tx, &keyed, fetched_at, settings).await?;
            counts.duplicate += links.iter().filter(|l| l.is_some()).count() as u64;
            counts.updated += articles.len() as u64;
            let rows: Vec<ArticleRow<'_>> = articles
                .iter()
                .map(|(id, revision, article)| ArticleRow {
                    id: *id,
                    revision: *revision,
                    feed_id,
                    fetched_at: &at,
                    article,
                    batch: 0,
                })
                .collect();
            upsert_articles(&mut tx, &rows, &links, true).await?;
            dedup::store_keys(&mut tx, &keyed, &links).await?;
            let mut ids: Vec<i64> = articles.iter().map(|(id, ..)| *id).collect();
            index_articles(&mut tx, &mut ids).await?;
        }
        tx.commit().await?;
        Ok(counts)
    }
}
