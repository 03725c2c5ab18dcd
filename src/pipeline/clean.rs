//! Stage 3, `clean`: a [`RawItem`] becomes a [`CleanItem`]. Pure: no I/O, no clock.
//!
//! * body HTML to plain text with structure: block elements become paragraphs separated by one
//!   blank line, `<br>` a line break, list items one per line; entities decoded; Unicode NFC;
//!   whitespace normalized (NBSP and other spaces folded, zero-width characters dropped);
//! * lines matching a user pattern (`[clean] extra_patterns`) removed, each recorded with its
//!   reason in [`Cleaned::removed`] so the flag stage still sees them;
//! * sanitized HTML (ammonia allow-list, relative URLs resolved against the item link);
//! * titles stripped of tags and entities; dates in UTC; the link canonicalized.

use std::borrow::Cow;

use regex::Regex;
use scraper::{Html, Node};
use unicode_normalization::UnicodeNormalization;

use crate::model::{CleanItem, RawItem, Timestamp};
use crate::pipeline::classify::{self, LineInfo, LineRole, NoticeFamily};
use crate::pipeline::memo;

mod canonical;
pub use canonical::canonical_url;

/// A feed's cleaning settings (global `[clean]` with its per-feed overrides applied).
#[derive(Debug, Clone, Copy)]
pub struct CleanSettings<'a> {
    /// Remove lines the built-in rules classify as boilerplate.
    pub boilerplate: bool,
    pub extra_patterns: &'a [Regex],
    /// The feed's `lang` hint from the config.
    pub lang_hint: Option<&'a str>,
    /// When the item was fetched: dates more than a day after it are not trusted (they stay in
    /// the raw item). `None` trusts every date.
    pub fetched_at: Option<Timestamp>,
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
    pub position: Position,
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

pub use crate::model::Position;

/// The result of cleaning one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub item: CleanItem,
    pub removed: Vec<RemovedLine>,
    pub notices: Vec<Notice>,
}

/// Cleans one item.
pub fn clean(raw: &RawItem, settings: &CleanSettings<'_>) -> Cleaned {
    // The fetched article page (`full_text`) replaces the feed's body when its extraction looks
    // right; the page's own URL is then the base for relative links.
    let page = raw.page.as_ref();
    let page_body = page
        .and_then(|p| p.html.as_deref().map(|h| (p, h)))
        .filter(|(_, h)| crate::pipeline::page::page_body_wins(raw, h));
    let body = match page_body {
        Some((_, h)) => h,
        None => raw.content.as_deref().or(raw.summary.as_deref()).unwrap_or_default(),
    };
    // One parse serves both the text and the sanitized HTML.
    // A body nested thousands of elements deep (hostile: the HTML parser's cost grows with the
    // square of the depth) is read as text with its tags stripped.
    let stripped;
    let body = if nesting_exceeds(body, MAX_NESTING) {
        stripped = strip_tags_plain(body);
        stripped.as_str()
    } else {
        body
    };
    let mut doc = looks_like_html(body).then(|| Html::parse_fragment(body));
    let blocks = match &doc {
        Some(doc) => html_blocks(doc),
        None => plain_blocks(body),
    };
    let blocks = join_split_notices(blocks);

    // Classify every line once; both removal and the notices read the same roles.
    let infos: Vec<LineInfo<'_>> = blocks
        .iter()
        .flat_map(|b| &b.lines)
        .map(|l| LineInfo { text: &l.text, link_chars: l.link_chars })
        .collect();
    let classes = classify::classify_lines(&infos);
    let total = infos.len();
    let mut removed = Vec::new();
    let mut notices = Vec::new();
    let mut kept: Vec<String> = Vec::with_capacity(blocks.len());
    // HTML elements whose every line was removed: taken out of the sanitized HTML too.
    let mut removed_nodes = Vec::new();
    let mut index = 0;
    for block in &blocks {
        let mut lines: Vec<Cow<'_, str>> = Vec::with_capacity(block.lines.len());
        for line in &block.lines {
            let (role, found) = classes.get(index).map_or((None, None), |c| (c.role, c.notice.as_ref()));
            // A notice inside a real paragraph: record it, cut it out, keep the paragraph.
            if role.is_none()
                && let Some(n) = found
            {
                let notice = line.text[n.range.clone()].to_string();
                let position = Position::of(index, total);
                notices.push(Notice { family: n.family, text: notice.clone(), position });
                index += 1;
                if settings.boilerplate {
                    removed.push(RemovedLine {
                        reason: RemovalReason::Builtin(LineRole::AutoNotice),
                        text: notice,
                        position,
                    });
                    let rest = format!(
                        "{} {}",
                        line.text[..n.range.start].trim_end(),
                        line.text[n.range.end..].trim_start()
                    );
                    lines.push(Cow::Owned(rest.trim().to_string()));
                } else {
                    lines.push(Cow::Borrowed(&line.text));
                }
                continue;
            }
            if role == Some(LineRole::AutoNotice) {
                let (family, marker) = match found {
                    Some(n) => (
                        n.family,
                        line.text[classify::extend_notice(&line.text, n.range.clone())].to_string(),
                    ),
                    None => (NoticeFamily::UneditedSyndicated, line.text.clone()),
                };
                let position = Position::of(index, total);
                notices.push(Notice { family, text: marker, position });
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
                Some(reason) => {
                    removed.push(RemovedLine {
                        reason,
                        text: line.text.clone(),
                        position: Position::of(index - 1, total),
                    });
                }
                None => lines.push(Cow::Borrowed(&line.text)),
            }
        }
        if lines.is_empty() {
            removed_nodes.extend(block.node);
        } else {
            kept.push(lines.join("\n"));
        }
    }
    // A notice found once goes wherever else it stands verbatim: a copy glued to other text
    // (`A"(This story has not been edited …)`) is not found on its own line.
    if settings.boilerplate {
        for marker in notices.iter().map(|n| n.text.trim()).filter(|m| !m.is_empty()) {
            for paragraph in kept.iter_mut().filter(|p| p.contains(marker)) {
                *paragraph = paragraph
                    .replace(marker, " ")
                    .lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
        kept.retain(|p| !p.is_empty());
    }
    let text = kept.join("\n\n");

    let base = match page_body {
        Some((p, _)) => p.final_url.as_deref().or(Some(p.url.as_str())),
        None => raw.base_url.as_deref(),
    }
    .and_then(|b| url::Url::parse(b).ok());
    let meta = page.map(|p| &p.meta);
    let html = match doc.as_mut() {
        Some(doc) => {
            rewrite_html(doc, &removed_nodes);
            Some(sanitize_html(&doc.root_element().inner_html(), base.as_ref()))
        }
        // A plain-text body: its kept paragraphs as escaped <p> elements.
        None => {
            Some(kept.iter().map(|p| format!("<p>{}</p>", escape_html(p).replace('\n', "<br>"))).collect())
        }
    }
    .filter(|h: &String| !h.trim().is_empty());

    // The feed's configured `lang` is the operator's word; otherwise the text decides when
    // detection is reliable; otherwise the language the feed declares.
    let lang = settings
        .lang_hint
        .map(str::to_owned)
        .or_else(|| detect_language(&text))
        .or_else(|| meta.and_then(|m| m.lang.as_deref()).and_then(iso639_1))
        .or_else(|| raw.feed_language.as_deref().and_then(iso639_1));

    let author = (!raw.authors.is_empty())
        .then(|| raw.authors.iter().map(|a| inline_text(a)).collect::<Vec<_>>().join(", "))
        .or_else(|| meta.and_then(|m| m.author.as_deref()).map(inline_text));
    // A page's canonical link naming an article (on its own site or the original publisher's)
    // is the item's canonical URL: two outlets running one wire story then share it.
    let canonical = meta
        .and_then(crate::pipeline::page::article_canonical)
        .and_then(canonical_url)
        .or_else(|| raw.link.as_deref().and_then(canonical_url));
    let page_date = meta
        .and_then(|m| m.date_published.as_deref().or(m.published_time.as_deref()))
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d.trim()).ok())
        .map(|d| d.with_timezone(&chrono::Utc));

    Cleaned {
        item: CleanItem {
            guid: raw.guid.clone(),
            url: raw.link.clone(),
            canonical_url: canonical,
            title: raw.title.as_deref().map(inline_text).filter(|t| !t.is_empty()),
            author: author.filter(|a| !a.is_empty()),
            published_at: trusted_date(raw.published.or(page_date), settings.fetched_at),
            updated_at: trusted_date(raw.updated, settings.fetched_at),
            lang,
            text: text.into(),
            html: html.map(Into::into),
        },
        removed,
        notices,
    }
}

/// Notices broken by a `<br>` inside their block, or across two blocks, are joined back into one
/// line, so that they are found, removed and reported whole. Only lines that are not notices on
/// their own are joined, and across blocks only into a bracketed notice.
fn join_split_notices(blocks: Vec<Block>) -> Vec<Block> {
    let is_notice = |t: &str| classify::find_notice(t).is_some_and(|n| n.range.start == 0);
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    for mut block in blocks {
        if block.lines.len() > 1 && !block.lines.iter().any(|l| is_notice(&l.text)) {
            let joined = block.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" ");
            if is_notice(&joined) {
                let link_chars = block.lines.iter().map(|l| l.link_chars).sum();
                block.lines = vec![Line { text: joined, link_chars }];
            }
        }
        if let Some(prev) = out.last_mut()
            && let (Some(a), Some(b)) = (prev.lines.last(), block.lines.first())
            && a.text.starts_with(['(', '['])
            && !a.text.ends_with([')', ']'])
            && !is_notice(&a.text)
        {
            let joined = format!("{} {}", a.text, b.text);
            if classify::find_notice(&joined).is_some_and(|n| n.range.start == 0)
                && joined.trim_end_matches('.').ends_with([')', ']'])
            {
                let link_chars = a.link_chars + b.link_chars;
                if let Some(last) = prev.lines.last_mut() {
                    *last = Line { text: joined, link_chars };
                }
                block.lines.remove(0);
                prev.node = None;
                if block.lines.is_empty() {
                    continue;
                }
            }
        }
        out.push(block);
    }
    out
}

/// A feed date, unless it lies more than a day after the fetch (clock skew or a bogus date).
fn trusted_date(
    date: Option<chrono::DateTime<chrono::Utc>>,
    fetched_at: Option<Timestamp>,
) -> Option<Timestamp> {
    let date = date?;
    match fetched_at {
        Some(now) if date > now.0 + chrono::Duration::days(1) => None,
        _ => Some(Timestamp(date)),
    }
}

/// Element nesting beyond which a body is not parsed as HTML. Real bodies nest a few dozen
/// levels; browsers stop nesting at 512.
pub const MAX_NESTING: usize = 512;

/// Whether `html` opens more than `limit` elements without closing them, counted from its tags
/// alone (no parse): void elements, self-closing tags and elements whose end tag is optional
/// (`p`, `li`, table cells …) do not count.
pub fn nesting_exceeds(html: &str, limit: usize) -> bool {
    const UNCOUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "tbody", "thead", "tfoot",
        "colgroup", "rb", "rt", "rp", "optgroup", "caption",
    ];
    let bytes = html.as_bytes();
    if bytes.len() < limit * 3 {
        return false;
    }
    let mut depth = 0usize;
    for i in memchr::memchr_iter(b'<', bytes) {
        let rest = &bytes[i + 1..];
        let (closing, name_at) = if rest.first() == Some(&b'/') { (true, 1) } else { (false, 0) };
        let name: Vec<u8> = rest[name_at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .take(16)
            .map(u8::to_ascii_lowercase)
            .collect();
        if name.is_empty() || UNCOUNTED.iter().any(|u| u.as_bytes() == name.as_slice()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let end = memchr::memchr(b'>', rest).unwrap_or(rest.len());
            if rest[..end].ends_with(b"/") {
                continue;
            }
            depth += 1;
            if depth > limit {
                return true;
            }
        }
    }
    false
}

/// `html` with every tag removed (no parse), for bodies too deep to parse.
fn strip_tags_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                out.push(' ');
            }
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out
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

/// A paragraph: its lines and, for HTML, the element it came from.
#[derive(Debug, Clone)]
struct Block {
    lines: Vec<Line>,
    node: Option<ego_tree::NodeId>,
}

fn lines_of(block: &str) -> Block {
    Block { lines: block.lines().map(|l| Line { text: l.to_string(), link_chars: 0 }).collect(), node: None }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Plain text: blank lines separate paragraphs; entities are still decoded.
fn plain_blocks(s: &str) -> Vec<Block> {
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
fn html_blocks(doc: &Html) -> Vec<Block> {
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
                        b.open.push(node.id());
                    } else if is_line(name) {
                        b.pending = b.pending.max(Break::Line);
                    }
                }
                Node::Text(t) if skip_depth == 0 => {
                    if b.pending != Break::None && !t.trim().is_empty() {
                        b.flush(b.pending);
                        b.pending = Break::None;
                    }
                    if b.lines.is_empty() && b.line.trim().is_empty() && !t.trim().is_empty() {
                        b.node = b.open.last().copied();
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
                        b.open.pop();
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
    blocks: Vec<Block>,
    /// Open block elements, innermost last.
    open: Vec<ego_tree::NodeId>,
    /// The innermost block element the current block's first text sat in.
    node: Option<ego_tree::NodeId>,
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
            self.blocks.push(Block { lines: std::mem::take(&mut self.lines), node: self.node.take() });
        }
    }
}

/// One line of text: NFC, spaces folded, zero-width and control characters dropped, trimmed.
pub fn normalize_line(s: &str) -> String {
    if s.is_ascii() { normalize_ascii_line(s) } else { normalize_any_line(s) }
}

/// [`normalize_line`] of ASCII text (already NFC; no invisible characters).
fn normalize_ascii_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for b in s.bytes() {
        let c = char::from(b);
        if c.is_whitespace() {
            space = true;
        } else if !c.is_control() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn normalize_any_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    // Already NFC (ASCII and most text): skip the normalizing iterator.
    let s: Cow<'_, str> = match unicode_normalization::is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    };
    for c in s.chars() {
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

/// Rewrites before sanitizing: removed boilerplate elements taken out (only when the element
/// holds nothing but the removed text), lazy-loaded images given a real `src`, tracking pixels
/// dropped.
fn rewrite_html(doc: &mut Html, removed: &[ego_tree::NodeId]) {
    let mut detach: Vec<ego_tree::NodeId> = Vec::new();
    for id in removed {
        // Detach only an element whose own text is all boilerplate (e.g. a <div> that holds a
        // teaser line and also real paragraphs stays).
        let Some(node) = doc.tree.get(*id) else { continue };
        // Never the fragment's root element: the serializer needs it.
        if node.parent().is_none_or(|p| p.id() == doc.tree.root().id()) {
            continue;
        }
        let Some(el) = scraper::ElementRef::wrap(node) else { continue };
        let all_text = normalize_line(&el.text().collect::<String>());
        let descendants_are_blocks =
            el.descendants().skip(1).any(|d| d.value().as_element().is_some_and(|e| is_block(e.name())));
        if !descendants_are_blocks || all_text.is_empty() {
            detach.push(*id);
        }
    }
    let images: Vec<ego_tree::NodeId> = doc
        .tree
        .nodes()
        .filter(|n| n.value().as_element().is_some_and(|e| e.name() == "img"))
        .map(|n| n.id())
        .collect();
    for id in images {
        let Some(mut node) = doc.tree.get_mut(id) else { continue };
        let Node::Element(el) = node.value() else { continue };
        if is_tracking_pixel(el) {
            detach.push(id);
        } else {
            promote_lazy_src(el);
        }
    }
    for id in detach {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
    }
}

fn attr<'e>(el: &'e scraper::node::Element, name: &str) -> Option<&'e str> {
    el.attrs.iter().find(|(k, _)| &*k.local == name).map(|(_, v)| &**v)
}

/// A 1×1 image, or an image from a known feed-tracking service.
fn is_tracking_pixel(el: &scraper::node::Element) -> bool {
    let tiny = |name| {
        attr(el, name)
            .and_then(|v| v.trim().trim_end_matches("px").parse::<u32>().ok())
            .is_some_and(|n| n <= 1)
    };
    if tiny("width") && tiny("height") {
        return true;
    }
    let src = attr(el, "src").unwrap_or_default().to_ascii_lowercase();
    const TRACKERS: &[&str] = &[
        "feeds.feedburner.com/~r/",
        "feeds.feedburner.com/~ff/",
        "feedsportal.com",
        "pixel.wp.com",
        "stats.wordpress.com",
        "doubleclick.net",
        "google-analytics.com",
        "pixel.quantserve.com",
        "scorecardresearch.com",
        "feedblitz.com/~/i/",
        "rss.buysellads.com",
        "pi.feedsportal.com",
        "/pixel.gif",
        "/tracking.gif",
        "counter.yadro.ru",
        "mc.yandex.ru/watch",
    ];
    TRACKERS.iter().any(|t| src.contains(t))
}

/// `<img data-src="real.jpg" src="placeholder.gif">` -> `src="real.jpg"`; `data-srcset` -> `srcset`.
fn promote_lazy_src(el: &mut scraper::node::Element) {
    let src = attr(el, "src").unwrap_or_default().trim();
    let placeholder = src.is_empty()
        || src.starts_with("data:")
        || src.contains("placeholder")
        || src.contains("blank.gif");
    if placeholder {
        let lazy = ["data-src", "data-lazy-src", "data-original", "data-url", "data-lazy"]
            .iter()
            .find_map(|n| attr(el, n).filter(|v| !v.trim().is_empty()).map(str::to_owned));
        if let Some(real) = lazy {
            el.attrs.retain(|(k, _)| &*k.local != "src");
            el.attrs.push((qual_name("src"), real.into()));
        }
    }
    if attr(el, "srcset").is_none()
        && let Some(set) = attr(el, "data-srcset").map(str::to_owned)
    {
        el.attrs.push((qual_name("srcset"), set.into()));
    }
}

fn qual_name(local: &str) -> html5ever::QualName {
    html5ever::QualName::new(None, html5ever::Namespace::from(""), html5ever::LocalName::from(local))
}

/// The body as sanitized HTML: ammonia's allow-list (no scripts, styles, event handlers or
/// `javascript:` URLs), relative URLs resolved against `base` (dropped without one).
fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    SANITIZE_BASE.with_borrow_mut(|b| *b = base.cloned());
    let clean = SANITIZER.clean(html).to_string();
    SANITIZE_BASE.with_borrow_mut(|b| *b = None);
    clean.trim().to_string()
}

/// The allow-list, built once: building it (hash sets of tags, attributes and schemes) cost as
/// much as cleaning a short item. The one setting that varies per item, the base of relative
/// URLs, is read from [`SANITIZE_BASE`] by its resolver.
static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    b.add_tag_attributes("img", &["srcset", "sizes", "loading"]);
    b.url_relative(ammonia::UrlRelative::Custom(Box::new(resolve_relative)));
    b
});

/// A relative URL of the item being sanitized, made absolute against its base.
fn resolve_relative(url: &str) -> Option<Cow<'_, str>> {
    SANITIZE_BASE
        .with_borrow(|base| base.as_ref().and_then(|base| base.join(url).ok()).map(|u| Cow::Owned(u.into())))
}

thread_local! {
    /// The base URL of the item [`sanitize_html`] is cleaning on this thread.
    static SANITIZE_BASE: std::cell::RefCell<Option<url::Url>> = const { std::cell::RefCell::new(None) };
}

/// ISO 639-1 code of the text's language, when whatlang is confident.
pub fn detect_language(text: &str) -> Option<String> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < 40 {
        return None;
    }
    // A few hundred characters decide the language as well as the whole text, at a fraction of
    // the cost (detection dominated the clean stage's profile on full articles).
    let sample = match text.char_indices().nth(300) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    // Detection is a pure function of the sample and costs ~100 µs however short the text (a
    // trigram table per candidate language): remembered, so that the copies of a syndicated
    // story, which reach us from dozens of feeds, pay for it once.
    LANGUAGES.get_or_compute(memo::key([Some(sample)]), || {
        whatlang::detect(sample)
            .filter(whatlang::Info::is_reliable)
            .and_then(|info| isolang::Language::from_639_3(info.lang().code()))
            .and_then(|l| l.to_639_1())
            .map(str::to_owned)
    })
}

/// The languages of the last detection samples (two generations of 16,384: ~2 MiB at most).
static LANGUAGES: memo::Memo<Option<String>> = memo::Memo::new(16384);

/// `en-US` / `EN` / `id_ID` to `en` / `en` / `id`; `None` for anything that is not a 639-1 code.
pub fn iso639_1(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase())).then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_ascii_line_normalizer_agrees_with_the_general_one(s in "[\x00-\x7f]{0,80}") {
            prop_assert_eq!(normalize_ascii_line(&s), normalize_any_line(&s));
        }
    }

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
            sources: vec![],
            page: None,
        }
    }

    #[test]
    fn a_hostile_deeply_nested_body_is_read_as_text() {
        let deep = format!("{}<p>The text &amp; more</p>{}", "<div>".repeat(20_000), "</div>".repeat(10));
        assert!(nesting_exceeds(&deep, MAX_NESTING));
        let c = clean(&item(&deep), &settings()).item;
        assert!(c.text.contains("The text"), "{}", c.text);
        // Real bodies never trip it: unclosed paragraphs and list items, void elements.
        let real = "<div><ul><li>a<li>b</ul>".to_string() + &"<p>para<br><img src=x>".repeat(2000) + "</div>";
        assert!(!nesting_exceeds(&real, MAX_NESTING));
    }

    #[test]
    fn a_fetched_page_replaces_a_short_body_unless_its_extraction_looks_wrong() {
        use crate::model::{Page, PageMeta};
        let mut raw = item("<p>One-line teaser.</p>");
        let article = "<p>The full article, with its <a href=\"/more\">link</a>, runs much longer than the teaser \
                       the feed carried, over several sentences of reporting.</p>";
        raw.page = Some(Page {
            url: "https://example.org/a".into(),
            final_url: Some("https://example.org/story/a".into()),
            html: Some(article.into()),
            meta: PageMeta {
                canonical: Some("https://wire.example/orig/a".into()),
                lang: Some("en".into()),
                author: Some("Wire Staff".into()),
                date_published: Some("2026-11-20T08:00:00Z".into()),
                ..PageMeta::default()
            },
            ..Page::default()
        });
        raw.authors.clear();
        let c = clean(&raw, &settings()).item;
        assert!(c.text.starts_with("The full article"), "{}", c.text);
        assert!(c.html.as_deref().is_some_and(|h| h.contains("https://example.org/more")), "{:?}", c.html);
        assert_eq!(c.canonical_url.as_deref(), Some("https://wire.example/orig/a"));
        assert_eq!(c.author.as_deref(), Some("Wire Staff"));
        assert!(c.published_at.is_some());

        // The feed carried the whole story; the page's extraction caught a fragment: feed wins.
        let mut raw = item(&format!("<p>{}</p>", "A long feed body with many words in it. ".repeat(20)));
        raw.page = Some(Page { html: Some("<p>Subscribe now.</p>".into()), ..Page::default() });
        assert!(clean(&raw, &settings()).item.text.starts_with("A long feed body"));
    }

    fn settings() -> CleanSettings<'static> {
        CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None, fetched_at: None }
    }

    #[test]
    fn blocks_become_paragraphs_and_lists_lines() {
        let c = clean(
            &item(
                "<p>One <b>bold</b>&nbsp;word.</p><div>Two<br>lines</div><ul><li>a</li><li>b</li></ul><script>x()</script>",
            ),
            &settings(),
        );
        assert_eq!(&*c.item.text, "One bold word.\n\nTwo\nlines\n\na\nb");
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
    fn dates_far_in_the_future_are_not_trusted() {
        let now = Timestamp::parse("2026-11-29T12:00:00Z").expect("valid");
        let mut raw = item("<p>x</p>");
        raw.published = Timestamp::parse("2026-11-30T11:00:00Z").map(|t| t.0);
        raw.updated = Timestamp::parse("2027-01-01T00:00:00Z").map(|t| t.0);
        let s = CleanSettings { fetched_at: Some(now), ..settings() };
        let c = clean(&raw, &s);
        assert_eq!(c.item.published_at.map(Timestamp::to_db).as_deref(), Some("2026-11-30T11:00:00Z"));
        assert_eq!(c.item.updated_at, None);
    }

    #[test]
    fn titles_lose_tags_and_entities() {
        let c = clean(&item("<p>x</p>"), &settings());
        assert_eq!(c.item.title.as_deref(), Some("A title & more"));
        assert_eq!(c.item.lang.as_deref(), Some("en"));
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
        let s =
            CleanSettings { boilerplate: true, extra_patterns: &re, lang_hint: Some("id"), fetched_at: None };
        let c = clean(&item("<p>Story.</p><p>READ MORE please, it is good</p>"), &s);
        assert_eq!(&*c.item.text, "Story.");
        assert_eq!(
            c.removed,
            vec![RemovedLine {
                reason: RemovalReason::UserPattern,
                text: "READ MORE please, it is good".into(),
                position: Position::End,
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
            &*c.item.text,
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
    fn sanitized_html_drops_boilerplate_and_pixels_and_keeps_lazy_images() {
        let html = r#"<p>2 min read</p><p>Real text here.</p><p>Also Read: <a href="/x">Other</a></p>
            <p><img src="data:image/gif;base64,R0lGOD" data-src="/img/photo.jpg" data-srcset="/img/p-2x.jpg 2x" alt="Photo"></p>
            <img src="https://feeds.feedburner.com/~r/example/~4/abc" width="1" height="1">
            <img src="https://example.org/counter.gif" width="1" height="1">"#;
        let c = clean(&item(html), &settings());
        let out = c.item.html.expect("html");
        assert!(!out.contains("2 min read") && !out.contains("Also Read"), "{out}");
        assert!(out.contains("Real text here."), "{out}");
        assert!(out.contains(r#"src="https://example.org/img/photo.jpg""#), "{out}");
        assert!(out.contains("srcset="), "{out}");
        assert!(!out.contains("feedburner") && !out.contains("counter.gif"), "{out}");
    }

    #[test]
    fn a_body_that_is_only_boilerplate_leaves_no_text_and_no_panic() {
        let c = clean(&item("Also Read: <a href=\"/x\">Other story</a>"), &settings());
        assert_eq!(&*c.item.text, "");
    }

    #[test]
    fn xss_vectors_produce_no_active_content() {
        let vectors = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<svg onload=alert(1)><script>alert(1)</script></svg>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<object data=\"evil.swf\"></object><embed src=\"evil.swf\">",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<p style=\"behavior:url(x.htc)\">x</p>",
            "<form action=\"https://evil.example\"><input type=submit></form>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<base href=\"https://evil.example/\"><a href=\"/x\">x</a>",
            "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
            "<details open ontoggle=alert(1)>",
            "<video><source onerror=alert(1)></video>",
        ];
        for v in vectors {
            let html = clean(&item(&format!("<p>ok</p>{v}")), &settings())
                .item
                .html
                .unwrap_or_default()
                .to_ascii_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "ontoggle",
                "javascript:",
                "<iframe",
                "<object",
                "<embed",
                "style=",
                "<form",
                "<base",
                "<meta",
                "data:text",
            ] {
                assert!(!html.contains(bad), "{v} -> {html}");
            }
        }
    }

    #[test]
    fn notices_split_by_br_or_across_paragraphs_are_found_whole() {
        for html in [
            "<p>Body text of the story.</p><p><i>(This story has not been edited by X staff<br>and is auto-generated from a syndicated feed.)</i></p>",
            "<p>Body text of the story.</p><p>(This story has not been edited by X staff</p><p>and is auto-generated from a syndicated feed.)</p>",
        ] {
            let c = clean(&item(html), &settings());
            assert_eq!(&*c.item.text, "Body text of the story.", "{html}");
            assert_eq!(
                c.notices.first().map(|n| n.text.as_str()),
                Some(
                    "(This story has not been edited by X staff and is auto-generated from a syndicated feed.)"
                )
            );
        }
    }

    #[test]
    fn a_spliced_notice_is_cut_from_its_paragraph() {
        let html = "<p>Police urged job seekers to verify recruiters. (ANI) (This is an unedited and auto-generated \
            story from Syndicated News feed, Example Staff may not have modified or edited the content body)</p>";
        let c = clean(&item(html), &settings());
        assert_eq!(&*c.item.text, "Police urged job seekers to verify recruiters. (ANI)");
        assert!(c.notices[0].text.starts_with("(This is an unedited"));
    }

    #[test]
    fn plain_text_bodies_keep_paragraphs() {
        let c = clean(&item("First line\ncontinues.\n\nSecond &amp; last."), &settings());
        assert_eq!(&*c.item.text, "First line continues.\n\nSecond & last.");
    }

    #[test]
    fn deeply_nested_html_does_not_overflow() {
        let html = "<div>".repeat(50_000) + "deep" + &"</div>".repeat(50_000);
        assert_eq!(&*clean(&item(&html), &settings()).item.text, "deep");
    }

    /// Paragraphs of words drawn from a vocabulary rich in boilerplate-looking words.
    fn paragraph() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "read",
            "also",
            "more",
            "share",
            "follow",
            "updated",
            "min",
            "2",
            "the",
            "minister",
            "said",
            "on",
            "Tuesday",
            "baca",
            "juga",
            "lire",
            "aussi",
            "news",
            "google",
            "with",
            "agencies",
            "staff",
            "edited",
            "not",
            "this",
            "story",
            "feed",
            "prices",
            "rose",
            "city",
            "council",
            "Related",
            "By",
            "Editor:",
            "&amp;",
            "café",
            "état",
            "über",
            "किया",
            "新闻",
            "x",
            "—",
            ":",
            "|",
            "(",
            ")",
        ]);
        prop::collection::vec(words, 1..30).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn long_paragraphs_survive_unless_a_whole_line_rule_matched(paras in prop::collection::vec(paragraph(), 1..6)) {
            let html: String = paras.iter().map(|p| format!("<p>{p}</p>")).collect();
            let c = clean(&item(&html), &settings());
            let out: Vec<&str> = c.item.text.split("\n\n").collect();
            for p in &paras {
                let expected = inline_text(p);
                if expected.split_whitespace().count() >= 10 {
                    let kept = out.iter().any(|o| *o == expected || expected.starts_with(*o));
                    let removed_whole = c.removed.iter().any(|r| r.text == expected || expected.ends_with(&r.text));
                    prop_assert!(kept || removed_whole, "paragraph lost: {:?}", expected);
                }
            }
        }

        #[test]
        fn output_has_no_tags_or_control_characters(
            paras in prop::collection::vec(paragraph(), 0..6),
            markup in prop::collection::vec(prop::sample::select(vec![
                "<b>", "</b>", "<span class='x'>", "</span>", "<br/>", "<img src='a.png'>", "<script>var a = '<p>';</script>",
                "<!-- comment -->", "<style>p{}</style>", "<a href='/x'>", "</a>", "\u{0}", "\u{7}", "\u{1b}[31m", "<![CDATA[x]]>",
            ]), 0..8),
        ) {
            let html: String = paras.iter().zip(markup.iter().cycle()).map(|(p, m)| format!("<div><p>{m}{p}</p>{m}</div>")).collect();
            let t = clean(&item(&html), &settings()).item.text;
            prop_assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "control character in {:?}", t);
            prop_assert!(!t.contains('<') && !t.contains('>'), "markup left in {:?}", t);
        }

        #[test]
        fn cleaning_is_idempotent(paras in prop::collection::vec(paragraph(), 1..6)) {
            let html: String = paras.iter().map(|p| format!("<p>{p}</p>")).collect();
            let once = clean(&item(&html), &settings()).item.text;
            let again: String = once.split("\n\n").map(|p| format!("<p>{}</p>", escape_html(p).replace('\n', "<br>"))).collect();
            prop_assert_eq!(clean(&item(&again), &settings()).item.text, once);
        }

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
