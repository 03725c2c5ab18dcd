-- Full text (`full_text`): the article page fetched for an item, what it said about itself, and
-- whether its extracted body replaced the feed's. One row per raw item whose page was fetched
-- (the latest fetch); the extracted HTML itself is kept in `raw_items.raw` (`page`), so that
-- `reprocess` re-derives from it.
CREATE TABLE article_pages (
    raw_item_id     INTEGER PRIMARY KEY REFERENCES raw_items(id) ON DELETE CASCADE,
    url             TEXT    NOT NULL,     -- the item's link, as requested
    final_url       TEXT,                 -- after redirects
    http_status     INTEGER,
    fetched_at      TEXT,
    canonical_url   TEXT,                 -- <link rel=canonical>
    og_url          TEXT,
    og_site_name    TEXT,
    published_time  TEXT,                 -- article:published_time
    lang            TEXT,                 -- <html lang>
    headline        TEXT,                 -- JSON-LD NewsArticle
    date_published  TEXT,
    author          TEXT,
    publisher       TEXT,
    is_based_on     TEXT,
    extracted_words INTEGER NOT NULL DEFAULT 0,
    used            INTEGER NOT NULL DEFAULT 0,   -- 1: the extracted body replaced the feed's
    error           TEXT                  -- why the page could not be fetched or read
);
