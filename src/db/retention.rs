//! Retention and backups: pruning old items (with tombstones, so a feed that still lists them
//! does not bring them back) and `VACUUM INTO`.

use std::path::Path;

use super::{Store, StoreError};
use crate::model::Timestamp;

/// Raw items deleted per transaction: the writer is never held for long.
const PRUNE_BATCH: i64 = 500;

/// The stored content hash [`Store::item_hashes`] reports for a pruned item: it never equals a
/// real hash, and `pipeline::store::changed_items` skips it.
pub const PRUNED: &str = "pruned";

/// What one retention run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Raw items (and their articles) deleted.
    pub items: u64,
    /// Tombstones of items no longer listed by their feed, deleted.
    pub tombstones: u64,
    /// Dedup band and feature rows of weeks no stored article can be compared with any more.
    pub dedup_rows: u64,
}

impl Store {
    /// Deletes the items first stored before `cutoff`, in small transactions, leaving a tombstone
    /// for each. A first-seen article whose copies are younger than the cutoff is kept with them
    /// (a cluster is pruned from its newest copy's age). Also drops tombstones not seen since the
    /// cutoff and the dedup rows of weeks older than the cutoff minus `dedup_window_days`.
    pub async fn prune(&self, cutoff: Timestamp, dedup_window_days: i64) -> Result<Pruned, StoreError> {
        let cut = cutoff.to_db();
        let now = Timestamp::now().to_db();
        let mut out = Pruned::default();
        loop {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT r.id FROM raw_items r
                 WHERE r.first_seen_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM articles c JOIN raw_items rc ON rc.id = c.id
                                   WHERE c.duplicate_of = r.id AND rc.first_seen_at >= ?1)
                 ORDER BY r.first_seen_at LIMIT ?2",
            )
            .bind(&cut)
            .bind(PRUNE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            if ids.is_empty() {
                tx.commit().await?;
                break;
            }
            let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "INSERT INTO pruned_items (feed_id, guid, pruned_at, last_seen_at)
                 SELECT feed_id, guid, ?2, ?2 FROM raw_items WHERE id IN (SELECT value FROM json_each(?1))
                 ON CONFLICT (feed_id, guid) DO UPDATE SET pruned_at = excluded.pruned_at",
            )
            .bind(&list)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            // Articles and dedup keys go with their raw item (ON DELETE CASCADE); copies of a
            // deleted article lose their link (ON DELETE SET NULL) only if they were not pruned
            // in the same run.
            let deleted = sqlx::query("DELETE FROM raw_items WHERE id IN (SELECT value FROM json_each(?1))")
                .bind(&list)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            out.items += deleted.rows_affected();
            if (ids.len() as i64) < PRUNE_BATCH {
                break;
            }
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        out.tombstones = sqlx::query("DELETE FROM pruned_items WHERE last_seen_at < ?1")
            .bind(&cut)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let week =
            crate::pipeline::dedup::story_day(cutoff.0).saturating_sub(dedup_window_days).div_euclid(7) - 1;
        for table in [
            "DELETE FROM dedup_bands WHERE story_week < ?1",
            "DELETE FROM dedup_features WHERE story_week < ?1",
        ] {
            out.dedup_rows += sqlx::query(table).bind(week).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Marks the tombstones of `guids` (items a feed still lists) as seen now.
    pub(super) async fn touch_tombstones(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        feed_id: i64,
        guids: &[String],
        at: &str,
    ) -> Result<(), sqlx::Error> {
        if guids.is_empty() {
            return Ok(());
        }
        let list = serde_json::to_string(guids).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "UPDATE pruned_items SET last_seen_at = ?3
             WHERE feed_id = ?1 AND guid IN (SELECT value FROM json_each(?2))",
        )
        .bind(feed_id)
        .bind(list)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes a consistent copy of the database to `path` (`VACUUM INTO`: compact, and safe while
    /// the daemon writes). `path` must not exist.
    pub async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        let target = path.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO ?1").bind(target).execute(&self.reader).await?;
        Ok(())
    }
}
