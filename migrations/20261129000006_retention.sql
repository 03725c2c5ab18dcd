-- Retention (`[retention] keep`): items first stored longer ago than the window are pruned; a
-- tombstone per pruned (feed, guid) keeps them from being ingested again while the feed still
-- lists them. A tombstone goes when its item has not been seen in its feed for the window.
CREATE TABLE pruned_items (
    feed_id      INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid         TEXT    NOT NULL,
    pruned_at    TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,   -- last poll whose document still listed the item
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;

CREATE INDEX raw_items_first_seen ON raw_items (first_seen_at);
