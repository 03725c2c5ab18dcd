-- Deduplication keys (see src/pipeline/dedup.rs). One row per article in dedup_keys; its LSH band
-- keys and translation-fingerprint features in two indexed tables, keyed by value then day so
-- that a candidate lookup reads only the rows inside the time window. Rows go with their article.

CREATE TABLE dedup_keys (
    article_id  INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    story_day   INTEGER NOT NULL,   -- days since 1970-01-01 of published_at, else fetched_at
    exact       INTEGER NOT NULL,   -- 1 when text_hash may be matched (enough words)
    shingles    INTEGER NOT NULL,   -- distinct word 3-shingles of the normalized text
    signature   BLOB,               -- 64 MinHash values, u32 little-endian; NULL for short texts
    fingerprint BLOB NOT NULL       -- sorted translation features, i64 little-endian
);

CREATE TABLE dedup_bands (
    band_key   INTEGER NOT NULL,
    story_day  INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (band_key, story_day, article_id)
) WITHOUT ROWID;
CREATE INDEX dedup_bands_article ON dedup_bands (article_id);

CREATE TABLE dedup_features (
    feature    INTEGER NOT NULL,
    story_day  INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (feature, story_day, article_id)
) WITHOUT ROWID;
CREATE INDEX dedup_features_article ON dedup_features (article_id);
