//! The nouns of the pipeline: what each stage takes and gives.
//!
//! `fetch` gives a [`FetchedBody`]; `parse` turns it into a [`ParsedFeed`] of [`RawItem`]s (the
//! item as received, persisted verbatim); `clean` gives a [`CleanItem`]; `flag` adds a [`Flag`];
//! `dedup` adds a [`DedupKey`]; `store` persists the resulting [`Article`].

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// An instant in UTC, rendered as RFC 3339 with a `Z` suffix and whole seconds, the form stored
/// in the database (so that text comparison is time comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// Parses RFC 3339 (any offset; converted to UTC).
    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| Timestamp(d.with_timezone(&Utc)))
    }

    pub fn to_db(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}

/// A stable 128-bit content hash (xxh3-128), hex encoded. xxh3's output is specified and
/// identical on every platform and version, so these values may be persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash(pub String);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes)))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A response body (or local file) as fetched, before any decoding.
#[derive(Debug, Clone)]
pub struct FetchedBody {
    pub bytes: Vec<u8>,
    /// The `Content-Type` header, if any (charset hints live here).
    pub content_type: Option<String>,
    /// The URL the body finally came from, after redirects (used to resolve relative links).
    pub final_url: Option<String>,
    pub http_status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// How long the response may be considered fresh (`Cache-Control: max-age`, `Expires`).
    pub fresh_for: Option<std::time::Duration>,
    /// The final URL when every redirect on the way was permanent (301/308).
    pub moved_to: Option<String>,
}

/// The validators of the last good response, sent back on the next poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a fetch came to.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// A body to parse.
    Fresh(FetchedBody),
    /// 304: nothing changed since the validators we sent.
    NotModified {
        /// New validators, when the server sent them with the 304.
        validators: Validators,
        fresh_for: Option<std::time::Duration>,
        /// The final URL when every redirect on the way was permanent (301/308).
        moved_to: Option<String>,
    },
}

/// A feed document parsed into our own model.
#[derive(Debug, Clone, Default)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// The feed's declared language, as written (e.g. "en-us").
    pub language: Option<String>,
    /// The publisher's minimum refresh interval: RSS `<ttl>`, `sy:updatePeriod`/`sy:updateFrequency`.
    pub feed_min: Option<std::time::Duration>,
    /// RSS `skipHours` (UTC hours) and `skipDays`.
    pub skip_hours: Vec<u32>,
    pub skip_days: Vec<chrono::Weekday>,
    pub items: Vec<RawItem>,
}

/// One item exactly as the feed gave it (after format normalization, before cleaning).
/// Serialized to JSON into `raw_items.raw`; its hash decides whether an item changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawItem {
    /// The item's id in its feed, or a derived stable one (see [`crate::pipeline::parse`]).
    pub guid: String,
    /// True when the feed gave no id and `guid` was derived.
    #[serde(default)]
    pub guid_derived: bool,
    pub title: Option<String>,
    pub link: Option<String>,
    /// The summary/description body (HTML or text).
    pub summary: Option<String>,
    /// The full content body (HTML or text), when the feed carries one beside the summary.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub categories: Vec<String>,
    /// The language the feed declares for itself (items inherit it).
    pub feed_language: Option<String>,
    /// Base URL for resolving relative links in the body (item link, else the feed URL).
    pub base_url: Option<String>,
    /// What the feed says the item came from: `<source>`, `dc:source`, `dc:publisher` (XML feeds).
    /// Omitted from the stored JSON when empty, so that hashes of older items stay the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The linked article page, for feeds with `full_text` (fetched by feedsieve, not part of
    /// the feed: left out of [`RawItem::content_hash`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
}

/// An article page fetched for an item (`full_text`), as extracted: kept with the raw item so
/// that `reprocess` re-derives from it without fetching again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The URL requested (the item's link) and the one that answered (after redirects).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub fetched_at: Option<DateTime<Utc>>,
    /// Validators of the page response, for a conditional re-fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The main article HTML the extractor found (plus notices recovered from around it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub meta: PageMeta,
    /// Why the page could not be fetched or read; the item keeps its feed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an article page says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// `<link rel=canonical>`.
    pub canonical: Option<String>,
    pub og_url: Option<String>,
    pub og_site_name: Option<String>,
    /// `article:published_time`.
    pub published_time: Option<String>,
    /// `<html lang>`.
    pub lang: Option<String>,
    /// A JSON-LD `NewsArticle` (or `Article`) on the page.
    pub headline: Option<String>,
    pub date_published: Option<String>,
    pub author: Option<String>,
    pub publisher: Option<String>,
    /// JSON-LD `isBasedOn`: the work this article was derived from (syndication evidence).
    pub is_based_on: Option<String>,
}

impl RawItem {
    /// The hash of the item as received from its feed; a different hash means the item changed.
    /// The fetched page is not part of it.
    pub fn content_hash(&self) -> ContentHash {
        match &self.page {
            None => ContentHash::of(self.to_json().as_bytes()),
            Some(_) => {
                let feed_only = RawItem { page: None, ..self.clone() };
                ContentHash::of(feed_only.to_json().as_bytes())
            }
        }
    }

    /// The stored form and the content hash at once: one serialization for an item without a
    /// fetched page (its hash is the hash of that form).
    pub fn encode(&self) -> (String, ContentHash) {
        let json = self.to_json();
        let hash = match self.page {
            None => ContentHash::of(json.as_bytes()),
            Some(_) => self.content_hash(),
        };
        (json, hash)
    }

    pub fn to_json(&self) -> String {
        // Serializing a struct of strings, options and vectors cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An item after `clean`: text and metadata normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanItem {
    pub guid: String,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub lang: Option<String>,
    /// Clean plain text: paragraphs separated by one blank line. Shared, not copied, when it is
    /// bound to the insert: the store's single writer is the ingest's critical path.
    pub text: Arc<str>,
    /// Sanitized HTML of the body (shared like `text`).
    pub html: Option<Arc<str>>,
}

/// Evidence that an item is auto-generated: which rule matched and the marker as it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub rule: String,
    pub marker: String,
    /// Where the marker sat in the body.
    pub position: Position,
}

/// Where a line sits in an item's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Start,
    Middle,
    End,
}

impl Position {
    /// The position of line `index` among `total` lines.
    pub fn of(index: usize, total: usize) -> Self {
        if index + 1 >= total {
            Position::End
        } else if index == 0 {
            Position::Start
        } else {
            Position::Middle
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Position::Start => "start",
            Position::Middle => "middle",
            Position::End => "end",
        }
    }
}

pub use crate::pipeline::dedup::DedupKey;

/// Kind of duplicate link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKind {
    Exact,
    Near,
    Translation,
}

impl DuplicateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateKind::Exact => "exact",
            DuplicateKind::Near => "near",
            DuplicateKind::Translation => "translation",
        }
    }
}

/// A link from an article to the first-seen copy of its story.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub of: i64,
    pub kind: DuplicateKind,
    pub similarity: f64,
}

/// A fully processed item, ready for `store`.
#[derive(Debug, Clone)]
pub struct Article {
    pub raw: RawItem,
    pub clean: CleanItem,
    pub flag: Option<Flag>,
    pub dedup: DedupKey,
    /// Feed-level syndication evidence (an agency named by `<source>`, `dc:source` or
    /// `dc:publisher`): a weak signal, recorded, never a flag by itself.
    pub syndication: Option<String>,
}

/// What processing decided for one raw item.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    /// Becomes (or updates) an article.
    Article(Box<Article>),
    /// Kept only as a raw item (a sighting); no article, for `reason`.
    Dropped { raw: Box<RawItem>, reason: DropReason, flag: Option<Flag> },
}

/// Why an item did not become an article. Every dropped item is counted under one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// A flag rule matched and the feed's `flag.action` is `drop`.
    FlaggedDrop,
    /// The item has neither a title nor any text.
    Empty,
    /// An earlier item of the same document had the same guid.
    RepeatedGuid,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::FlaggedDrop => "flagged_drop",
            DropReason::Empty => "empty",
            DropReason::RepeatedGuid => "repeated_guid",
        }
    }
}

/// Counts of what one feed batch (or a whole pass) did to items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duplicate: u64,
    pub flagged: u64,
    pub dropped: std::collections::BTreeMap<&'static str, u64>,
    /// Lines `clean` removed from new or changed items, by reason (teaser, prompt, ...).
    pub removed_lines: std::collections::BTreeMap<&'static str, u64>,
}

impl ItemCounts {
    pub fn add(&mut self, other: &ItemCounts) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.duplicate += other.duplicate;
        self.flagged += other.flagged;
        for (k, v) in &other.dropped {
            *self.dropped.entry(k).or_default() += v;
        }
        for (k, v) in &other.removed_lines {
            *self.removed_lines.entry(k).or_default() += v;
        }
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    pub fn drop(&mut self, reason: DropReason) {
        *self.dropped.entry(reason.as_str()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_utc_seconds_with_z() {
        let t = Timestamp::parse("2026-11-29T18:10:17.5+02:00").expect("valid");
        assert_eq!(t.to_db(), "2026-11-29T16:10:17Z");
    }

    #[test]
    fn content_hash_is_stable_across_versions() {
        // Pinned value: if this changes, every persisted hash in users' databases is invalidated.
        assert_eq!(ContentHash::of(b"feedsieve").0.len(), 32);
        assert_eq!(ContentHash::of(b"feedsieve"), ContentHash::of(b"feedsieve"));
        assert_eq!(ContentHash::of(b"").0, "99aa06d3014798d86001c324468d497f");
    }
}
