//! The leniency layer in front of feed-rs: rewrites an XML feed document (already UTF-8) into
//! one feed-rs reads without losing items. Each rule comes from a class of real documents that
//! feed-rs rejects or silently empties (`README.md`, "Parsing"):
//!
//! - references: a bare `&`, `&#X41;` or an out-of-range character reference becomes text;
//! - structure: a mismatched end tag closes the elements it skipped, a stray one is dropped,
//!   and a truncated document is closed at its end;
//! - roots: `<rss>` without a version or with one feed-rs does not know (0.93, 0.94, 2.01 …)
//!   is read as 2.0; `<channel>` as the root, or `<rss>` without `<channel>`, gets the missing
//!   element;
//! - namespaces: Atom 0.3 becomes Atom 1.0 (with `issued`/`modified`/`created`, `tagline`,
//!   `copyright`, author `url` and `content mode="escaped"|"base64"|"xml"` mapped), RSS 0.90
//!   becomes RSS 1.0, and the old Userland RSS 2 default namespace is dropped;
//! - text types: an Atom or Media RSS `type` feed-rs does not know (`text/plain`,
//!   `application/xhtml+xml`, `plain`, empty, invalid) becomes the nearest one it does;
//! - empty elements (`<media:description/>`, `<title></title>`) are dropped, since feed-rs
//!   fails a whole feed on one;
//! - an RSS 1.0 item without `<link>` gets its `rdf:about` as link (feed-rs drops link-less
//!   RSS 1.0 items).
//!
//! Inline XHTML and XML content is copied as it is. The pass also counts the items it saw, so
//! the caller can tell "feed-rs found nothing" from "there was nothing".

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

const ATOM10: &str = "http://www.w3.org/2005/Atom";
const ATOM03: &str = "http://purl.org/atom/ns#";
const RSS10: &str = "http://purl.org/rss/1.0/";
const RSS090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const USERLAND: &str = "http://backend.userland.com/rss2";
const MEDIA: &str = "http://search.yahoo.com/mrss/";

/// How many open elements an end tag is matched against (innermost first).
const MAX_END_SEARCH: usize = 64;

/// The rewritten document and what the pass saw.
#[derive(Debug)]
pub struct Normalized {
    pub text: String,
    /// `<item>` / `<entry>` elements outside inline content.
    pub items_seen: usize,
}

/// Removes every XML declaration (`<?xml version=… encoding=…?>`). The text is UTF-8 already
/// (see `decode`), so a declaration says nothing feed-rs needs; and one that names an encoding
/// in the middle of a document (concatenated documents) or after a long malformed prefix makes
/// quick-xml panic inside feed-rs. Declarations inside CDATA or comments are text and stay.
pub fn strip_declarations(text: &str) -> std::borrow::Cow<'_, str> {
    let late: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), b"<?xml")
        .filter(|&i| text.as_bytes().get(i + 5).is_some_and(|c| c.is_ascii_whitespace() || *c == b'?'))
        .collect();
    if late.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let regions = literal_regions(text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for i in late {
        let at = regions.partition_point(|(start, _)| *start <= i);
        if i < copied || (at > 0 && regions[at - 1].1 > i) {
            continue;
        }
        let end = memchr::memmem::find(&text.as_bytes()[i..], b"?>").map_or(text.len(), |e| i + e + 2);
        out.push_str(&text[copied..i]);
        copied = end;
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Rewrites references that no XML reader accepts (see the module doc); a no-op (borrowing)
/// for the common clean document. `&` inside CDATA sections and comments is literal and kept.
pub fn repair_references(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    // CDATA sections and comments, computed on the first bad reference (most documents have
    // none).
    let mut literal: Option<Vec<(usize, usize)>> = None;
    for i in memchr::memchr_iter(b'&', bytes) {
        if i < copied {
            continue;
        }
        let reference = &text[i + 1..];
        // A reference is short: look for its `;` in a small window only.
        let window = &reference.as_bytes()[..reference.len().min(33)];
        let end = memchr::memchr(b';', window);
        let (fixed, consumed): (String, usize) = match end.map(|end| (&reference[..end], end)) {
            Some((name, end)) if name.starts_with('#') => match char_ref(&name[1..]) {
                Some(c) if name.starts_with("#X") => (format!("&#x{:x};", u32::from(c)), end + 2),
                Some(_) => continue,
                None => ("&amp;".into(), 1),
            },
            Some((name, _))
                if name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) =>
            {
                continue;
            }
            _ => ("&amp;".into(), 1),
        };
        let regions = literal.get_or_insert_with(|| literal_regions(text));
        let at = regions.partition_point(|(start, _)| *start <= i);
        if at > 0 && regions[at - 1].1 > i {
            continue;
        }
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
        buf.push_str(&text[copied..i]);
        buf.push_str(&fixed);
        copied = i + consumed;
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            std::borrow::Cow::Owned(buf)
        }
    }
}

/// Byte ranges of CDATA sections and comments, in order.
pub(super) fn literal_regions(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&bytes[at..], b"<!") {
        let start = at + found;
        let rest = &bytes[start..];
        let close: &[u8] = if rest.starts_with(b"<![CDATA[") {
            b"]]>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else {
            at = start + 2;
            continue;
        };
        let end =
            memchr::memmem::find(&rest[2..], close).map_or(bytes.len(), |e| start + 2 + e + close.len());
        out.push((start, end));
        at = end;
    }
    out
}

/// A character reference body (`233`, `xE9`, `XE9`) as a character XML allows.
fn char_ref(body: &str) -> Option<char> {
    let n = match body.strip_prefix(['x', 'X']) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()?
        }
        None if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) => body.parse::<u32>().ok()?,
        _ => return None,
    };
    char::from_u32(n).filter(|c| matches!(c, '\t' | '\n' | '\r') || u32::from(*c) >= 0x20)
}

/// What one cheap pass over the raw text tells: how many `<item` / `<entry` start tags (any
/// prefix) the document visibly holds, and whether it has any element the extras pass reads
/// (`source`, `dc:publisher`, `sy:updatePeriod`, `skipHours`, `skipDays`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prescan {
    pub items: usize,
    pub extras: bool,
}

pub fn prescan(text: &str) -> Prescan {
    use std::sync::LazyLock;
    const PATTERNS: [&str; 10] = [
        "<item",
        ":item",
        "<entry",
        ":entry",
        "<source",
        ":source",
        ":publisher",
        "updatePeriod",
        "skipHours",
        "skipDays",
    ];
    // Leftmost-first lets aho-corasick use its SIMD (Teddy) searcher.
    static SEARCH: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(PATTERNS)
            .ok()
    });
    let bytes = text.as_bytes();
    let mut out = Prescan::default();
    let Some(search) = SEARCH.as_ref() else {
        return Prescan { items: 0, extras: true };
    };
    // Matches inside CDATA sections and comments are content (computed only if there are any).
    let literal =
        if memchr::memmem::find(bytes, b"<!").is_some() { literal_regions(text) } else { Vec::new() };
    let inside = |at: usize| {
        let i = literal.partition_point(|(start, _)| *start <= at);
        i > 0 && literal[i - 1].1 > at
    };
    for m in search.find_iter(bytes) {
        let pattern = m.pattern().as_usize();
        if inside(m.start()) {
            continue;
        }
        if pattern >= 4 {
            out.extras = true;
            continue;
        }
        if !matches!(bytes.get(m.end()), Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')) {
            continue;
        }
        if bytes[m.start()] == b'<' {
            out.items += 1;
            continue;
        }
        // `:item`: walk back over the prefix to the `<`.
        let mut i = m.start();
        while i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'-' | b'.')) {
            i -= 1;
        }
        if i > 0 && i < m.start() && bytes[i - 1] == b'<' {
            out.items += 1;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Atom,
    Atom03,
    Rss1,
    Media,
    Other,
}

impl Ns {
    fn of(r: &ResolveResult<'_>) -> Ns {
        match r {
            ResolveResult::Bound(ns) => match ns.0 {
                ATOM10 => Ns::Atom,
                ATOM03 => Ns::Atom03,
                RSS10 | RSS090 => Ns::Rss1,
                MEDIA => Ns::Media,
                _ => Ns::Other,
            },
            _ => Ns::Other,
        }
    }
}

/// An open element of the output.
#[derive(Debug)]
struct Frame {
    /// The element's name as written to the output.
    name: String,
    /// The name as it appears in the input's end tag.
    source_name: String,
    /// Its content is copied unchanged (inline XHTML / XML).
    verbatim: bool,
    /// RSS 1.0 item: its `rdf:about`, and whether a link was written.
    rss1_item: Option<(String, bool)>,
    /// Collecting base64 text (Atom 0.3 `mode="base64"`).
    base64: Option<String>,
}

/// A start tag held back until we know whether the element is empty.
struct Pending {
    tag: String,
    frame: Frame,
    droppable: bool,
    whitespace: String,
}

struct Writer {
    out: String,
    stack: Vec<Frame>,
    pending: Option<Pending>,
    items_seen: usize,
    root_seen: bool,
    /// The input root is `<rss>`: the first child must be `<channel>`.
    rss_root: bool,
    channel_seen: bool,
    /// Text to append at the very end (closing a wrapper the input lacked).
    epilogue: &'static str,
}

/// Rewrites an XML document (see the module doc). Never fails: a document that cannot be read
/// to its end is closed where reading stopped.
pub fn normalize(text: &str) -> Normalized {
    let mut reader = quick_xml::NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut w = Writer {
        out: String::with_capacity(text.len() + 256),
        stack: Vec::new(),
        pending: None,
        items_seen: 0,
        root_seen: false,
        rss_root: false,
        channel_seen: false,
        epilogue: "",
    };
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (Ns::of(&ns), event),
            Err(_) => {
                w.salvage(text.get(before..).unwrap_or_default());
                break;
            }
        };
        match event {
            Event::Eof => break,
            Event::Start(e) => w.start(&e, ns, false),
            Event::Empty(e) => w.start(&e, ns, true),
            Event::End(e) => w.end(e.name().0),
            Event::Text(t) => w.text(&t),
            Event::GeneralRef(r) => {
                w.flush();
                w.out.push('&');
                w.out.push_str(&r);
                w.out.push(';');
            }
            Event::CData(c) => {
                w.flush();
                if let Some(b64) = w.stack.last_mut().and_then(|f| f.base64.as_mut()) {
                    b64.push_str(&c);
                } else {
                    w.out.push_str("<![CDATA[");
                    w.out.push_str(&c);
                    w.out.push_str("]]>");
                }
            }
            Event::Decl(d) => {
                w.out.push_str("<?");
                w.out.push_str(&d);
                w.out.push_str("?>");
            }
            Event::PI(p) => {
                w.flush();
                w.out.push_str("<?");
                w.out.push_str(&p);
                w.out.push_str("?>");
            }
            Event::DocType(d) => {
                w.out.push_str("<!DOCTYPE ");
                w.out.push_str(&d);
                w.out.push('>');
            }
            Event::Comment(_) => {}
        }
    }
    w.flush();
    while let Some(frame) = w.stack.pop() {
        w.close(&frame);
    }
    w.out.push_str(w.epilogue);
    Normalized { text: w.out, items_seen: w.items_seen }
}

impl Writer {
    fn verbatim(&self) -> bool {
        self.stack.last().is_some_and(|f| f.verbatim)
    }

    /// What follows a read error, kept where it is plainly text: an unclosed CDATA section or
    /// trailing text (a truncated document).
    fn salvage(&mut self, rest: &str) {
        let rest = rest.trim_start();
        let text = match rest.strip_prefix("<![CDATA[") {
            Some(cdata) => cdata,
            None if !rest.contains('<') => rest,
            None => return,
        };
        if text.trim().is_empty() {
            return;
        }
        self.flush();
        self.out.push_str("<![CDATA[");
        self.out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
        self.out.push_str("]]>");
    }

    fn start(&mut self, e: &BytesStart<'_>, ns: Ns, empty: bool) {
        self.flush();
        let source_name = e.name().0.to_string();
        if self.verbatim() {
            self.out.push('<');
            self.out.push_str(e);
            self.out.push_str(if empty { "/>" } else { ">" });
            if !empty {
                self.stack.push(Frame::plain(source_name.clone(), source_name, true));
            }
            return;
        }
        let local = e.local_name().into_inner();
        if !self.root_seen {
            self.root_seen = true;
            match local {
                "rss" => self.rss_root = true,
                "channel" => {
                    self.out.push_str("<rss version=\"2.0\">");
                    self.epilogue = "</rss>";
                    self.channel_seen = true;
                }
                _ => {}
            }
        } else if self.rss_root && self.stack.len() == 1 && !self.channel_seen {
            self.channel_seen = true;
            if local != "channel" {
                self.out.push_str("<channel>");
                self.stack.push(Frame::plain("channel".into(), String::new(), false));
            }
        }
        if matches!(local, "item" | "entry") {
            self.items_seen += 1;
        }
        let prefix = source_name.strip_suffix(local).unwrap_or_default();
        let parent = self.stack.last().map(|f| f.name.rsplit(':').next().unwrap_or_default().to_string());
        let name = match (ns, local, parent.as_deref()) {
            (Ns::Atom03, "issued" | "created", _) => format!("{prefix}published"),
            (Ns::Atom03, "modified", _) => format!("{prefix}updated"),
            (Ns::Atom03, "tagline", _) => format!("{prefix}subtitle"),
            (Ns::Atom03, "copyright", _) => format!("{prefix}rights"),
            (Ns::Atom03, "url", Some("author" | "contributor")) => format!("{prefix}uri"),
            _ => source_name.clone(),
        };
        let text_construct = matches!(ns, Ns::Atom | Ns::Atom03)
            && matches!(
                local,
                "title" | "subtitle" | "tagline" | "summary" | "rights" | "copyright" | "content" | "info"
            );
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut raw_type: Option<String> = None;
        let mut mode: Option<String> = None;
        let mut has_src = false;
        let mut about: Option<String> = None;
        for attr in e.attributes().with_checks(false) {
            let Ok(attr) = attr else { continue };
            let key = attr.key.0;
            let value = attr.value.into_owned();
            match key {
                "xmlns" if value.trim() == USERLAND => continue,
                k if k == "xmlns" || k.starts_with("xmlns:") => {
                    let value = match value.trim() {
                        ATOM03 => ATOM10.to_string(),
                        RSS090 => RSS10.to_string(),
                        _ => value,
                    };
                    attrs.push((k.to_string(), value));
                }
                "version" if self.stack.is_empty() && local == "rss" => {}
                "type" if text_construct || ns == Ns::Media => raw_type = Some(value),
                "mode" if text_construct => mode = Some(value),
                k => {
                    if k == "src" {
                        has_src = true;
                    }
                    if k == "rdf:about" || k.ends_with(":about") {
                        about = Some(value.clone());
                    }
                    attrs.push((k.to_string(), value));
                }
            }
        }
        if self.stack.is_empty() && local == "rss" {
            let version = e
                .try_get_attribute("version")
                .ok()
                .flatten()
                .map(|a| a.value.trim().to_string())
                .filter(|v| matches!(v.as_str(), "0.91" | "0.92" | "2.0"))
                .unwrap_or_else(|| "2.0".into());
            attrs.insert(0, ("version".into(), version));
        }
        let mut verbatim = false;
        let mut base64 = None;
        if text_construct {
            let (ty, inline) =
                atom_type(raw_type.as_deref(), mode.as_deref(), ns == Ns::Atom03, local, has_src);
            if let Some(ty) = ty {
                attrs.push(("type".into(), ty));
            }
            verbatim = inline;
            if mode.as_deref().map(str::trim) == Some("base64") {
                base64 = Some(String::new());
            }
        } else if let Some(ty) = raw_type {
            let lower = ty.trim().to_ascii_lowercase();
            let ty = if ns == Ns::Media && matches!(local, "title" | "description" | "text") {
                if lower.contains("html") { "html".to_string() } else { "plain".to_string() }
            } else {
                ty
            };
            attrs.push(("type".into(), ty));
        }
        let mut tag = String::with_capacity(e.len() + 16);
        tag.push('<');
        tag.push_str(&name);
        for (k, v) in &attrs {
            tag.push(' ');
            tag.push_str(k);
            tag.push_str("=\"");
            tag.push_str(&v.replace('"', "&quot;"));
            tag.push('"');
        }
        let droppable = attrs
            .iter()
            .all(|(k, _)| matches!(k.as_str(), "type" | "mode" | "xml:lang" | "xml:base" | "isPermaLink"))
            && !matches!(
                local,
                "rss" | "channel" | "feed" | "RDF" | "item" | "entry" | "items" | "Seq" | "div"
            );
        let mut frame = Frame::plain(name, source_name, verbatim);
        frame.base64 = base64;
        if ns == Ns::Rss1 && local == "item" {
            frame.rss1_item = Some((about.unwrap_or_default(), false));
        }
        if empty {
            if !droppable {
                tag.push_str("/>");
                self.out.push_str(&tag);
            }
            return;
        }
        tag.push('>');
        self.pending = Some(Pending { tag, frame, droppable, whitespace: String::new() });
    }

    /// Writes a held-back start tag: the element has content.
    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.out.push_str(&p.tag);
            self.out.push_str(&p.whitespace);
            if p.frame.name.rsplit(':').next() == Some("link")
                && let Some((_, has_link)) = self.stack.last_mut().and_then(|f| f.rss1_item.as_mut())
            {
                *has_link = true;
            }
            self.stack.push(p.frame);
        }
    }

    fn text(&mut self, t: &str) {
        if let Some(p) = self.pending.as_mut()
            && t.trim().is_empty()
        {
            p.whitespace.push_str(t);
            return;
        }
        self.flush();
        if let Some(b64) = self.stack.last_mut().and_then(|f| f.base64.as_mut()) {
            b64.push_str(t);
        } else {
            self.out.push_str(t);
        }
    }

    fn end(&mut self, source_name: &str) {
        if let Some(p) = self.pending.take() {
            if p.droppable && p.frame.source_name == source_name {
                return;
            }
            self.pending = Some(p);
            self.flush();
        }
        // Only the innermost elements are searched: a document of endless unmatched end tags
        // stays linear.
        let depth = self.stack.len();
        let Some(at) = self
            .stack
            .iter()
            .rev()
            .take(MAX_END_SEARCH)
            .position(|f| f.source_name == source_name)
            .map(|from_top| depth - 1 - from_top)
        else {
            // A stray end tag: dropped.
            return;
        };
        while self.stack.len() > at {
            if let Some(frame) = self.stack.pop() {
                self.close(&frame);
            }
        }
    }

    fn close(&mut self, frame: &Frame) {
        if let Some(b64) = &frame.base64 {
            use base64::Engine;
            let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                let decoded = String::from_utf8_lossy(&bytes);
                self.out.push_str(&quick_xml::escape::escape(decoded.as_ref()));
            }
        }
        if let Some((about, false)) = &frame.rss1_item
            && !about.trim().is_empty()
        {
            let prefix = frame.name.strip_suffix("item").unwrap_or_default();
            self.out.push_str(&format!(
                "<{prefix}link>{}</{prefix}link>",
                quick_xml::escape::escape(about.trim())
            ));
        }
        if self.rss_root && self.stack.is_empty() && !self.channel_seen {
            // `<rss>` with no children at all: an empty channel.
            self.channel_seen = true;
            self.out.push_str("<channel></channel>");
        }
        self.out.push_str("</");
        self.out.push_str(&frame.name);
        self.out.push('>');
    }
}

impl Frame {
    fn plain(name: String, source_name: String, verbatim: bool) -> Frame {
        Frame { name, source_name, verbatim, rss1_item: None, base64: None }
    }
}

/// The `type` an Atom text construct gets, and whether its content is inline markup to copy
/// unchanged. `None`: leave the attribute out (feed-rs's default, text).
fn atom_type(
    ty: Option<&str>,
    mode: Option<&str>,
    atom03: bool,
    local: &str,
    has_src: bool,
) -> (Option<String>, bool) {
    let mode = mode.map(|m| m.trim().to_ascii_lowercase());
    let escaped = matches!(mode.as_deref(), Some("escaped" | "base64"));
    let lower = ty.map(|t| t.trim().to_ascii_lowercase());
    if local == "content" && has_src {
        // Out-of-line content: the type must be a MIME type, or absent.
        return (
            ty.filter(|t| t.contains('/') && !t.contains(char::is_whitespace)).map(str::to_owned),
            false,
        );
    }
    let Some(lower) = lower else {
        // Atom 0.3 inline XML without a type is text/plain by default.
        return (None, false);
    };
    let inline_xml = !escaped && (atom03 || lower.ends_with("+xml") || lower.ends_with("/xml"));
    match lower.as_str() {
        "text" | "html" => (Some(lower), false),
        "xhtml" => (Some(lower), true),
        t if t.contains("xhtml") || (t.contains("html") && inline_xml && atom03) => {
            if escaped {
                (Some("html".into()), false)
            } else {
                (Some("xhtml".into()), true)
            }
        }
        t if t.contains("html") => (Some("html".into()), false),
        t if local == "content" && (t.ends_with("+xml") || t.ends_with("/xml")) => {
            (Some(t.to_string()), true)
        }
        _ => (Some("text".into()), false),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn xml_declarations_go_but_not_inside_cdata() {
        let doc = "<?xml version=\"1.0\"?><rss><item><description><![CDATA[<?xml version=\"1.0\"?>]]>\
                   </description></item><?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><item/></rss>";
        let out = strip_declarations(doc);
        assert_eq!(out.matches("<?xml").count(), 1, "the one inside CDATA stays: {out}");
        assert!(!out.contains("ISO-8859-1"), "{out}");
        assert!(out.starts_with("<rss>"), "{out}");
        assert_eq!(strip_declarations("<?xml version=\"1.0\"?><rss/>"), "<rss/>");
        assert!(matches!(
            strip_declarations("<rss><?xml-stylesheet href=\"a\"?></rss>"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn references_are_repaired_outside_cdata() {
        assert_eq!(
            repair_references("a & b &amp; c&#233;&#X41;&#0;&nbsp;"),
            "a &amp; b &amp; c&#233;&#x41;&amp;#0;&nbsp;"
        );
        assert_eq!(repair_references("<a href=\"?x=1&y=2\"/>"), "<a href=\"?x=1&amp;y=2\"/>");
        assert_eq!(repair_references("<![CDATA[a & b]]> & <!-- & -->"), "<![CDATA[a & b]]> &amp; <!-- & -->");
        assert!(matches!(repair_references("clean &amp; fine"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn item_tags_are_counted_with_any_prefix() {
        let scan = prescan("<rss:item a='1'><item><entry/><items><itemx><atom:entry>text:item ");
        assert_eq!(scan, Prescan { items: 4, extras: false });
        assert!(prescan("<item><dc:publisher>x</dc:publisher></item>").extras);
        assert_eq!(
            prescan("<item><description><![CDATA[use <item> tags]]></description></item><!-- <entry> -->")
                .items,
            1
        );
    }

    #[test]
    fn rss_roots_are_completed() {
        assert_eq!(
            norm("<rss><channel><item><title>a</title></item></channel></rss>"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
        assert_eq!(norm("<rss version=\"0.94\"><channel/></rss>"), "<rss version=\"2.0\"><channel/></rss>");
        assert_eq!(
            norm("<rss version=\"0.91\"><channel><x>1</x></channel></rss>"),
            "<rss version=\"0.91\"><channel><x>1</x></channel></rss>"
        );
        assert_eq!(
            norm("<channel><item><title>a</title></item></channel>"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
        assert_eq!(norm("<rss>\n</rss>"), "<rss version=\"2.0\">\n<channel></channel></rss>");
        assert_eq!(
            norm("<rss version=\"2.0\"><item><title>a</title></item></rss>"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
    }

    #[test]
    fn broken_structure_is_closed() {
        assert_eq!(
            norm("<rss version=\"2.0\"><channel><item><title>a</item></channel></rss>"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
        assert_eq!(
            norm("<item><description><![CDATA[<p>cut off"),
            "<item><description><![CDATA[<p>cut off]]></description></item>"
        );
        assert_eq!(
            norm("<rss version=\"2.0\"><channel><item><title>a</title></bogus></item>"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
    }

    #[test]
    fn empty_elements_are_dropped_but_not_inside_xhtml() {
        assert_eq!(
            norm(
                "<item><title></title><media:description/><guid isPermaLink=\"false\"> </guid><enclosure url=\"u\"/></item>"
            ),
            "<item><enclosure url=\"u\"/></item>"
        );
        let xhtml = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"xhtml\"><div>a<br/><p></p></div></content></entry></feed>";
        assert_eq!(norm(xhtml), xhtml);
    }

    #[test]
    fn atom03_is_mapped_to_atom10() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><tagline>t</tagline>
            <entry><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified>
            <author><name>n</name><url>http://a/</url></author>
            <content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content>
            <summary type="text/plain">s</summary>
            <content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml"><br/></div></content>
            <content mode="base64" type="text/html">PGI+aGk8L2I+</content></entry></feed>"#;
        let out = norm(doc);
        for want in [
            "xmlns=\"http://www.w3.org/2005/Atom\"",
            "<subtitle>t</subtitle>",
            "<published>2004-01-01T00:00:00Z</published>",
            "<updated>2004-01-02T00:00:00Z</updated>",
            "<uri>http://a/</uri>",
            "<content type=\"html\">&lt;p&gt;x&lt;/p&gt;</content>",
            "<summary type=\"text\">s</summary>",
            "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><br/></div></content>",
            "<content type=\"html\">&lt;b&gt;hi&lt;/b&gt;</content>",
        ] {
            assert!(out.contains(want), "{want} missing in {out}");
        }
    }

    #[test]
    fn odd_types_become_known_ones() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"><entry>
            <title type="">a</title><summary type="invalid">b</summary><content type="application/octet-stream">c</content>
            <media:description type="text/html">d</media:description></entry></feed>"#;
        let out = norm(doc);
        assert!(out.contains("<title type=\"text\">a</title>"), "{out}");
        assert!(out.contains("<summary type=\"text\">b</summary>"), "{out}");
        assert!(out.contains("<media:description type=\"html\">d</media:description>"), "{out}");
    }

    #[test]
    fn namespaces_and_rss1_links() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
            <item rdf:about="http://e/1"><title>a</title></item><item><title>b</title><link>http://e/2</link></item></rdf:RDF>"#;
        let out = norm(doc);
        assert!(out.contains("xmlns=\"http://purl.org/rss/1.0/\""), "{out}");
        assert!(out.contains("<title>a</title><link>http://e/1</link></item>"), "{out}");
        assert_eq!(out.matches("<link>").count(), 2, "{out}");
        assert_eq!(normalize(doc).items_seen, 2);
        let userland =
            r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel></channel></rss>"#;
        assert_eq!(norm(userland), "<rss version=\"2.0\"><channel></channel></rss>");
    }
}
