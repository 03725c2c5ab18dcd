//! Full-text search over the `articles_fts` index (FTS5, bm25 ranking, a snippet per hit).

use serde::Serialize;
use sqlx::FromRow;

use super::{ExportRow, Store};
use crate::model::Timestamp;

/// What `feedsieve search` asks for. `query` is FTS5 query syntax (words, `"phrases"`, `OR`,
/// `NOT`, `NEAR(...)`, `prefix*`, `title:word`).
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub query: String,
    pub limit: u32,
    /// Only articles in this language (ISO 639-1).
    pub lang: Option<String>,
    /// Only articles fetched at or after this instant (as `export --since`).
    pub since: Option<Timestamp>,
    /// Only articles of this feed: its url as written in the config, or its name.
    pub feed: Option<String>,
    pub include_flagged: bool,
    pub include_duplicates: bool,
}

/// One hit: the article (the export fields), its relevance and a snippet of the matching text.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct SearchHit {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub article: ExportRow,
    /// bm25 relevance, larger is better (title matches weigh five times text matches).
    pub score: f64,
    /// Matching text with the matched terms in `[brackets]`.
    pub snippet: String,
}

/// Why a search failed: the query (the user's to fix) or the database.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("malformed search query: {0} (FTS5 syntax: quote words with punctuation, e.g. \"covid-19\")")]
    Malformed(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

impl Store {
    /// Articles matching `q.query`, best first.
    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let result = sqlx::query_as(concat!(
            "SELECT ",
            export_columns!(),
            ", -bm25(articles_fts, 5.0, 1.0) AS score,
                    snippet(articles_fts, -1, '[', ']', '…', 16) AS snippet
             FROM articles_fts
             JOIN articles a ON a.id = articles_fts.rowid
             JOIN feeds f ON f.id = a.feed_id
             WHERE articles_fts MATCH ?1
               AND (?2 IS NULL OR a.lang = ?2)
               AND (?3 IS NULL OR a.fetched_at >= ?3)
               AND (?4 IS NULL OR f.url = ?4 OR f.name = ?4 COLLATE NOCASE)
               AND (?5 OR a.auto_generated = 0)
               AND (?6 OR a.duplicate_of IS NULL)
             ORDER BY bm25(articles_fts, 5.0, 1.0), a.id
             LIMIT ?7"
        ))
        .bind(&q.query)
        .bind(q.lang.as_deref())
        .bind(q.since.map(Timestamp::to_db))
        .bind(q.feed.as_deref())
        .bind(q.include_flagged)
        .bind(q.include_duplicates)
        .bind(i64::from(q.limit))
        .fetch_all(&self.reader)
        .await;
        result.map_err(|e| match malformed(&e) {
            Some(reason) => SearchError::Malformed(reason),
            None => SearchError::Sql(e),
        })
    }
}

/// The reason when SQLite rejected the MATCH expression itself (FTS5 reports these as plain
/// `SQLITE_ERROR`s; the messages below are the ones its query parser produces).
fn malformed(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = e else { return None };
    let msg = db.message();
    let is_query = msg.starts_with("fts5:")
        || msg.starts_with("no such column")
        || msg.starts_with("unknown special query")
        || msg.contains("syntax error")
        || msg.contains("unterminated string");
    is_query.then(|| msg.to_string())
}
