-- feedsieve initial schema. Timestamps are TEXT in RFC 3339 UTC with a `Z` suffix
-- ("2026-11-29T16:10:17Z"), so they sort and compare as strings.

-- One row per feed ever listed in the config. A feed removed from the config keeps its row and
-- its articles; `in_config` says whether the current config still lists it.
CREATE TABLE feeds (
    id                  INTEGER PRIMARY KEY,
    url                 TEXT    NOT NULL UNIQUE,  -- exactly as written in the config
    name                TEXT    NOT NULL,
    in_config           INTEGER NOT NULL DEFAULT 1,
    enabled             INTEGER NOT NULL DEFAULT 1,
    title               TEXT,                     -- the feed's own title, from its last good parse
    site_url            TEXT,
    language            TEXT,                     -- as declared by the feed
    etag                TEXT,                     -- validators for conditional GET
    last_modified       TEXT,
    body_hash           TEXT,                     -- xxh3-128 of the last body that parsed
    last_fetch_at       TEXT,                     -- last attempt, success or not
    last_success_at     TEXT,
    last_status         TEXT,                     -- 'ok' | 'error'
    last_http_status    INTEGER,
    last_error_kind     TEXT,                     -- dns | connect | tls | timeout | http_status | too_large | io | parse | ...
    last_error          TEXT,
    consecutive_errors  INTEGER NOT NULL DEFAULT 0,
    next_poll_at        TEXT,
    next_poll_reason    TEXT,
    created_at          TEXT    NOT NULL
);

-- Every item as received, one row per (feed, guid). `raw` is the JSON of the parsed item before
-- any cleaning, so `reprocess` can re-derive the article after rules change.
CREATE TABLE raw_items (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid          TEXT    NOT NULL,
    guid_derived  INTEGER NOT NULL DEFAULT 0,     -- 1 when the feed gave no id and feedsieve derived one
    content_hash  TEXT    NOT NULL,               -- xxh3-128 of `raw`: change detection
    raw           TEXT    NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 1,     -- 1 + number of content changes seen
    first_seen_at TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    UNIQUE (feed_id, guid)
);

-- The normalized article derived from a raw item (same id). An item dropped by a flag rule with
-- action "drop" has a raw_items row and no articles row.
CREATE TABLE articles (
    id                    INTEGER PRIMARY KEY REFERENCES raw_items(id) ON DELETE CASCADE,
    feed_id               INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid                  TEXT    NOT NULL,
    url                   TEXT,
    canonical_url         TEXT,
    title                 TEXT,
    author                TEXT,
    published_at          TEXT,
    updated_at            TEXT,
    fetched_at            TEXT    NOT NULL,       -- when the current revision was fetched
    lang                  TEXT,
    text                  TEXT    NOT NULL,
    html                  TEXT,
    text_hash             TEXT    NOT NULL,       -- xxh3-128 of the normalized text (dedup key)
    auto_generated        INTEGER NOT NULL DEFAULT 0,
    auto_generated_rule   TEXT,
    auto_generated_marker TEXT,
    duplicate_of          INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    duplicate_kind        TEXT CHECK (duplicate_kind IN ('exact', 'near', 'translation')),
    similarity            REAL,
    revision              INTEGER NOT NULL DEFAULT 1,
    stored_at             TEXT    NOT NULL        -- when this row was last written
);

CREATE INDEX articles_feed          ON articles (feed_id);
CREATE INDEX articles_published     ON articles (published_at);
CREATE INDEX articles_fetched       ON articles (fetched_at);
CREATE INDEX articles_canonical_url ON articles (canonical_url);
CREATE INDEX articles_text_hash     ON articles (text_hash);
CREATE INDEX articles_duplicate_of  ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_flagged_idx   ON articles (auto_generated) WHERE auto_generated = 1;

-- Full-text index over title and text, kept in sync by triggers (external content table).
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;

-- Stable views for users (documented in the README).
CREATE VIEW articles_unique AS
    SELECT * FROM articles WHERE duplicate_of IS NULL;

CREATE VIEW articles_flagged AS
    SELECT * FROM articles WHERE auto_generated = 1;

CREATE VIEW feed_health AS
    SELECT f.id, f.url, f.name, f.in_config, f.enabled,
           f.last_fetch_at, f.last_success_at, f.last_status, f.last_http_status,
           f.last_error_kind, f.last_error, f.consecutive_errors,
           f.next_poll_at, f.next_poll_reason,
           (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS items_stored
    FROM feeds f;
