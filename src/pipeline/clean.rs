//! Stage 3, `clean`: a [`RawItem`] becomes a [`CleanItem`]. Pure: no I/O, no clock.
//!
//! * body HTML to plain text with structure: block elements become paragraphs separated by one
//!   blank line, `<br>` a line break, list items one per line; entities decoded; Unicode NFC;
//!   whitespace normalized (NBSP and other spaces folded, zero-width characters dropped);
//! * lines matching a user pattern (`[clean] extra_patterns`) removed, each recorded with its
//!   reason in [`Cleaned::removed`] so the flag stage still sees them;
//! * sanitized HTML (ammonia allow-list, relative URLs resolved against the item link);
//! * titles stripped of tags and entities; dates in UTC; the link canonicalized.

use regex::Regex;
use scraper::{Html, Node};
use unicode_normalization::UnicodeNormalization;

use crate::model::{CleanItem, RawItem, Timestamp};

/// A feed's cleaning settings (global `[clean]` with its per-feed overrides applied).
#[derive(Debug, Clone, Copy)]
pub struct CleanSettings<'a> {
    pub extra_patterns: &'a [Regex],
    /// The feed's `lang` hint from the config.
    pub lang_hint: Option<&'a str>,
}

/// Why a line was removed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// Matched one of the user's `extra_patterns`.
    UserPattern,
}

impl RemovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::UserPattern => "user_pattern",
        }
    }
}

/// A line taken out of the text, kept so that later stages (flag) can still read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedLine {
    pub reason: RemovalReason,
    pub text: String,
}

/// The result of cleaning one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub item: CleanItem,
    pub removed: Vec<RemovedLine>,
}

/// Cleans one item.
pub fn clean(raw: &RawItem, settings: &CleanSettings<'_>) -> Cleaned {
    let body = raw.content.as_deref().or(raw.summary.as_deref()).unwrap_or_default();
    let blocks = if looks_like_html(body) { html_blocks(body) } else { plain_blocks(body) };

    let mut removed = Vec::new();
    let mut kept: Vec<String> = Vec::with_capacity(blocks.len());
    for block in blocks {
        let lines: Vec<&str> = block
            .lines()
            .filter(|line| {
                let hit = settings.extra_patterns.iter().any(|re| re.is_match(line));
                if hit {
                    removed
                        .push(RemovedLine { reason: RemovalReason::UserPattern, text: (*line).to_string() });
                }
                !hit
            })
            .collect();
        if !lines.is_empty() {
            kept.push(lines.join("\n"));
        }
    }
    let text = kept.join("\n\n");

    let base = raw.base_url.as_deref().and_then(|b| url::Url::parse(b).ok());
    let html = (!body.trim().is_empty())
        .then(|| sanitize_html(body, base.as_ref()))
        .filter(|h| !h.trim().is_empty());

    let lang =
        settings.lang_hint.map(str::to_owned).or_else(|| raw.feed_language.as_deref().and_then(iso639_1));

    let author = (!raw.authors.is_empty())
        .then(|| raw.authors.iter().map(|a| inline_text(a)).collect::<Vec<_>>().join(", "));

    Cleaned {
        item: CleanItem {
            guid: raw.guid.clone(),
            url: raw.link.clone(),
            canonical_url: raw.link.as_deref().and_then(canonical_url),
            title: raw.title.as_deref().map(inline_text).filter(|t| !t.is_empty()),
            author: author.filter(|a| !a.is_empty()),
            published_at: raw.published.map(Timestamp),
            updated_at: raw.updated.map(Timestamp),
            lang,
            text,
            html,
        },
        removed,
    }
}

/// True when the string has at least one tag or entity worth parsing as HTML.
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Plain text: blank lines separate paragraphs; entities are still decoded.
fn plain_blocks(s: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in s.lines() {
        if line.trim().is_empty() {
            push_block(&mut blocks, &current);
            current.clear();
        } else {
            current.push(' ');
            current.push_str(line);
        }
    }
    push_block(&mut blocks, &current);
    blocks
        .into_iter()
        .map(|b| if b.contains('&') { inline_text(&b) } else { b })
        .filter(|b| !b.is_empty())
        .collect()
}

fn push_block(blocks: &mut Vec<String>, raw: &str) {
    let text = normalize_line(raw);
    if !text.is_empty() {
        blocks.push(text);
    }
}

/// Elements whose boundaries are paragraph breaks.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "blockquote"
            | "pre"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "dl"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "figure"
            | "figcaption"
            | "address"
            | "details"
            | "summary"
            | "hr"
            | "form"
            | "fieldset"
            | "center"
            | "body"
            | "html"
    )
}

/// Elements whose boundaries are line breaks inside a paragraph.
fn is_line(name: &str) -> bool {
    matches!(name, "li" | "tr" | "dt" | "dd" | "br" | "caption")
}

/// Elements whose content is never text.
fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "iframe"
            | "object"
            | "embed"
            | "svg"
            | "math"
            | "head"
            | "title"
            | "button"
            | "select"
            | "textarea"
            | "input"
            | "canvas"
            | "video"
            | "audio"
            | "picture"
            | "map"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    None,
    Line,
    Para,
}

/// HTML to blocks (paragraphs); lines inside a block are separated by `\n`.
fn html_blocks(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut blocks: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut pending = Break::None;
    // Depth inside a skipped element; text is ignored while > 0. Iterative traversal: hostile
    // documents nest deeply, and recursion would overflow the stack.
    let mut skip_depth = 0usize;
    let mut pre_depth = 0usize;

    let flush = |pending: Break, line: &mut String, lines: &mut Vec<String>, blocks: &mut Vec<String>| {
        if pending >= Break::Line {
            let l = normalize_line(line);
            if !l.is_empty() {
                lines.push(l);
            }
            line.clear();
        }
        if pending == Break::Para && !lines.is_empty() {
            blocks.push(lines.join("\n"));
            lines.clear();
        }
    };

    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if skip_depth > 0 || is_skipped(name) {
                        skip_depth += 1;
                        continue;
                    }
                    if name == "pre" {
                        pre_depth += 1;
                    }
                    if is_block(name) {
                        pending = pending.max(Break::Para);
                    } else if is_line(name) {
                        pending = pending.max(Break::Line);
                    } else if name == "img" {
                        // Alt text is not article text; images are kept in the sanitized HTML.
                    }
                }
                Node::Text(t) if skip_depth == 0 => {
                    if pending != Break::None && !t.trim().is_empty() {
                        flush(pending, &mut line, &mut lines, &mut blocks);
                        pending = Break::None;
                    }
                    if pre_depth > 0 {
                        // Preformatted text keeps its line breaks.
                        let mut first = true;
                        for part in t.split('\n') {
                            if !first {
                                flush(Break::Line, &mut line, &mut lines, &mut blocks);
                            }
                            line.push_str(part);
                            first = false;
                        }
                    } else {
                        line.push_str(t);
                    }
                }
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    let name = e.name();
                    if skip_depth > 0 {
                        skip_depth -= 1;
                        continue;
                    }
                    if name == "pre" {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    if is_block(name) {
                        pending = pending.max(Break::Para);
                    } else if is_line(name) && name != "br" {
                        pending = pending.max(Break::Line);
                    } else if matches!(name, "td" | "th") {
                        line.push(' ');
                    }
                }
            }
        }
    }
    flush(Break::Para, &mut line, &mut lines, &mut blocks);
    blocks
}

/// One line of text: NFC, spaces folded, zero-width and control characters dropped, trimmed.
pub fn normalize_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfc() {
        let c = match c {
            // Zero-width space, word joiner, BOM, soft hyphen: invisible, never meaningful here.
            // (ZWJ/ZWNJ are kept: they change the rendering of Persian, Indic scripts and emoji.)
            '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => continue,
            c if c.is_whitespace() => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        if c == ' ' {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Text of an inline HTML fragment (titles, author names): tags stripped, entities decoded,
/// whitespace folded to single spaces.
pub fn inline_text(s: &str) -> String {
    if !s.contains('<') && !s.contains('&') {
        return normalize_line(s);
    }
    let frag = Html::parse_fragment(s);
    let text: String = frag.root_element().text().collect();
    normalize_line(&text)
}

/// The body as sanitized HTML: ammonia's allow-list (no scripts, styles, event handlers or
/// `javascript:` URLs), relative URLs resolved against `base`.
fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    match base {
        Some(base) => b.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone())),
        None => b.url_relative(ammonia::UrlRelative::Deny),
    };
    b.clean(html).to_string().trim().to_string()
}

/// Query parameters that only track the reader, never select content.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "gclsrc"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "oly_anon_id"
                | "oly_enc_id"
                | "vero_id"
                | "wt_mc"
                | "ref_src"
                | "ref_url"
                | "cmpid"
                | "ncid"
                | "sr_share"
                | "spm"
                | "xtor"
                | "_ga"
                | "at_medium"
                | "at_campaign"
        )
}

/// The link normalized for identity: http(s) only, host lowercased, default port, fragment and
/// tracking parameters removed. Returns `None` for links that are not absolute http(s) URLs.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut u = url::Url::parse(link.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    u.set_fragment(None);
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(u.to_string())
}

/// `en-US` / `EN` / `id_ID` to `en` / `en` / `id`; `None` for anything that is not a 639-1 code.
pub fn iso639_1(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase())).then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(body: &str) -> RawItem {
        RawItem {
            guid: "g".into(),
            guid_derived: false,
            title: Some("A&nbsp;title &amp; <b>more</b>".into()),
            link: Some("https://Example.org/a?id=3&utm_source=x#frag".into()),
            summary: None,
            content: Some(body.into()),
            authors: vec!["Jane Doe".into()],
            published: None,
            updated: None,
            categories: vec![],
            feed_language: Some("en-US".into()),
            base_url: Some("https://example.org/news/a".into()),
        }
    }

    fn settings() -> CleanSettings<'static> {
        CleanSettings { extra_patterns: &[], lang_hint: None }
    }

    #[test]
    fn blocks_become_paragraphs_and_lists_lines() {
        let c = clean(
            &item(
                "<p>One <b>bold</b>&nbsp;word.</p><div>Two<br>lines</div><ul><li>a</li><li>b</li></ul><script>x()</script>",
            ),
            &settings(),
        );
        assert_eq!(c.item.text, "One bold word.\n\nTwo\nlines\n\na\nb");
    }

    #[test]
    fn titles_lose_tags_and_entities() {
        let c = clean(&item("<p>x</p>"), &settings());
        assert_eq!(c.item.title.as_deref(), Some("A title & more"));
        assert_eq!(c.item.lang.as_deref(), Some("en"));
    }

    #[test]
    fn canonical_url_drops_tracking_and_fragment() {
        assert_eq!(
            canonical_url("https://Example.org/a?id=3&utm_source=x#frag").as_deref(),
            Some("https://example.org/a?id=3")
        );
        assert_eq!(
            canonical_url("http://example.org:80/b?fbclid=1").as_deref(),
            Some("http://example.org/b")
        );
        assert_eq!(canonical_url("/relative"), None);
        assert_eq!(canonical_url("javascript:alert(1)"), None);
    }

    #[test]
    fn sanitized_html_has_no_active_content_and_absolute_links() {
        let c = clean(
            &item(r#"<p onclick="x()">Hi <a href="/b">b</a><script>evil()</script></p><img src="p.png">"#),
            &settings(),
        );
        let html = c.item.html.expect("body has html");
        assert!(!html.contains("script") && !html.contains("onclick"), "{html}");
        assert!(html.contains(r#"href="https://example.org/b""#), "{html}");
        assert!(html.contains(r#"src="https://example.org/news/p.png""#), "{html}");
    }

    #[test]
    fn user_patterns_remove_lines_and_record_them() {
        let re = [Regex::new("(?i)^read more").expect("valid")];
        let s = CleanSettings { extra_patterns: &re, lang_hint: Some("id") };
        let c = clean(&item("<p>Story.</p><p>Read more: elsewhere</p>"), &s);
        assert_eq!(c.item.text, "Story.");
        assert_eq!(
            c.removed,
            vec![RemovedLine { reason: RemovalReason::UserPattern, text: "Read more: elsewhere".into() }]
        );
        assert_eq!(c.item.lang.as_deref(), Some("id"));
    }

    #[test]
    fn plain_text_bodies_keep_paragraphs() {
        let c = clean(&item("First line\ncontinues.\n\nSecond &amp; last."), &settings());
        assert_eq!(c.item.text, "First line continues.\n\nSecond & last.");
    }

    #[test]
    fn deeply_nested_html_does_not_overflow() {
        let html = "<div>".repeat(50_000) + "deep" + &"</div>".repeat(50_000);
        assert_eq!(clean(&item(&html), &settings()).item.text, "deep");
    }

    proptest! {
        #[test]
        fn text_is_normalized(body in ".{0,300}") {
            let c = clean(&item(&body), &settings());
            let t = &c.item.text;
            prop_assert!(!t.contains("\n\n\n"));
            prop_assert!(!t.starts_with(char::is_whitespace) && !t.ends_with(char::is_whitespace));
            prop_assert!(t.lines().all(|l| l == l.trim() && !l.contains("  ")));
            prop_assert!(!t.contains(['\u{a0}', '\u{200b}']), "invisible or no-break space left in {:?}", t);
        }

        #[test]
        fn cleaning_text_again_changes_nothing(body in "[a-zA-Z <>/&;.\n]{0,200}") {
            let once = clean(&item(&body), &settings()).item.text;
            let escaped = once.split("\n\n").map(|p| format!("<p>{}</p>", p.replace('&', "&amp;").replace('<', "&lt;").replace('\n', "<br>"))).collect::<String>();
            let twice = clean(&item(&escaped), &settings()).item.text;
            prop_assert_eq!(once, twice);
        }
    }
}
