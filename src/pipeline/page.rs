//! Full text for summary-only feeds: which items need their article page, the page's bytes to
//! text (charset), the main article extracted (dom_smoothie, a Readability port), and what the
//! page says about itself (canonical link, Open Graph, JSON-LD `NewsArticle`, `<html lang>`).
//! Pure: the fetch happens in the daemon, through the feed fetcher.
//!
//! Notices such as "(This story has not been edited by … staff and is auto-generated from a
//! syndicated feed.)" often sit just outside the element an extractor keeps; every notice line
//! found on the page is appended to the extracted body when the extractor dropped it, so the
//! flag stage sees it.

use std::borrow::Cow;

use scraper::{Html, Selector};

use crate::config::FullText;
use crate::model::{PageMeta, RawItem};

/// Elements the extractor looks at, at most: a hostile page cannot make it walk forever.
const MAX_ELEMENTS: usize = 200_000;
/// Deepest element nesting the extractor is given. Real article pages nest a few dozen levels;
/// a page nested thousands deep costs the extractor seconds per page (its scoring walks
/// ancestors), so such a page is treated as having no readable article.
const MAX_DEPTH: usize = 256;

/// Whether `raw` needs its page fetched under the feed's `full_text` setting: `always` for any
/// item with an http(s) link; `auto` when the feed's own body has fewer than `min_words` words.
pub fn wants_page(mode: FullText, raw: &RawItem, min_words: usize) -> bool {
    let linked = raw.link.as_deref().is_some_and(|l| l.starts_with("http://") || l.starts_with("https://"));
    match mode {
        FullText::Off => false,
        FullText::Always => linked,
        FullText::Auto => linked && feed_words(raw) < min_words,
    }
}

/// Words of the feed's own body (content, else summary), tags stripped.
pub fn feed_words(raw: &RawItem) -> usize {
    let body = raw.content.as_deref().or(raw.summary.as_deref()).unwrap_or_default();
    word_count(&strip_tags(body))
}

pub fn word_count(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}

fn strip_tags(html: &str) -> Cow<'_, str> {
    if !html.contains('<') {
        return Cow::Borrowed(html);
    }
    let frag = Html::parse_fragment(html);
    Cow::Owned(frag.root_element().text().collect::<Vec<_>>().join(" "))
}

/// Decodes an HTML page: BOM, then the HTTP `charset`, then `<meta charset>` (or `http-equiv`)
/// in the first 1,024 bytes, then byte-pattern sniffing (chardetng). The result is UTF-8 text.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    let label = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(1024)]))
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let enc = label.unwrap_or_else(|| {
        if std::str::from_utf8(bytes).is_ok() {
            return encoding_rs::UTF_8;
        }
        let mut det = chardetng::EncodingDetector::new();
        det.feed(bytes, true);
        det.guess(None, true)
    });
    // A page labelled UTF-16 is really ASCII-compatible once it reaches a meta tag (HTML spec).
    let enc =
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE { encoding_rs::UTF_8 } else { enc };
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// `<meta charset=x>` or `<meta http-equiv=content-type content="…; charset=x">` in `head`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<meta") {
        rest = &rest[at + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(i) = tag.find("charset=") {
            let v = tag[i + 8..].trim_start_matches(['"', '\'', ' ']);
            let end = v.find(|c: char| c == '"' || c == '\'' || c == ';' || c == '/' || c.is_whitespace());
            let v = &v[..end.unwrap_or(v.len())];
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// The extracted article of a page and its metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// Main article HTML, notices recovered; `None` when nothing readable was found.
    pub html: Option<String>,
    pub meta: PageMeta,
}

/// Extracts the main article of `html` (a page at `url`) and its metadata.
pub fn extract(html: &str, url: &str) -> Extracted {
    // Parsing a page nested thousands deep costs seconds (quadratic in the depth): not read.
    if crate::pipeline::clean::nesting_exceeds(html, crate::pipeline::clean::MAX_NESTING) {
        return Extracted::default();
    }
    let doc = Html::parse_document(html);
    let meta = meta_of(&doc, url);
    if depth(&doc) > MAX_DEPTH {
        return Extracted { html: None, meta };
    }
    let cfg = dom_smoothie::Config {
        max_elements_to_parse: MAX_ELEMENTS,
        text_mode: dom_smoothie::TextMode::Formatted,
        ..dom_smoothie::Config::default()
    };
    let article = dom_smoothie::Readability::new(html, Some(url), Some(cfg))
        .or_else(|_| dom_smoothie::Readability::new(html, None, None))
        .and_then(|mut r| r.parse());
    let body = match article {
        Ok(a) if word_count(&a.text_content) > 0 => {
            let mut body = a.content.to_string();
            recover_notices(&doc, &a.text_content, &mut body);
            Some(body)
        }
        Ok(_) | Err(_) => None,
    };
    Extracted { html: body, meta }
}

/// The deepest element nesting of `doc`.
fn depth(doc: &Html) -> usize {
    let (mut now, mut max) = (0usize, 0usize);
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(_) => {
                now += 1;
                max = max.max(now);
            }
            ego_tree::iter::Edge::Close(_) => now = now.saturating_sub(1),
        }
    }
    max
}

/// Appends to `body` every notice line of the page that the extracted text lacks.
fn recover_notices(doc: &Html, extracted_text: &str, body: &mut String) {
    let Ok(sel) = Selector::parse("p, div, span, em, i, small, aside, footer, section, li") else { return };
    let have = fold_space(extracted_text);
    let mut added: Vec<String> = Vec::new();
    for el in doc.select(&sel) {
        // Notices are short: stop reading an element's text past 600 bytes (a deep page would
        // otherwise be read once per enclosing element).
        let mut raw = String::new();
        for piece in el.text() {
            raw.push_str(piece);
            raw.push(' ');
            if raw.len() > 1200 {
                break;
            }
        }
        let text = fold_space(&raw);
        if text.is_empty() || text.len() > 600 {
            continue;
        }
        let Some(n) = crate::pipeline::classify::find_notice(&text) else { continue };
        let marker = &text[crate::pipeline::classify::extend_notice(&text, n.range)];
        if have.contains(marker) || added.iter().any(|a| a.contains(marker) || marker.contains(a.as_str())) {
            continue;
        }
        added.push(text.clone());
    }
    for a in added {
        body.push_str("<p>");
        body.push_str(&html_escape(&a));
        body.push_str("</p>");
    }
}

fn fold_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What the page says about itself.
pub fn page_meta(html: &str, url: &str) -> PageMeta {
    meta_of(&Html::parse_document(html), url)
}

fn meta_of(doc: &Html, url: &str) -> PageMeta {
    let base = url::Url::parse(url).ok();
    let absolute = |href: &str| -> Option<String> {
        let href = href.trim();
        if href.is_empty() {
            return None;
        }
        match &base {
            Some(b) => b.join(href).ok().map(String::from),
            None => url::Url::parse(href).ok().map(String::from),
        }
    };
    let first = |css: &str, attr: &str| -> Option<String> {
        let sel = Selector::parse(css).ok()?;
        doc.select(&sel)
            .find_map(|e| e.value().attr(attr).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned))
    };
    let mut meta = PageMeta {
        canonical: first("link[rel~=canonical]", "href").and_then(|h| absolute(&h)),
        og_url: first("meta[property='og:url']", "content").and_then(|h| absolute(&h)),
        og_site_name: first("meta[property='og:site_name']", "content"),
        published_time: first("meta[property='article:published_time']", "content"),
        lang: first("html", "lang").map(|l| l.to_ascii_lowercase()),
        ..PageMeta::default()
    };
    if let Ok(sel) = Selector::parse("script[type='application/ld+json']") {
        for script in doc.select(&sel) {
            let text: String = script.text().collect();
            let Ok(value) = serde_json::from_str::<serde_json::Value>(text.trim()) else { continue };
            if let Some(article) = find_article(&value) {
                let s = |k: &str| article.get(k).and_then(name_of);
                meta.headline = s("headline");
                meta.date_published = s("datePublished");
                meta.author = s("author");
                meta.publisher = s("publisher");
                meta.is_based_on = article.get("isBasedOn").and_then(url_of).and_then(|u| absolute(&u));
                break;
            }
        }
    }
    meta
}

/// The first JSON-LD object whose `@type` is an article type (top level, in an array, or in an
/// `@graph`).
fn find_article(v: &serde_json::Value) -> Option<&serde_json::Value> {
    match v {
        serde_json::Value::Array(items) => items.iter().find_map(find_article),
        serde_json::Value::Object(o) => {
            let is_article = |t: &serde_json::Value| {
                t.as_str().is_some_and(|t| {
                    matches!(
                        t,
                        "NewsArticle"
                            | "Article"
                            | "ReportageNewsArticle"
                            | "AnalysisNewsArticle"
                            | "BlogPosting"
                    )
                })
            };
            let typed = match o.get("@type") {
                Some(serde_json::Value::Array(ts)) => ts.iter().any(is_article),
                Some(t) => is_article(t),
                None => false,
            };
            if typed { Some(v) } else { o.get("@graph").and_then(find_article) }
        }
        _ => None,
    }
}

/// A JSON-LD value as text: a string, an object's `name`, or the names of an array, joined.
fn name_of(v: &serde_json::Value) -> Option<String> {
    let s = match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Object(o) => o.get("name").and_then(name_of)?,
        serde_json::Value::Array(items) => items.iter().filter_map(name_of).collect::<Vec<_>>().join(", "),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A JSON-LD reference as a URL: a string, or an object's `url` or `@id`.
fn url_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        serde_json::Value::Object(o) => o.get("url").or_else(|| o.get("@id")).and_then(url_of),
        serde_json::Value::Array(items) => items.iter().find_map(url_of),
        _ => None,
    }
}

/// Whether the page's extracted body should replace the feed's own: it must hold at least as
/// many words as the feed body, less a margin for the feed's own boilerplate; an extraction
/// much shorter than the feed text (or empty) looks wrong, and the feed content wins.
pub fn page_body_wins(raw: &RawItem, page_html: &str) -> bool {
    let page_words = word_count(&strip_tags(page_html));
    page_words > 0 && page_words * 10 >= feed_words(raw) * 7
}

/// A page's canonical URL that names a specific article (not a home or section page), if any:
/// `<link rel=canonical>`, else `og:url`.
pub fn article_canonical(meta: &PageMeta) -> Option<&str> {
    [meta.canonical.as_deref(), meta.og_url.as_deref()].into_iter().flatten().find(|u| {
        url::Url::parse(u).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.path_segments().is_some_and(|mut s| s.any(|seg| !seg.is_empty()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_from_header_meta_bom_or_sniffing() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9</p></body></html>";
        assert!(decode_html(latin1, None).contains("café"));
        assert!(
            decode_html(b"<p>caf\xe9 cr\xe8me br\xfbl\xe9e</p>", Some("text/html; charset=windows-1252"))
                .contains("café")
        );
        let meta_equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>";
        assert!(decode_html(meta_equiv, None).contains("Привет"));
        let bom = [&[0xEF, 0xBB, 0xBF][..], "<p>ok é</p>".as_bytes()].concat();
        assert_eq!(decode_html(&bom, Some("text/html; charset=iso-8859-1")), "<p>ok é</p>");
        assert!(decode_html("<p>plain ü</p>".as_bytes(), None).contains('ü'));
    }

    #[test]
    fn json_ld_in_graphs_and_arrays() {
        let page = r#"<html lang="en-GB"><head>
            <link rel="canonical" href="/world/story-1">
            <meta property="og:site_name" content="Daily">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[
              {"@type":"WebSite","name":"Daily"},
              {"@type":["NewsArticle"],"headline":"Story","datePublished":"2026-11-20T08:00:00Z",
               "author":[{"@type":"Person","name":"A. Writer"},{"name":"B. Writer"}],
               "publisher":{"@type":"Organization","name":"Daily Ltd"},
               "isBasedOn":{"@id":"https://wire.example/orig/1"}}]}</script>
            </head><body></body></html>"#;
        let m = page_meta(page, "https://daily.example/x?utm=1");
        assert_eq!(m.canonical.as_deref(), Some("https://daily.example/world/story-1"));
        assert_eq!(m.lang.as_deref(), Some("en-gb"));
        assert_eq!(m.headline.as_deref(), Some("Story"));
        assert_eq!(m.author.as_deref(), Some("A. Writer, B. Writer"));
        assert_eq!(m.publisher.as_deref(), Some("Daily Ltd"));
        assert_eq!(m.is_based_on.as_deref(), Some("https://wire.example/orig/1"));
        assert_eq!(article_canonical(&m), Some("https://daily.example/world/story-1"));
        let home = PageMeta { canonical: Some("https://daily.example/".into()), ..PageMeta::default() };
        assert_eq!(article_canonical(&home), None, "a home page is no article's canonical");
    }

    #[test]
    fn auto_mode_fetches_only_short_items() {
        let mut raw = RawItem { link: Some("https://x.example/a".into()), ..RawItem::default() };
        raw.summary = Some("<p>One line teaser.</p>".into());
        assert!(wants_page(FullText::Auto, &raw, 50));
        assert!(!wants_page(FullText::Off, &raw, 50));
        raw.summary = Some(format!("<p>{}</p>", "word ".repeat(80)));
        assert!(!wants_page(FullText::Auto, &raw, 50));
        assert!(wants_page(FullText::Always, &raw, 50));
        raw.link = Some("file:///etc/passwd".into());
        assert!(!wants_page(FullText::Always, &raw, 50));
    }

    #[test]
    fn a_notice_after_the_article_is_recovered() {
        let para = "<p>The regional council approved the budget for the new tram line on Monday after a long debate \
                    about costs, routes and the timetable for the works along the river.</p>";
        let page = format!(
            "<html><body><nav><a href=/>Home</a></nav><div class=article>{}</div>\
             <p class=footnote><em>(This story has not been edited by Daily staff and is auto-generated from a \
             syndicated feed.)</em></p><footer>(c) Daily</footer></body></html>",
            para.repeat(6)
        );
        let ex = extract(&page, "https://daily.example/a");
        let html = ex.html.expect("an article");
        assert!(html.contains("auto-generated from a syndicated feed"), "{html}");
        assert_eq!(html.matches("auto-generated").count(), 1, "{html}");
    }

    #[test]
    fn a_deeply_nested_page_is_not_extracted() {
        let deep = format!(
            "<html><head><link rel=canonical href=\"/a\"></head><body>{}<p>text</p></body></html>",
            "<div>".repeat(5000)
        );
        let ex = extract(&deep, "https://x.example/story");
        assert_eq!(ex.html, None);
        // Between the tag count's limit and the extractor's, the metadata is still read.
        let deep = format!(
            "<html><head><link rel=canonical href=\"/a\"></head><body>{}<p>text</p></body></html>",
            "<div>".repeat(300)
        );
        let ex = extract(&deep, "https://x.example/story");
        assert_eq!(ex.html, None);
        assert_eq!(ex.meta.canonical.as_deref(), Some("https://x.example/a"));
    }

    #[test]
    fn extraction_never_panics_on_junk() {
        for junk in ["", "<", "<html><body></body></html>", "\u{0}\u{feff}<p>x", &"<div>".repeat(5000)] {
            let _ = extract(junk, "https://x.example/");
            let _ = extract(junk, "not a url");
        }
    }
}
