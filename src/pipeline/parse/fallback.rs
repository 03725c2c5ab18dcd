//! The last resort for documents no XML reader accepts, even after [`super::normalize`]: a
//! tolerant scan that recovers items (title, link, id, dates, content, authors, sources) from
//! broken markup, the way feedparser's loose parser does. It reads `<item>`/`<entry>` blocks
//! with any prefix, ends a block at its end tag or at the next item, and takes each field from
//! the first matching element inside (CDATA kept as it is, entities decoded).

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use regex::Regex;

use super::Fields;

/// What the scan recovered from a document.
#[derive(Debug, Default)]
pub struct Recovered {
    pub title: Option<String>,
    pub language: Option<String>,
    pub link: Option<String>,
    pub items: Vec<Fields>,
}

static ITEM_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<(?:[a-z_][\w.-]*:)?(?:item|entry)(?:\s[^>]*)?>")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static ITEM_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)</(?:[a-z_][\w.-]*:)?(?:item|entry)\s*>").unwrap_or_else(|e| panic!("static regex: {e}"))
});
static ATOM_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<(?:[a-z_][\w.-]*:)?link\s([^>]*?)/?>"#).unwrap_or_else(|e| panic!("static regex: {e}"))
});
static ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"#)
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Field names the scan reads (local names, any prefix).
const FIELDS: &[&str] = &[
    "title",
    "link",
    "guid",
    "id",
    "pubDate",
    "published",
    "issued",
    "date",
    "updated",
    "modified",
    "created",
    "encoded",
    "content",
    "description",
    "summary",
    "creator",
    "name",
    "author",
    "source",
    "publisher",
    "language",
];

static ELEMENTS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    FIELDS
        .iter()
        .map(|name| {
            let p = r"(?:[a-z_][\w.-]*:)?";
            Regex::new(&format!(r"(?is)<{p}{name}(?:\s[^>]*[^/>])?\s*>(.*?)</{p}{name}\s*>"))
                .unwrap_or_else(|e| panic!("static regex: {e}"))
        })
        .collect()
});

/// The regex for one field name (which must be in [`FIELDS`]).
fn element(name: &str) -> Option<&'static Regex> {
    FIELDS.iter().position(|f| *f == name).and_then(|i| ELEMENTS.get(i))
}

/// Scans `text` for items; `None` when it holds no `<item>`/`<entry>` at all. Links are as
/// written (the caller resolves relative ones).
pub fn recover(text: &str) -> Option<Recovered> {
    // `<item>` written inside CDATA or a comment is content, not an item.
    let literal = super::normalize::literal_regions(text);
    let inside = |at: usize| {
        let i = literal.partition_point(|(start, _)| *start <= at);
        i > 0 && literal[i - 1].1 > at
    };
    let starts: Vec<(usize, usize)> =
        ITEM_START.find_iter(text).filter(|m| !inside(m.start())).map(|m| (m.start(), m.end())).collect();
    let (first, _) = *starts.first()?;
    let head = &text[..first];
    let mut out = Recovered {
        title: field(head, &["title"]),
        language: field(head, &["language"]).or_else(|| xml_lang(head)),
        link: link(head),
        items: Vec::with_capacity(starts.len()),
    };
    for (i, (_, open_end)) in starts.iter().enumerate() {
        let limit = starts.get(i + 1).map_or(text.len(), |(next, _)| *next);
        let block = &text[*open_end..limit];
        let block = ITEM_END.find(block).map_or(block, |m| &block[..m.start()]);
        out.items.push(item(block));
    }
    Some(out)
}

fn item(block: &str) -> Fields {
    let guid = field(block, &["guid", "id"]);
    let link = link(block)
        .or_else(|| guid.clone().filter(|g| g.starts_with("http://") || g.starts_with("https://")));
    let date =
        |names: &[&'static str]| names.iter().find_map(|n| field(block, &[n]).and_then(|d| parse_date(&d)));
    let authors = ["creator", "name", "author"].iter().find_map(|n| field(block, &[n])).into_iter().collect();
    let sources = ["source", "publisher"].iter().filter_map(|n| field(block, &[n])).collect();
    Fields {
        id: guid.unwrap_or_default(),
        link,
        title: field(block, &["title"]),
        summary: field(block, &["description", "summary"]),
        content: field(block, &["encoded", "content"]),
        authors,
        published: date(&["pubDate", "published", "issued", "date", "created"]),
        updated: date(&["updated", "modified"]),
        categories: Vec::new(),
        sources,
    }
}

/// The first non-empty value among elements named `names` (tried in order).
fn field(block: &str, names: &[&'static str]) -> Option<String> {
    names.iter().find_map(|name| {
        element(name)?
            .captures_iter(block)
            .find_map(|c| c.get(1).map(|m| value(m.as_str())).filter(|v| !v.is_empty()))
    })
}

/// An `<link href>` (alternate first) or `<link>text</link>`.
fn link(block: &str) -> Option<String> {
    let text_link = field(block, &["link"]).filter(|l| !l.contains('<'));
    if text_link.is_some() {
        return text_link;
    }
    let mut best: Option<(bool, String)> = None;
    for m in ATOM_LINK.captures_iter(block) {
        let Some(attrs) = m.get(1) else { continue };
        let mut href = None;
        let mut alternate = true;
        for a in ATTR.captures_iter(attrs.as_str()) {
            let key = a.get(1).map_or("", |k| k.as_str()).to_ascii_lowercase();
            let val = a.get(2).or_else(|| a.get(3)).map_or("", |v| v.as_str());
            match key.as_str() {
                "href" => href = Some(value(val)),
                "rel" => alternate = val.trim().eq_ignore_ascii_case("alternate"),
                _ => {}
            }
        }
        if let Some(href) = href.filter(|h| !h.is_empty())
            && best.as_ref().is_none_or(|(alt, _)| !alt && alternate)
        {
            best = Some((alternate, href));
        }
    }
    best.map(|(_, h)| h)
}

fn xml_lang(head: &str) -> Option<String> {
    let at = head.find("xml:lang=")? + "xml:lang=".len();
    let rest = &head[at..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let v = &rest[1..];
    Some(v[..v.find(quote)?].trim().to_string()).filter(|v| !v.is_empty())
}

/// Element text: CDATA sections as they are, the rest with entities decoded.
fn value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&decode_entities(&rest[..start]));
        let after = &rest[start + 9..];
        match after.find("]]>") {
            Some(end) => {
                out.push_str(&after[..end]);
                rest = &after[end + 3..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(&decode_entities(rest));
    out.trim().to_string()
}

/// XML and HTML entities decoded; an unknown or broken one is kept as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp + 1..];
        // A reference is short: its `;` is looked for in a small window only.
        let window = &tail.as_bytes()[..tail.len().min(33)];
        let decoded = memchr::memchr(b';', window).and_then(|end| {
            let name = &tail[..end];
            let text = match name.strip_prefix('#') {
                Some(num) => {
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    };
                    char::from_u32(n?).map(String::from)?
                }
                None => quick_xml::escape::resolve_predefined_entity(name)
                    .or_else(|| quick_xml::escape::resolve_html5_entity(name))?
                    .to_string(),
            };
            Some((text, end + 1))
        });
        match decoded {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &tail[used..];
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// RFC 2822, RFC 3339 / W3C-DTF and a few common variants, as UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%a, %d %b %Y %H:%M:%S %Z"] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%a, %d %b %Y %H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s.trim_end_matches(['Z', 'z']).trim(), fmt) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_of_broken_markup() {
        let doc = r#"<rss version="2.0"><channel><title>Broken &amp; co</title><language>fr</language>
            <item><title>One & two</title><link>http://e/1?a=1&b=2</link><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>
              <description><![CDATA[<p>First & <b>bold</b></p>]]></description><dc:creator>Ann</dc:creator>
            </itm>
            <item><title>Second</title><guid>http://e/2</guid><description>x &eacute; y</description>
            <item><title>Third</title><content:encoded><![CDATA[<p>unclosed"#;
        let r = recover(doc).expect("items");
        assert_eq!(r.title.as_deref(), Some("Broken & co"));
        assert_eq!(r.language.as_deref(), Some("fr"));
        assert_eq!(r.items.len(), 3);
        let one = &r.items[0];
        assert_eq!(one.title.as_deref(), Some("One & two"));
        assert_eq!(one.link.as_deref(), Some("http://e/1?a=1&b=2"));
        assert_eq!(one.summary.as_deref(), Some("<p>First & <b>bold</b></p>"));
        assert_eq!(one.authors, vec!["Ann".to_string()]);
        assert_eq!(one.published.map(|d| d.to_rfc3339()).as_deref(), Some("2003-06-10T04:00:00+00:00"));
        assert_eq!(r.items[1].link.as_deref(), Some("http://e/2"));
        assert_eq!(r.items[1].summary.as_deref(), Some("x é y"));
        assert_eq!(r.items[2].title.as_deref(), Some("Third"));
    }

    #[test]
    fn atom_entries_and_alternate_links() {
        let doc = r#"<feed><title>A</title><entry><id>urn:1</id><title type="html">T</title>
            <link rel="self" href="http://e/self"/><link rel="alternate" href="http://e/1"/>
            <updated>2004-01-01T10:00:00Z</updated><content type="html">&lt;p&gt;c&lt;/p&gt;</content></entry"#;
        let r = recover(doc).expect("entries");
        let e = &r.items[0];
        assert_eq!(e.id, "urn:1");
        assert_eq!(e.link.as_deref(), Some("http://e/1"));
        assert_eq!(e.content.as_deref(), Some("<p>c</p>"));
        assert!(e.updated.is_some());
        assert!(recover("<html><body>no feed</body></html>").is_none());
    }
}
