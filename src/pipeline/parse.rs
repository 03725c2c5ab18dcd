//! Stage 2, `parse`: bytes to a [`ParsedFeed`] of [`RawItem`]s.
//!
//! feed-rs reads RSS 0.9x/1.0/2.0, Atom and JSON Feed from the raw bytes (it honours the XML
//! declaration's encoding, so the body is never pre-decoded). A panic inside the parser is
//! caught and becomes this feed's [`ParseError::Panic`]; the daemon never dies of a document.
//!
//! **Item ids.** An item's `guid` is its `<guid>` / `<id>` / JSON `id` as given. When the feed
//! gives none (feed-rs would invent a random one per parse), the id is derived so that it is
//! the same on every poll: `link:` + the item's link when it has one, else `hash:` + xxh3-128 of
//! its title, summary and content. Such items carry `guid_derived = true`. When one document
//! repeats a guid, the first item wins and the rest are counted as dropped (`repeated_guid`).

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use feed_rs::model::{Entry, Link};

use crate::model::{ContentHash, FetchedBody, ParsedFeed, RawItem};

/// Why a document could not be parsed. All are reported as the feed's `parse` failure.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
    #[error("the parser panicked: {0}")]
    Panic(String),
}

impl ParseError {
    pub fn kind(&self) -> &'static str {
        "parse"
    }
}

/// A parsed feed plus how many items were dropped while reading it.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub feed: ParsedFeed,
    /// Items skipped because an earlier item of the same document had the same guid.
    pub repeated_guids: u64,
}

/// Parses a fetched body. `base` is the URL relative links resolve against (the final URL of
/// the response, or the file's URL).
pub fn parse(body: &FetchedBody) -> Result<Parsed, ParseError> {
    let base = body.final_url.clone();
    let bytes = body.bytes.as_slice();
    let result = catch_unwind(AssertUnwindSafe(|| {
        feed_rs::parser::Builder::new()
            .base_uri(base.as_deref())
            // An empty id marks "the feed gave none"; we derive a stable one below.
            .id_generator(|_links, _title, _uri| String::new())
            .sanitize_content(false)
            .build()
            .parse(bytes)
    }));
    let feed = match result {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => return Err(classify(&e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            return Err(ParseError::Panic(msg));
        }
    };

    let language = feed.language.clone().filter(|l| !l.trim().is_empty());
    let site_url = pick_link(&feed.links);
    // feed-rs drops <source>, dc:source and dc:publisher; read them in a second, tolerant pass
    // and attach them by position (only when both passes saw the same number of items).
    let extras = doc_extras(bytes).unwrap_or_default();
    let mut sources =
        if extras.items.len() == feed.entries.len() { extras.items.clone() } else { Vec::new() }.into_iter();
    let ttl = feed.ttl.filter(|m| *m > 0).map(|m| std::time::Duration::from_secs(u64::from(m) * 60));
    let feed_min = ttl.into_iter().chain(extras.syndication_interval()).max();
    let mut seen = HashSet::new();
    let mut repeated_guids = 0;
    let mut items = Vec::with_capacity(feed.entries.len());
    for entry in feed.entries {
        let mut item = raw_item(entry, language.as_deref(), base.as_deref());
        item.sources = sources.next().unwrap_or_default();
        if seen.insert(item.guid.clone()) {
            items.push(item);
        } else {
            repeated_guids += 1;
        }
    }
    Ok(Parsed {
        feed: ParsedFeed {
            title: feed.title.map(|t| t.content),
            site_url,
            language,
            feed_min,
            skip_hours: extras.skip_hours,
            skip_days: extras.skip_days,
            items,
        },
        repeated_guids,
    })
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
    fn syndication_interval(&self) -> Option<std::time::Duration> {
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
        Some(std::time::Duration::from_secs(period / frequency))
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
fn doc_extras(bytes: &[u8]) -> Option<DocExtras> {
    use quick_xml::events::Event;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'<') {
        return None;
    }
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut out = DocExtras::default();
    // Element depth inside the current item (0: outside any item).
    let mut depth = 0usize;
    // Text being collected: what, the text so far, and the item depth it belongs to.
    let mut capture: Option<(Capture, String, usize)> = None;
    loop {
        match reader.read_event_into(&mut buf) {
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
                    text.push(' ');
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
                    text.push(' ');
                }
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            _ => {}
        }
        buf.clear();
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

fn raw_item(entry: Entry, feed_language: Option<&str>, base: Option<&str>) -> RawItem {
    let link = pick_link(&entry.links);
    let title = non_empty(entry.title.map(|t| t.content));
    let summary = non_empty(entry.summary.map(|t| t.content));
    let content = non_empty(entry.content.and_then(|c| c.body));
    let id = entry.id.trim().to_string();
    let (guid, guid_derived) = if !id.is_empty() {
        (id, false)
    } else if let Some(link) = &link {
        (format!("link:{link}"), true)
    } else {
        let material = [title.as_deref(), summary.as_deref(), content.as_deref()]
            .map(|s| s.unwrap_or_default())
            .join("\u{1f}");
        (format!("hash:{}", ContentHash::of(material.as_bytes())), true)
    };
    let authors = entry.authors.into_iter().filter_map(|p| non_empty(p.name).or(p.email)).collect();
    let categories = entry
        .categories
        .into_iter()
        .filter_map(|c| non_empty(c.label).or_else(|| non_empty(Some(c.term))))
        .collect();
    RawItem {
        guid,
        guid_derived,
        title,
        base_url: link.clone().or_else(|| base.map(str::to_owned)),
        link,
        summary,
        content,
        authors,
        published: entry.published,
        updated: entry.updated,
        categories,
        feed_language: feed_language.map(str::to_owned),
        sources: Vec::new(),
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
        let a = parse(&body(RSS_NO_GUIDS)).expect("valid feed");
        let b = parse(&body(RSS_NO_GUIDS)).expect("valid feed");
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
        let p = parse(&body(doc)).expect("valid feed");
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
        let p = parse(&body(doc)).expect("valid feed");
        assert_eq!(p.feed.feed_min, Some(std::time::Duration::from_secs(7200)), "max(ttl 1h, daily/12 = 2h)");
        assert_eq!(p.feed.skip_hours, vec![1, 2]);
        assert_eq!(p.feed.skip_days, vec![chrono::Weekday::Sun]);
    }

    #[test]
    fn repeated_guids_keep_the_first_item() {
        let doc = r#"<rss version="2.0"><channel><title>T</title>
            <item><guid>1</guid><title>first</title></item>
            <item><guid>1</guid><title>second</title></item></channel></rss>"#;
        let p = parse(&body(doc)).expect("valid feed");
        assert_eq!(p.feed.items.len(), 1);
        assert_eq!(p.feed.items[0].title.as_deref(), Some("first"));
        assert_eq!(p.repeated_guids, 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(parse(&body("hello")), Err(ParseError::NotAFeed(_))));
        assert!(parse(&body("<rss version=\"2.0\"><channel><item><title>x</titl")).is_err());
        assert!(parse(&body("{\"version\": 3")).is_err());
    }

    #[test]
    fn json_feed_and_atom_are_read() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"j1","url":"https://example.org/j1","title":"Hola","content_html":"<p>Uno</p>",
             "date_published":"2026-11-28T10:00:00+01:00"}]}"#;
        let p = parse(&body(json)).expect("json feed");
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
        let p = parse(&body(atom)).expect("atom");
        assert_eq!(p.feed.items[0].link.as_deref(), Some("https://example.org/e1"));
    }
}
