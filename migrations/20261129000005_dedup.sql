-- Deduplication keys (see src/pipeline/dedup.rs). One row per article in dedup_keys; its LSH band
-- keys and translation-fingerprint features in two tables keyed by week, then value, then day:
-- new rows land in the current week's part of each B-tree (a working set that does not grow
-- with the size of the store), and a candidate lookup is one index seek per key and week of the
-- time window.
--
-- The band and feature tables have no foreign key and no index on article_id on purpose: each
-- extra index is another random-key B-tree write per row (tens of rows per article). Rows of a
-- changed or deleted article simply go stale: lookups join `articles` and `dedup_keys`, which
-- hold the current keys, so a stale row can only propose a candidate that is then verified.

CREATE TABLE dedup_keys (
    article_id  INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    story_day   INTEGER NOT NULL,   -- days since 1970-01-01 of published_at, else fetched_at
    exact       INTEGER NOT NULL,   -- 1 when text_hash may be matched (enough words)
    shingles    INTEGER NOT NULL,   -- distinct word 3-shingles of the normalized text
    signature   BLOB,               -- 64 MinHash values, u32 little-endian; NULL for short texts
    fingerprint BLOB NOT NULL       -- sorted translation features, i64 little-endian
);

CREATE TABLE dedup_bands (
    story_week INTEGER NOT NULL,   -- story_day / 7 (rounded down)
    band_key   INTEGER NOT NULL,
    story_day  INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (story_week, band_key, story_day, article_id)
) WITHOUT ROWID;

CREATE TABLE dedup_features (
    story_week INTEGER NOT NULL,
    feature    INTEGER NOT NULL,
    story_day  INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (story_week, feature, story_day, article_id)
) WITHOUT ROWID;
