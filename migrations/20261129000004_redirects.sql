-- Permanent redirects: a 301/308 target is adopted as the feed's effective URL only after it was
-- seen on `fetch.redirect_adopt_after` consecutive polls; the config's url stays the identity.
ALTER TABLE feeds ADD COLUMN redirect_to TEXT;                    -- last permanent-redirect target seen
ALTER TABLE feeds ADD COLUMN redirect_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN effective_url TEXT;                  -- adopted target, fetched instead of url

DROP VIEW feed_health;
CREATE VIEW feed_health AS
    SELECT f.id, f.url, f.name, f.in_config, f.enabled,
           f.last_fetch_at, f.last_success_at, f.last_status, f.last_http_status,
           f.last_error_kind, f.last_error, f.consecutive_errors,
           f.next_poll_at, f.next_poll_reason, f.retired_at,
           f.etag, f.last_modified, f.effective_url,
           f.count_200, f.count_304, f.count_errors, f.bytes_received,
           (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS items_stored
    FROM feeds f;
