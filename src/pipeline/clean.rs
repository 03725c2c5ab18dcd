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
use crate::pipeline::classify::{self, LineInfo, LineRole, NoticeFamily};

/// A feed's cleaning settings (global `[clean]` with its per-feed overrides applied).
#[derive(Debug, Clone, Copy)]
pub struct CleanSettings<'a> {
    /// Remove lines the built-in rules classify as boilerplate.
    pub boilerplate: bool,
    pub extra_patterns: &'a [Regex],
    /// The feed's `lang` hint from the config.
    pub lang_hint: Option<&'a str>,
}

/// Why a line was removed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// Classified as boilerplate by the built-in rules.
    Builtin(LineRole),
    /// Matched one of the user's `extra_patterns`.
    UserPattern,
}

impl RemovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Builtin(role) => role.as_str(),
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

/// An auto-generated / unedited notice found in the body (removed or not): the flag stage's
/// built-in evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub family: NoticeFamily,
    /// The notice line exactly as it appears in the normalized text.
    pub text: String,
    /// Where it sat among the body's lines.
    pub position: Position,
}

/// Where a line sits in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Start,
    Middle,
    End,
}

/// The result of cleaning one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub item: CleanItem,
    pub removed: Vec<RemovedLine>,
    pub notices: Vec<Notice>,
}

/// Cleans one item.
pub fn clean(raw: &RawItem, settings: &CleanSettings<'_>) -> Cleaned {
    let body = raw.content.as_deref().or(raw.summary.as_deref()).unwrap_or_default();
    let blocks = if looks_like_html(body) { html_blocks(body) } else { plain_blocks(body) };

    // Classify every line once; both removal and the notices read the same roles.
    let infos: Vec<LineInfo<'_>> =
        blocks.iter().flatten().map(|l| LineInfo { text: &l.text, link_chars: l.link_chars }).collect();
    let roles = classify::classify_lines(&infos);
    let total = infos.len();
    let mut removed = Vec::new();
    let mut notices = Vec::new();
    let mut kept: Vec<String> = Vec::with_capacity(blocks.len());
    let mut index = 0;
    for block in &blocks {
        let mut lines: Vec<&str> = Vec::with_capacity(block.len());
        for line in block {
            let role = roles.get(index).copied().flatten();
            // A notice spliced onto the end of a real paragraph: record it, keep the paragraph.
            if role.is_none()
                && let Some(at) = classify::trailing_notice(&line.text)
            {
                let (body, notice) = line.text.split_at(at);
                let notice = notice.trim();
                let family = classify::notice_family(&classify::fold(notice))
                    .unwrap_or(NoticeFamily::UneditedSyndicated);
                let position = if index + 1 == total { Position::End } else { Position::Middle };
                notices.push(Notice { family, text: notice.to_string(), position });
                index += 1;
                if settings.boilerplate {
                    removed.push(RemovedLine {
                        reason: RemovalReason::Builtin(LineRole::AutoNotice),
                        text: notice.to_string(),
                    });
                    lines.push(body.trim_end());
                } else {
                    lines.push(&line.text);
                }
                continue;
            }
            if role == Some(LineRole::AutoNotice) {
                let family = classify::notice_family(&classify::fold(&line.text))
                    .unwrap_or(NoticeFamily::UneditedSyndicated);
                let position = match index {
                    0 if total > 1 => Position::Start,
                    i if i + 1 == total => Position::End,
                    _ => Position::Middle,
                };
                notices.push(Notice { family, text: line.text.clone(), position });
            }
            index += 1;
            let reason = match role {
                Some(role) if settings.boilerplate => Some(RemovalReason::Builtin(role)),
                _ if settings.extra_patterns.iter().any(|re| re.is_match(&line.text)) => {
                    Some(RemovalReason::UserPattern)
                }
                _ => None,
            };
            match reason {
                Some(reason) => removed.push(RemovedLine { reason, text: line.text.clone() }),
                None => lines.push(&line.text),
            }
        }
        if !lines.is_empty() {
            kept.push(lines.join("\n"));
        }
    }
    let text = kept.join("\n\n");

    let base = raw.base_url.as_deref().and_then(|b| url::Url::parse(b).ok());
    let html = (!body.trim().is_empty())
        .then(|| sanitize_html(body, base.as_ref()))
        .filter(|h| !h.trim().is_empty());

    // The feed's configured `lang` is the operator's word; otherwise the text decides when
    // detection is reliable; otherwise the language the feed declares.
    let lang = settings
        .lang_hint
        .map(str::to_owned)
        .or_else(|| detect_language(&text))
        .or_else(|| raw.feed_language.as_deref().and_then(iso639_1));

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
        notices,
    }
}

/// True when the string has at least one tag or entity worth parsing as HTML.
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// One line of a block, with the number of non-space characters that were link text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    link_chars: usize,
}

fn lines_of(block: &str) -> Vec<Line> {
    block.lines().map(|l| Line { text: l.to_string(), link_chars: 0 }).collect()
}

/// Plain text: blank lines separate paragraphs; entities are still decoded.
fn plain_blocks(s: &str) -> Vec<Vec<Line>> {
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
        .map(|b| lines_of(&b))
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Break {
    #[default]
    None,
    Line,
    Para,
}

/// HTML to blocks (paragraphs) of lines, each line with its link-text share.
fn html_blocks(html: &str) -> Vec<Vec<Line>> {
    let doc = Html::parse_fragment(html);
    let mut b = BlockBuilder::default();
    // Depth inside a skipped element; text is ignored while > 0. Iterative traversal: hostile
    // documents nest deeply, and recursion would overflow the stack.
    let mut skip_depth = 0usize;
    let mut pre_depth = 0usize;
    let mut link_depth = 0usize;

    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if skip_depth > 0 || is_skipped(name) {
                        skip_depth += 1;
                        continue;
                    }
                    match name {
                        "pre" => pre_depth += 1,
                        "a" => link_depth += 1,
                        _ => {}
                    }
                    if is_block(name) {
                        b.pending = b.pending.max(Break::Para);
                    } else if is_line(name) {
                        b.pending = b.pending.max(Break::Line);
                    }
                }
                Node::Text(t) if skip_depth == 0 => {
                    if b.pending != Break::None && !t.trim().is_empty() {
                        b.flush(b.pending);
                        b.pending = Break::None;
                    }
                    let mut first = true;
                    for part in t.split('\n') {
                        // Preformatted text keeps its line breaks; elsewhere a newline is a space.
                        if !first {
                            if pre_depth > 0 {
                                b.flush(Break::Line);
                            } else {
                                b.line.push(' ');
                            }
                        }
                        b.line.push_str(part);
                        if link_depth > 0 {
                            b.link_chars += part.chars().filter(|c| !c.is_whitespace()).count();
                        }
                        first = false;
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
                    match name {
                        "pre" => pre_depth = pre_depth.saturating_sub(1),
                        "a" => link_depth = link_depth.saturating_sub(1),
                        _ => {}
                    }
                    if is_block(name) {
                        b.pending = b.pending.max(Break::Para);
                    } else if is_line(name) && name != "br" {
                        b.pending = b.pending.max(Break::Line);
                    } else if matches!(name, "td" | "th") {
                        b.line.push(' ');
                    }
                }
            }
        }
    }
    b.flush(Break::Para);
    b.blocks
}

/// Accumulates text into lines and lines into blocks.
#[derive(Debug, Default)]
struct BlockBuilder {
    blocks: Vec<Vec<Line>>,
    lines: Vec<Line>,
    line: String,
    link_chars: usize,
    pending: Break,
}

impl BlockBuilder {
    fn flush(&mut self, brk: Break) {
        if brk >= Break::Line {
            let text = normalize_line(&self.line);
            if !text.is_empty() {
                let visible = text.chars().filter(|c| !c.is_whitespace()).count();
                self.lines.push(Line { text, link_chars: self.link_chars.min(visible) });
            }
            self.line.clear();
            self.link_chars = 0;
        }
        if brk == Break::Para && !self.lines.is_empty() {
            self.blocks.push(std::mem::take(&mut self.lines));
        }
    }
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

/// ISO 639-1 code of the text's language, when whatlang is confident.
pub fn detect_language(text: &str) -> Option<String> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < 40 {
        return None;
    }
    let info = whatlang::detect(text).filter(whatlang::Info::is_reliable)?;
    isolang::Language::from_639_3(info.lang().code()).and_then(|l| l.to_639_1()).map(str::to_owned)
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
        CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None }
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
    fn language_is_detected_from_reliable_text_else_declared() {
        let mut raw = item(
            "<p>Die Bundesregierung hat am Dienstag neue Regeln für den Ausbau der Windkraft beschlossen, \
            die den Bau von Anlagen in ganz Deutschland deutlich beschleunigen sollen.</p>",
        );
        raw.feed_language = Some("en".into());
        assert_eq!(clean(&raw, &settings()).item.lang.as_deref(), Some("de"));
        let short = item("<p>Ok.</p>");
        assert_eq!(
            clean(&short, &settings()).item.lang.as_deref(),
            Some("en"),
            "falls back to the feed's language"
        );
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
        let s = CleanSettings { boilerplate: true, extra_patterns: &re, lang_hint: Some("id") };
        let c = clean(&item("<p>Story.</p><p>READ MORE please, it is good</p>"), &s);
        assert_eq!(c.item.text, "Story.");
        assert_eq!(
            c.removed,
            vec![RemovedLine {
                reason: RemovalReason::UserPattern,
                text: "READ MORE please, it is good".into()
            }]
        );
        assert_eq!(c.item.lang.as_deref(), Some("id"));
    }

    #[test]
    fn boilerplate_is_removed_and_the_notice_handed_to_flag() {
        let html = "<p>2 min read</p><p><b>New Delhi:</b> The plan was announced on Tuesday.</p>\
            <p>Baca juga: <a href=\"/x\">Another story</a></p><p>Farmers asked for compensation.</p>\
            <p><i>(This story has not been edited by Example staff and is auto-generated from a syndicated feed.)</i></p>";
        let c = clean(&item(html), &settings());
        assert_eq!(
            c.item.text,
            "New Delhi: The plan was announced on Tuesday.\n\nFarmers asked for compensation."
        );
        let reasons: Vec<&str> = c.removed.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["reading_time", "teaser", "auto_notice"]);
        assert_eq!(c.notices.len(), 1);
        assert_eq!(c.notices[0].position, Position::End);
        // With the built-in set off nothing is removed, but the notice is still found.
        let off = CleanSettings { boilerplate: false, ..settings() };
        let c = clean(&item(html), &off);
        assert!(c.removed.is_empty() && c.item.text.contains("2 min read"));
        assert_eq!(c.notices.len(), 1);
    }

    #[test]
    fn a_spliced_notice_is_cut_from_its_paragraph() {
        let html = "<p>Police urged job seekers to verify recruiters. (ANI) (This is an unedited and auto-generated \
            story from Syndicated News feed, Example Staff may not have modified or edited the content body)</p>";
        let c = clean(&item(html), &settings());
        assert_eq!(c.item.text, "Police urged job seekers to verify recruiters. (ANI)");
        assert!(c.notices[0].text.starts_with("(This is an unedited"));
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
