//! OPML, the feed-list format every reader imports and exports, converted to and from the
//! config's `[[feeds]]` list. Pure: text in, text out.
//!
//! Reading is tolerant, as OPML files in the wild are: any `version`, attribute names in any case
//! (`xmlUrl`, `xmlurl`), unknown entities and stray end tags. Folders (outlines without a feed
//! url) and the OPML 2.0 `category` attribute both become tags. Writing nests each feed in a
//! folder named after its first tag (what Miniflux, FreshRSS and Feedly import as a category)
//! and lists all its tags in `category`, so an export imports back to the same list.

use std::collections::HashSet;
use std::fmt::Write as _;

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpmlFeed {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not an OPML document: {0}")]
    NotOpml(String),
    #[error("the OPML document cannot be read at byte {position}: {reason}")]
    Xml { position: u64, reason: String },
}

/// The feeds of an OPML document, in document order, each url once (the first occurrence wins;
/// later ones add their tags).
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut feeds: Vec<OpmlFeed> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    // For each open <outline>: the folder name it contributes (None for a feed outline).
    let mut open: Vec<Option<String>> = Vec::new();
    let mut root_seen = false;
    loop {
        let (start, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("outline") {
                    open.pop();
                }
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => {
                if feeds.is_empty() {
                    return Err(OpmlError::Xml { position: reader.error_position(), reason: e.to_string() });
                }
                // A broken tail: keep what was read before it.
                tracing::warn!(error = %e, position = reader.error_position(), "OPML read stopped early");
                break;
            }
        };
        let local = start.local_name();
        let local = local.as_ref();
        if !root_seen {
            if !local.eq_ignore_ascii_case("opml") {
                return Err(OpmlError::NotOpml(format!("the root element is <{local}>, not <opml>")));
            }
            root_seen = true;
            continue;
        }
        if !local.eq_ignore_ascii_case("outline") {
            continue;
        }
        let attrs = Attrs::of(&start);
        let folder = match attrs.url.clone() {
            Some(url) => {
                let mut tags: Vec<String> = open.iter().flatten().cloned().collect();
                tags.extend(attrs.categories());
                dedup_in_place(&mut tags);
                if seen.insert(url.clone()) {
                    feeds.push(OpmlFeed { url, name: attrs.name(), tags });
                } else if let Some(first) = feeds.iter_mut().find(|f| f.url == url) {
                    first.tags.extend(tags);
                    dedup_in_place(&mut first.tags);
                }
                None
            }
            None => attrs.name(),
        };
        if !empty {
            open.push(folder);
        }
    }
    if !root_seen {
        return Err(OpmlError::NotOpml("no <opml> element".into()));
    }
    Ok(feeds)
}

/// The attributes of an `<outline>` that matter here.
#[derive(Debug, Default)]
struct Attrs {
    url: Option<String>,
    text: Option<String>,
    title: Option<String>,
    category: Option<String>,
}

impl Attrs {
    fn of(e: &BytesStart<'_>) -> Attrs {
        let mut a = Attrs::default();
        for attr in e.attributes().with_checks(false).flatten() {
            // The HTML entity decoder: XML's five entities, HTML's named ones, bare `&` kept.
            let value = crate::pipeline::clean::inline_text(&attr.value);
            if value.is_empty() {
                continue;
            }
            let key = attr.key.local_name();
            match key.as_ref().to_ascii_lowercase().as_str() {
                "xmlurl" => a.url = Some(value),
                "text" => a.text = Some(value),
                "title" => a.title = Some(value),
                "category" => a.category = Some(value),
                _ => {}
            }
        }
        a
    }

    /// `title`, else `text` (readers disagree on which holds the feed's name).
    fn name(&self) -> Option<String> {
        self.title.clone().or_else(|| self.text.clone())
    }

    /// OPML 2.0 categories: comma-separated, each a slash-delimited path (`/News/World`).
    fn categories(&self) -> Vec<String> {
        let Some(c) = &self.category else { return Vec::new() };
        c.split(',').map(|t| t.trim().trim_matches('/').to_string()).filter(|t| !t.is_empty()).collect()
    }
}

fn dedup_in_place(tags: &mut Vec<String>) {
    let mut seen = HashSet::new();
    tags.retain(|t| seen.insert(t.clone()));
}

/// The `[[feeds]]` TOML for `feeds`, ready to paste into the config.
pub fn to_toml(feeds: &[OpmlFeed]) -> Result<String, toml::ser::Error> {
    #[derive(Serialize)]
    struct List<'a> {
        feeds: &'a [OpmlFeed],
    }
    toml::to_string(&List { feeds })
}

/// One feed to write: the config's url, name and tags.
#[derive(Debug, Clone, Copy)]
pub struct ExportFeed<'a> {
    pub url: &'a str,
    pub name: &'a str,
    pub tags: &'a [String],
}

/// An OPML 2.0 document listing `feeds`: untagged feeds at the top level, the others in a folder
/// named after their first tag.
pub fn write(title: &str, feeds: &[ExportFeed<'_>]) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    let _ = writeln!(out, "  <head>\n    <title>{}</title>\n  </head>\n  <body>", escape(title));
    let outline = |out: &mut String, f: &ExportFeed<'_>, indent: &str| {
        let _ = write!(
            out,
            "{indent}<outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{url}\"",
            name = escape(f.name),
            url = escape(f.url)
        );
        if !f.tags.is_empty() {
            let _ = write!(out, " category=\"{}\"", escape(f.tags.join(",")));
        }
        out.push_str("/>\n");
    };
    for f in feeds.iter().filter(|f| f.tags.is_empty()) {
        outline(&mut out, f, "    ");
    }
    let mut folders: Vec<&str> = Vec::new();
    for f in feeds {
        if let Some(first) = f.tags.first()
            && !folders.contains(&first.as_str())
        {
            folders.push(first);
        }
    }
    for folder in folders {
        let _ = writeln!(out, "    <outline text=\"{0}\" title=\"{0}\">", escape(folder));
        for f in feeds.iter().filter(|f| f.tags.first().map(String::as_str) == Some(folder)) {
            outline(&mut out, f, "      ");
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_categories_become_tags() {
        let doc = r#"<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
            <outline text="News">
              <outline text="Wire &amp; Co" type="rss" xmlUrl="https://a.example/rss" category="/world,/wire"/>
              <outline text="Sub"><outline title="B" xmlurl="https://b.example/feed"/></outline>
            </outline>
            <outline text="Top" xmlUrl="https://c.example/atom"></outline>
            <outline text="again" xmlUrl="https://a.example/rss" category="extra"/>
        </body></opml>"#;
        let feeds = parse(doc).expect("valid OPML");
        assert_eq!(
            feeds,
            vec![
                OpmlFeed {
                    url: "https://a.example/rss".into(),
                    name: Some("Wire & Co".into()),
                    tags: vec!["News".into(), "world".into(), "wire".into(), "extra".into()],
                },
                OpmlFeed {
                    url: "https://b.example/feed".into(),
                    name: Some("B".into()),
                    tags: vec!["News".into(), "Sub".into()],
                },
                OpmlFeed { url: "https://c.example/atom".into(), name: Some("Top".into()), tags: vec![] },
            ]
        );
    }

    #[test]
    fn sloppy_documents_still_read() {
        // Unknown version, an HTML entity, a bare ampersand, an unclosed body.
        let doc = "<opml version=\"3\"><body><outline text=\"Caf&eacute; & Co\" xmlUrl=\"https://x.example/?a=1&b=2\"/>";
        let feeds = parse(doc).expect("tolerated");
        assert_eq!(feeds.len(), 1);
        assert_eq!(feeds[0].url, "https://x.example/?a=1&b=2");
        assert_eq!(feeds[0].name.as_deref(), Some("Café & Co"));
    }

    #[test]
    fn not_opml_is_an_error() {
        assert!(matches!(parse("<rss><channel/></rss>"), Err(OpmlError::NotOpml(_))));
        assert!(matches!(parse("plain text"), Err(OpmlError::NotOpml(_))));
        // A document cut short keeps the feeds read before the cut.
        let cut = parse(r#"<opml><body><outline xmlUrl="https://a.example/"/><outline xmlUrl="ht"#);
        assert_eq!(cut.expect("the complete outline is kept").len(), 1);
    }

    #[test]
    fn export_imports_back_to_the_same_list() {
        let tags_a = vec!["world".to_string(), "wire".to_string()];
        let tags_b: Vec<String> = vec![];
        let feeds = [
            ExportFeed { url: "https://a.example/rss?x=1&y=2", name: "A \"quoted\" <feed>", tags: &tags_a },
            ExportFeed { url: "file:///srv/local.xml", name: "Local", tags: &tags_b },
        ];
        let doc = write("feedsieve feeds", &feeds);
        let back = parse(&doc).expect("our own output reads");
        let mut expected: Vec<OpmlFeed> = feeds
            .iter()
            .map(|f| OpmlFeed { url: f.url.into(), name: Some(f.name.into()), tags: f.tags.to_vec() })
            .collect();
        expected.reverse(); // untagged feeds come first
        assert_eq!(back, expected);
        let toml = to_toml(&back).expect("serializable");
        assert!(toml.contains("[[feeds]]"), "{toml}");
        let parsed: toml::Value = toml::from_str(&toml).expect("valid TOML");
        assert_eq!(parsed["feeds"].as_array().map(Vec::len), Some(2));
    }
}
