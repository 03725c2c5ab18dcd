-- Fetch state and telemetry per feed (scheduling work): publisher signals that outlive one
-- response, retirement after 410 Gone, and counters.
ALTER TABLE feeds ADD COLUMN feed_min_secs INTEGER;        -- RSS ttl / sy:updatePeriod+Frequency, seconds
ALTER TABLE feeds ADD COLUMN skip_hours TEXT;              -- RSS skipHours, e.g. "0,1,2" (UTC)
ALTER TABLE feeds ADD COLUMN skip_days TEXT;               -- RSS skipDays, e.g. "Sat,Sun"
ALTER TABLE feeds ADD COLUMN retired_at TEXT;              -- set on 410 Gone: not polled again
ALTER TABLE feeds ADD COLUMN adaptive_secs INTEGER;       -- median spacing of the latest entries, seconds
ALTER TABLE feeds ADD COLUMN count_200 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN count_304 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN count_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN bytes_received INTEGER NOT NULL DEFAULT 0;

DROP VIEW feed_health;
CREATE VIEW feed_health AS
    SELECT f.id, f.url, f.name, f.in_config, f.enabled,
           f.last_fetch_at, f.last_success_at, f.last_status, f.last_http_status,
           f.last_error_kind, f.last_error, f.consecutive_errors,
           f.next_poll_at, f.next_poll_reason, f.retired_at,
           f.etag, f.last_modified,
           f.count_200, f.count_304, f.count_errors, f.bytes_received,
           (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS items_stored
    FROM feeds f;
