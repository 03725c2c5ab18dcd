//! Stage 2, `parse`: bytes to a [`ParsedFeed`] of [`RawItem`]s, reading at least everything
//! feedparser (the most lenient parser in wide use) reads.
//!
//! 1. [`decode`]: bytes to UTF-8 (gzip, BOM, UTF-16/32, HTTP charset, XML declaration,
//!    sniffing).
//! 2. feed-rs reads the document as it is, after [`normalize::repair_references`]; that is the
//!    fast path, taken when it finds as many items as the document visibly holds
//!    ([`normalize::prescan`]).
//! 3. Otherwise [`normalize::normalize`] rewrites what feed-rs rejects or silently empties, and
//!    feed-rs reads the result (JSON Feed gets [`normalize_json`]).
//! 4. Otherwise [`fallback::recover`] scans the broken markup for items.
//!
//! A panic inside feed-rs is caught and becomes this feed's [`ParseError::Panic`]; the daemon
//! never dies of a document.
//!
//! **Item ids.** An item's `guid` is its `<guid>` / `<id>` / JSON `id` as given. When the feed
//! gives none (feed-rs would invent a random one per parse), the id is derived so that it is
//! the same on every poll: `link:` + the item's canonical link when it has one, else `hash:` +
//! xxh3-128 of its title, summary and content. Such items carry `guid_derived = true`. When one
//! document repeats a guid for a different item, the later item gets `guid#` + a short xxh3 of
//! its link and title (and of its text and dates, if those are the same too); an exact repeat of an item is
//! counted as dropped (`repeated_guid`). A derived id shared by several items of a document gets
//! the suffix on every one of them.

mod decode;
mod fallback;
mod normalize;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Link};

use crate::model::{ContentHash, FetchedBody, ParsedFeed, RawItem};

pub use decode::{DecodeError, Decoded, decode};

/// Why a document could not be parsed. All are reported as the feed's `parse` failure.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
    #[error("the parser panicked: {0}")]
    Panic(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl ParseError {
    pub fn kind(&self) -> &'static str {
        "parse"
    }
}

/// More items than this in one document is an attack or an accident, not a feed: refused before
/// any parser builds them in memory.
pub const MAX_ITEMS: usize = 50_000;

/// Which reader produced the items (logged and counted by the corpus check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// feed-rs on the document as received.
    #[default]
    Direct,
    /// feed-rs on the normalized document.
    Normalized,
    /// The tolerant scan.
    Recovered,
}

/// A parsed feed plus how many items were dropped while reading it.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub feed: ParsedFeed,
    /// Items skipped because an earlier item of the same document was the same item.
    pub repeated_guids: u64,
    pub route: Route,
    /// The encoding the document was read from.
    pub encoding: &'static str,
}

/// One item's fields, from feed-rs or from the tolerant scan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub id: String,
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub categories: Vec<String>,
    pub sources: Vec<String>,
}

impl From<Entry> for Fields {
    fn from(entry: Entry) -> Fields {
        Fields {
            link: pick_link(&entry.links),
            id: entry.id,
            title: non_empty(entry.title.map(|t| t.content)),
            summary: non_empty(entry.summary.map(|t| t.content)),
            content: non_empty(entry.content.and_then(|c| c.body)),
            authors: entry.authors.into_iter().filter_map(|p| non_empty(p.name).or(p.email)).collect(),
            published: entry.published,
            updated: entry.updated,
            categories: entry
                .categories
                .into_iter()
                .filter_map(|c| non_empty(c.label).or_else(|| non_empty(Some(c.term))))
                .collect(),
            sources: Vec::new(),
        }
    }
}

/// A document read by any route, before ids are assigned.
struct Doc {
    title: Option<String>,
    site_url: Option<String>,
    language: Option<String>,
    ttl: Option<Duration>,
    entries: Vec<Fields>,
    route: Route,
}

impl Doc {
    fn from_feed_rs(feed: feed_rs::model::Feed, route: Route) -> Doc {
        Doc {
            title: feed.title.map(|t| t.content),
            site_url: pick_link(&feed.links),
            language: feed.language,
            ttl: feed.ttl.filter(|m| *m > 0).map(|m| Duration::from_secs(u64::from(m) * 60)),
            entries: feed.entries.into_iter().map(Fields::from).collect(),
            route,
        }
    }
}

/// Parses a fetched body. Relative links resolve against the body's final URL; `max_body`
/// caps a gzip body found inside the bytes once inflated.
pub fn parse(body: &FetchedBody, max_body: u64) -> Result<Parsed, ParseError> {
    let base = body.final_url.as_deref();
    let decoded = decode(&body.bytes, body.content_type.as_deref(), max_body)?;
    let text = decoded.text.as_ref();
    let (doc, extras) = if text.starts_with(['{', '[']) {
        match read_json(text) {
            Ok(doc) => (doc, None),
            // `[` or `{` can also be junk in front of an XML document.
            Err(e) => match text.find('<') {
                Some(lt) => read_xml(&text[lt..]).map_err(|_| e)?,
                None => return Err(e),
            },
        }
    } else {
        read_xml(text)?
    };

    let language = doc.language.filter(|l| !l.trim().is_empty());
    // feed-rs drops <source>, dc:source and dc:publisher; read them in a second, tolerant pass
    // and attach them by position (only when both passes saw the same number of items).
    let extras = extras.unwrap_or_default();
    let mut sources =
        if extras.items.len() == doc.entries.len() { extras.items.clone() } else { Vec::new() }.into_iter();
    let feed_min = doc.ttl.into_iter().chain(extras.syndication_interval()).max();
    // guid -> index in `items`.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut repeated_guids = 0;
    let mut items: Vec<RawItem> = Vec::with_capacity(doc.entries.len());
    let mut raw_items: Vec<RawItem> = Vec::with_capacity(doc.entries.len());
    for mut fields in doc.entries {
        if let Some(found) = sources.next().filter(|s| !s.is_empty()) {
            fields.sources = found;
        }
        raw_items.push(raw_item(fields, language.as_deref(), base));
    }
    // A derived id shared by several items (say, every item links to the home page) is not an
    // identity: each of them gets the suffix, so no id depends on which item comes first.
    let mut derived: HashMap<&str, usize> = HashMap::new();
    for item in raw_items.iter().filter(|i| i.guid_derived) {
        *derived.entry(item.guid.as_str()).or_default() += 1;
    }
    let shared: std::collections::HashSet<String> =
        derived.into_iter().filter(|(_, n)| *n > 1).map(|(g, _)| g.to_string()).collect();
    for item in raw_items.iter_mut().filter(|i| shared.contains(&i.guid)) {
        item.guid = format!("{}#{}", item.guid, &ContentHash::of(item_key(item, false).as_bytes()).0[..12]);
    }
    for mut item in raw_items {
        if let Some(&owner) = seen.get(&item.guid) {
            // A different item under a repeated guid is disambiguated by what tells it apart;
            // an exact repeat is dropped.
            let full = item_key(&item, true);
            let mut repeat = item_key(&items[owner], true) == full;
            let candidates = [item_key(&item, false), full.clone()]
                .map(|m| format!("{}#{}", item.guid, &ContentHash::of(m.as_bytes()).0[..12]));
            for candidate in candidates {
                if repeat {
                    break;
                }
                match seen.get(&candidate) {
                    None => {
                        item.guid = candidate;
                        break;
                    }
                    Some(&other) => repeat = item_key(&items[other], true) == full,
                }
            }
            if repeat || seen.contains_key(&item.guid) {
                repeated_guids += 1;
                continue;
            }
        }
        seen.insert(item.guid.clone(), items.len());
        items.push(item);
    }
    Ok(Parsed {
        feed: ParsedFeed {
            title: doc.title,
            site_url: doc.site_url.map(|l| resolve(l, base)),
            language,
            feed_min,
            skip_hours: extras.skip_hours,
            skip_days: extras.skip_days,
            items,
        },
        repeated_guids,
        route: doc.route,
        encoding: decoded.encoding,
    })
}

/// What tells two items with the same guid apart: link and title, and with `content` also the
/// text and dates.
fn item_key(item: &RawItem, content: bool) -> String {
    let mut parts = vec![item.link.as_deref(), item.title.as_deref()];
    let dates = [item.published, item.updated].map(|d| d.map(|d| d.to_rfc3339()).unwrap_or_default());
    if content {
        parts.extend([item.summary.as_deref(), item.content.as_deref(), Some(&dates[0]), Some(&dates[1])]);
    }
    parts.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>().join("\u{1f}")
}

/// feed-rs on `bytes`, with a panic turned into an error.
fn feed_rs(bytes: &[u8]) -> Result<feed_rs::model::Feed, ParseError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // No `base_uri`: feed-rs would parse and join every link; relative links (rare) are
        // resolved in `raw_item` instead. `xml:base` inside the document still applies.
        feed_rs::parser::Builder::new()
            // An empty id marks "the feed gave none"; we derive a stable one below.
            .id_generator(|_links, _title, _uri| String::new())
            .sanitize_content(false)
            .build()
            .parse(bytes)
    }));
    match result {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(classify(&e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            Err(ParseError::Panic(msg))
        }
    }
}

/// An XML document through the routes in the module doc, with the [`DocExtras`] of the text
/// the items were read from.
fn read_xml(text: &str) -> Result<(Doc, Option<DocExtras>), ParseError> {
    let repaired = normalize::repair_references(text);
    let repaired = match normalize::strip_declarations(&repaired) {
        std::borrow::Cow::Borrowed(_) => repaired,
        std::borrow::Cow::Owned(stripped) => std::borrow::Cow::Owned(stripped),
    };
    let scan = normalize::prescan(&repaired);
    let visible = scan.items;
    if visible > MAX_ITEMS {
        return Err(ParseError::Malformed(format!(
            "{visible} items in one document; at most {MAX_ITEMS} are read"
        )));
    }
    let extras = |text: &str| if scan.extras { doc_extras(text) } else { None };
    let direct = match feed_rs(repaired.as_bytes()) {
        Ok(feed)
            if feed.entries.len() >= visible
                && (visible > 0 || !feed.links.is_empty() || feed.title.is_some()) =>
        {
            return Ok((Doc::from_feed_rs(feed, Route::Direct), extras(&repaired)));
        }
        other => other,
    };
    let normalized = normalize::normalize(&repaired);
    let second = feed_rs(normalized.text.as_bytes());
    let seen = normalized.items_seen.max(visible);
    let recovered = match &second {
        Ok(feed) if feed.entries.len() >= seen => None,
        _ => fallback::recover(&repaired).filter(|r| !r.items.is_empty()),
    };
    match (second, recovered) {
        // feed-rs on the normalized text, unless the scan found more items.
        (Ok(feed), r) if r.as_ref().is_none_or(|r| r.items.len() <= feed.entries.len()) => {
            Ok((Doc::from_feed_rs(feed, Route::Normalized), extras(&normalized.text)))
        }
        (_, Some(r)) => Ok((
            Doc {
                title: r.title,
                site_url: r.link,
                language: r.language,
                ttl: None,
                entries: r.items,
                route: Route::Recovered,
            },
            None,
        )),
        // (An `Ok` without a recovery is taken by the first arm.)
        (second, None) => Err(match (direct, second) {
            // The first error names the real problem better than one in our rewrite.
            (Err(first), _) if !matches!(first, ParseError::NotAFeed(_)) => first,
            (_, Err(e)) => e,
            (Err(first), Ok(_)) => first,
            (Ok(_), Ok(_)) => ParseError::NotAFeed("no items found".into()),
        }),
    }
}

/// A JSON Feed: as it is, else after [`normalize_json`].
fn read_json(text: &str) -> Result<Doc, ParseError> {
    match feed_rs(text.as_bytes()) {
        Ok(feed) => Ok(Doc::from_feed_rs(feed, Route::Direct)),
        Err(first) => match normalize_json(text) {
            Some(fixed) => feed_rs(fixed.as_bytes())
                .map(|feed| Doc::from_feed_rs(feed, Route::Normalized))
                .map_err(|_| first),
            None => Err(first),
        },
    }
}

/// Repairs what feed-rs refuses in JSON Feeds seen in the wild: an `http://` or unknown version
/// URL, a missing title, `tags` given as a string, numeric ids. `None` if it is not a JSON
/// object with an `items` array.
pub fn normalize_json(text: &str) -> Option<String> {
    use serde_json::Value;
    let mut doc: Value = serde_json::from_str(text).ok()?;
    let obj = doc.as_object_mut()?;
    if !obj.get("items").is_some_and(Value::is_array) {
        return None;
    }
    let version = obj.get("version").and_then(Value::as_str).unwrap_or_default();
    let version = if version.contains("version/1.1") {
        "https://jsonfeed.org/version/1.1"
    } else {
        "https://jsonfeed.org/version/1"
    };
    obj.insert("version".into(), Value::String(version.into()));
    if !obj.get("title").is_some_and(Value::is_string) {
        obj.insert("title".into(), Value::String(String::new()));
    }
    for item in obj.get_mut("items").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(item) = item.as_object_mut() else { continue };
        if let Some(Value::String(tag)) = item.get("tags") {
            let tags =
                tag.split(',').map(|t| Value::String(t.trim().to_string())).filter(|t| t != "").collect();
            item.insert("tags".into(), Value::Array(tags));
        }
        if let Some(id) = item.get("id").filter(|id| !id.is_string()) {
            let id = match id {
                Value::Null => String::new(),
                other => other.to_string(),
            };
            item.insert("id".into(), Value::String(id));
        }
    }
    serde_json::to_string(&doc).ok()
}

/// What feed-rs does not expose, read in a second tolerant pass over XML documents.
#[derive(Debug, Default)]
struct DocExtras {
    /// Per item (`<item>` / `<entry>`, in document order): its `source`, `dc:source` and
    /// `dc:publisher` texts.
    items: Vec<Vec<String>>,
    /// `sy:updatePeriod` and `sy:updateFrequency`.
    update_period: Option<String>,
    update_frequency: Option<String>,
    skip_hours: Vec<u32>,
    skip_days: Vec<chrono::Weekday>,
}

impl DocExtras {
    /// The interval `sy:updatePeriod` / `sy:updateFrequency` ask for (period / frequency).
    fn syndication_interval(&self) -> Option<Duration> {
        let period = match self.update_period.as_deref()?.trim().to_ascii_lowercase().as_str() {
            "hourly" => 3600,
            "daily" => 86_400,
            "weekly" => 7 * 86_400,
            "monthly" => 30 * 86_400,
            "yearly" => 365 * 86_400,
            _ => return None,
        };
        let frequency = self
            .update_frequency
            .as_deref()
            .and_then(|f| f.trim().parse::<u64>().ok())
            .filter(|f| *f > 0)
            .unwrap_or(1);
        Some(Duration::from_secs(period / frequency))
    }
}

/// What is being collected while reading [`DocExtras`].
#[derive(Debug, Clone, Copy)]
enum Capture {
    Source,
    Period,
    Frequency,
    Hour,
    Day,
}

/// Reads [`DocExtras`]; `None` for JSON or when the XML cannot be read to the end.
fn doc_extras(text: &str) -> Option<DocExtras> {
    use quick_xml::events::Event;
    // Most documents have none of these: skip the pass.
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut out = DocExtras::default();
    // Element depth inside the current item (0: outside any item).
    let mut depth = 0usize;
    // Text being collected: what, the text so far, and the item depth it belongs to.
    let mut capture: Option<(Capture, String, usize)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let local = e.local_name();
                let local = local.as_ref();
                if depth == 0 {
                    match local {
                        "item" | "entry" => {
                            out.items.push(Vec::new());
                            depth = 1;
                        }
                        "updatePeriod" => capture = Some((Capture::Period, String::new(), 0)),
                        "updateFrequency" => capture = Some((Capture::Frequency, String::new(), 0)),
                        "hour" => capture = Some((Capture::Hour, String::new(), 0)),
                        "day" => capture = Some((Capture::Day, String::new(), 0)),
                        _ => {}
                    }
                } else {
                    depth += 1;
                    // A nested element inside a captured one: keep the words apart.
                    if let Some((_, text, _)) = capture.as_mut() {
                        text.push(' ');
                    }
                    if capture.is_none() && matches!(local, "source" | "publisher") {
                        capture = Some((Capture::Source, String::new(), depth));
                    }
                }
            }
            Ok(Event::End(_)) => {
                if let Some((what, text, _)) = capture.take_if(|(_, _, at)| *at == depth) {
                    let text = crate::pipeline::clean::inline_text(&text);
                    match what {
                        Capture::Source => {
                            if let (false, Some(item)) = (text.is_empty(), out.items.last_mut()) {
                                item.push(text);
                            }
                        }
                        Capture::Period => out.update_period = Some(text),
                        Capture::Frequency => out.update_frequency = Some(text),
                        Capture::Hour => out.skip_hours.extend(text.parse::<u32>().ok().filter(|h| *h < 24)),
                        Capture::Day => out.skip_days.extend(text.parse::<chrono::Weekday>().ok()),
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Text(t)) => {
                if let Some((_, text, _)) = capture.as_mut() {
                    text.push_str(&t);
                }
            }
            // Entity references arrive as their own events; the HTML entity decoder above
            // resolves them (`&amp;`, `&#233;`, `&nbsp;` …).
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, text, _)) = capture.as_mut() {
                    text.push('&');
                    text.push_str(&r);
                    text.push(';');
                }
            }
            Ok(Event::CData(t)) => {
                if let Some((_, text, _)) = capture.as_mut() {
                    text.push_str(&t);
                }
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            _ => {}
        }
    }
    Some(out)
}

fn classify(e: &feed_rs::parser::ParseFeedError) -> ParseError {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    match e {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            ParseError::NotAFeed("no RSS, Atom or JSON Feed root element".into())
        }
        other => ParseError::Malformed(other.to_string()),
    }
}

/// The item's main link: `alternate` (or no rel) first, then any link.
fn pick_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// `link` made absolute against `base` (the body's final URL) when it is relative.
fn resolve(link: String, base: Option<&str>) -> String {
    if link.starts_with("https://") || link.starts_with("http://") {
        return link;
    }
    match (url::Url::parse(&link), base.and_then(|b| url::Url::parse(b).ok())) {
        (Err(url::ParseError::RelativeUrlWithoutBase), Some(base)) => {
            base.join(&link).map_or(link, String::from)
        }
        _ => link,
    }
}

fn raw_item(fields: Fields, feed_language: Option<&str>, base: Option<&str>) -> RawItem {
    let Fields { id, link, title, summary, content, authors, published, updated, categories, sources } =
        fields;
    let link = link.map(|l| resolve(l, base));
    let id = id.trim().to_string();
    let (guid, guid_derived) = if !id.is_empty() {
        (id, false)
    } else if let Some(link) = &link {
        let canonical = crate::pipeline::clean::canonical_url(link).unwrap_or_else(|| link.clone());
        (format!("link:{canonical}"), true)
    } else {
        let material = [title.as_deref(), summary.as_deref(), content.as_deref()]
            .map(|s| s.unwrap_or_default())
            .join("\u{1f}");
        (format!("hash:{}", ContentHash::of(material.as_bytes())), true)
    };
    RawItem {
        guid,
        guid_derived,
        title,
        base_url: link.clone().or_else(|| base.map(str::to_owned)),
        link,
        summary,
        content,
        authors,
        published,
        updated,
        categories,
        feed_language: feed_language.map(str::to_owned),
        sources,
        page: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> FetchedBody {
        FetchedBody {
            bytes: text.as_bytes().to_vec(),
            content_type: None,
            final_url: Some("https://example.org/feed.xml".into()),
            http_status: Some(200),
            etag: None,
            last_modified: None,
            fresh_for: None,
            moved_to: None,
        }
    }

    const RSS_NO_GUIDS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
        <item><title>With link</title><link>https://example.org/a</link><description>x</description></item>
        <item><title>No link</title><description>y</description></item>
        </channel></rss>"#;

    #[test]
    fn items_without_guid_get_the_same_id_on_every_parse() {
        let a = parse(&body(RSS_NO_GUIDS), 1 << 24).expect("valid feed");
        let b = parse(&body(RSS_NO_GUIDS), 1 << 24).expect("valid feed");
        let ids: Vec<_> = a.feed.items.iter().map(|i| i.guid.clone()).collect();
        assert_eq!(ids, b.feed.items.iter().map(|i| i.guid.clone()).collect::<Vec<_>>());
        assert_eq!(ids[0], "link:https://example.org/a");
        assert!(ids[1].starts_with("hash:"));
        assert!(a.feed.items.iter().all(|i| i.guid_derived));
    }

    #[test]
    fn source_dc_source_and_dc_publisher_are_kept() {
        let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
            <item><guid>1</guid><title>a</title><source url="https://pti.example/rss">Press Trust of India</source></item>
            <item><guid>2</guid><title>b</title><dc:source>Reuters</dc:source><dc:publisher>Example &amp; Co</dc:publisher></item>
            <item><guid>3</guid><title>c</title></item></channel></rss>"#;
        let p = parse(&body(doc), 1 << 24).expect("valid feed");
        let sources: Vec<Vec<String>> = p.feed.items.iter().map(|i| i.sources.clone()).collect();
        assert_eq!(
            sources,
            vec![
                vec!["Press Trust of India".to_string()],
                vec!["Reuters".into(), "Example & Co".into()],
                vec![]
            ]
        );
    }

    #[test]
    fn ttl_sy_and_skip_elements_are_read() {
        let doc = r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>
            <ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>12</sy:updateFrequency>
            <skipHours><hour>1</hour><hour>2</hour></skipHours><skipDays><day>Sunday</day></skipDays>
            <item><guid>1</guid><title>a</title></item></channel></rss>"#;
        let p = parse(&body(doc), 1 << 24).expect("valid feed");
        assert_eq!(p.feed.feed_min, Some(Duration::from_secs(7200)), "max(ttl 1h, daily/12 = 2h)");
        assert_eq!(p.feed.skip_hours, vec![1, 2]);
        assert_eq!(p.feed.skip_days, vec![chrono::Weekday::Sun]);
    }

    #[test]
    fn repeated_guids_are_disambiguated_and_exact_repeats_dropped() {
        let doc = r#"<rss version="2.0"><channel><title>T</title>
            <item><guid>1</guid><title>first</title></item>
            <item><guid>1</guid><title>second</title></item>
            <item><guid>1</guid><title>first</title></item></channel></rss>"#;
        let p = parse(&body(doc), 1 << 24).expect("valid feed");
        let ids: Vec<&str> = p.feed.items.iter().map(|i| i.guid.as_str()).collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], "1");
        assert!(ids[1].starts_with("1#") && ids[1].len() == 14, "{ids:?}");
        assert_eq!(p.feed.items[1].title.as_deref(), Some("second"));
        assert_eq!(p.repeated_guids, 1);
        // The same on every parse.
        assert_eq!(parse(&body(doc), 1 << 24).expect("valid feed").feed.items[1].guid, ids[1]);
    }

    #[test]
    fn relative_links_resolve_against_the_final_url() {
        let doc = r#"<rss version="2.0"><channel><title>T</title><link>/</link>
            <item><title>a</title><link>/news/a</link></item><item><title>b</title><link>https://other.example/b</link></item></channel></rss>"#;
        let p = parse(&body(doc), 1 << 24).expect("valid feed");
        assert_eq!(p.feed.site_url.as_deref(), Some("https://example.org/"));
        assert_eq!(p.feed.items[0].link.as_deref(), Some("https://example.org/news/a"));
        assert_eq!(p.feed.items[1].link.as_deref(), Some("https://other.example/b"));
    }

    #[test]
    fn items_sharing_a_derived_id_all_get_a_suffix() {
        let doc =
            |items: &str| format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>");
        let a = "<item><title>A</title><link>https://example.org/</link></item>";
        let b = "<item><title>B</title><link>https://example.org/</link></item>";
        let c = "<item><title>C</title><link>https://example.org/</link></item>";
        let ids = |d: &str| -> Vec<String> {
            parse(&body(d), 1 << 24).expect("valid").feed.items.into_iter().map(|i| i.guid).collect()
        };
        let first = ids(&doc(&format!("{a}{b}{c}")));
        assert!(first.iter().all(|g| g.starts_with("link:https://example.org/#")), "{first:?}");
        // When A leaves the feed, B and C keep their ids.
        assert_eq!(ids(&doc(&format!("{b}{c}"))), first[1..]);
    }

    #[test]
    fn publisher_text_keeps_its_entities_in_place() {
        let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
            <item><guid>1</guid><dc:publisher>AT&amp;T Caf&#233;</dc:publisher></item></channel></rss>"#;
        assert_eq!(
            parse(&body(doc), 1 << 24).expect("valid").feed.items[0].sources,
            vec!["AT&T Café".to_string()]
        );
    }

    #[test]
    fn junk_that_looks_like_json_before_xml() {
        let doc = "[]<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title><item><guid>1</guid><title>x</title></item></channel></rss>";
        assert_eq!(parse(&body(doc), 1 << 24).expect("xml after junk").feed.items.len(), 1);
    }

    #[test]
    fn a_flood_of_items_is_refused_before_parsing() {
        let doc =
            format!("<rss version=\"2.0\"><channel>{}</channel></rss>", "<item/>".repeat(MAX_ITEMS + 1));
        assert!(matches!(parse(&body(&doc), 1 << 30), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(parse(&body("hello"), 1 << 24), Err(ParseError::NotAFeed(_))));
        assert!(parse(&body("{\"version\": 3"), 1 << 24).is_err());
        assert!(parse(&body("<html><body><p>not a feed</p></body></html>"), 1 << 24).is_err());
    }

    #[test]
    fn a_truncated_document_keeps_its_items() {
        let p = parse(&body("<rss version=\"2.0\"><channel><item><title>x</title><link>http://e/1</link></item><item><title>y</titl"), 1 << 24)
            .expect("recovered");
        assert_eq!(
            p.feed.items.iter().map(|i| i.title.as_deref().unwrap_or_default()).collect::<Vec<_>>(),
            ["x", "y"]
        );
    }

    #[test]
    fn json_feed_and_atom_are_read() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"j1","url":"https://example.org/j1","title":"Hola","content_html":"<p>Uno</p>",
             "date_published":"2026-11-28T10:00:00+01:00"}]}"#;
        let p = parse(&body(json), 1 << 24).expect("json feed");
        assert_eq!(p.feed.items[0].guid, "j1");
        assert_eq!(p.feed.items[0].content.as_deref(), Some("<p>Uno</p>"));
        assert_eq!(
            p.feed.items[0].published.map(|d| d.to_rfc3339()),
            Some("2026-11-28T09:00:00+00:00".to_string())
        );
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
            <updated>2026-11-28T10:00:00Z</updated>
            <entry><id>urn:e1</id><title>E</title><updated>2026-11-28T10:00:00Z</updated>
            <link href="https://example.org/e1"/><content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>"#;
        let p = parse(&body(atom), 1 << 24).expect("atom");
        assert_eq!(p.feed.items[0].link.as_deref(), Some("https://example.org/e1"));
    }
}
