//! Line roles: which lines of an item's text are not article text, and what they are.
//! Pure: no I/O. Computed once per line by `clean`; `clean` removes the classified lines and
//! `flag` reads the same classification (a removed auto-generated notice is still evidence).
//!
//! Rules match a line's *role*, recognised from its structure, not one known sentence:
//!
//! | role | structure |
//! | --- | --- |
//! | [`LineRole::Teaser`] | a "read also"-type label (multilingual) at the start of a line, followed by a separator or by link text; a bare label heading makes the link-only lines after it teasers too |
//! | [`LineRole::ReadingTime`] | a short line with a number, a minutes word and a reading word |
//! | [`LineRole::Timestamp`] | a short line starting with an "updated/published" label and holding a digit |
//! | [`LineRole::Prompt`] | a short line with a follow/subscribe/share/join verb and a channel (Google News, WhatsApp, newsletter, "this article") |
//! | [`LineRole::Credit`] | a short "with inputs from agencies"-type line, or only agency names |
//! | [`LineRole::Byline`] | a short line of `Label: Name` pairs (author, editor, reporter) |
//! | [`LineRole::FeedFooter`] | "The post … appeared first on …" and its relatives |
//! | [`LineRole::AutoNotice`] | the line speaks of itself (this story / in brackets) and says it was not edited by staff and comes from a feed or agency, or that it was generated automatically |
//!
//! A line that only *starts* like boilerplate ("Read also the report by …", "Share prices rose")
//! has none of these structures and stays. The vocabulary lives in [`vocab`]; adding a language
//! means adding its words there.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use unicode_normalization::UnicodeNormalization;

mod vocab;

/// What a non-article line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineRole {
    Teaser,
    ReadingTime,
    Timestamp,
    Prompt,
    Credit,
    Byline,
    FeedFooter,
    /// An auto-generated / unedited-syndication notice (the flag stage's evidence).
    AutoNotice,
}

impl LineRole {
    pub fn as_str(self) -> &'static str {
        match self {
            LineRole::Teaser => "teaser",
            LineRole::ReadingTime => "reading_time",
            LineRole::Timestamp => "timestamp",
            LineRole::Prompt => "prompt",
            LineRole::Credit => "credit",
            LineRole::Byline => "byline",
            LineRole::FeedFooter => "feed_footer",
            LineRole::AutoNotice => "auto_notice",
        }
    }
}

/// Which family of auto-generated notice a line belongs to (the flag rule id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFamily {
    /// "(This story has not been edited by … staff and is auto-generated from a syndicated feed.)"
    UneditedSyndicated,
    /// "This article was generated automatically …", AI / automation production notices.
    Automated,
}

impl NoticeFamily {
    pub fn rule_id(self) -> &'static str {
        match self {
            NoticeFamily::UneditedSyndicated => "builtin:unedited-syndicated",
            NoticeFamily::Automated => "builtin:automated",
        }
    }
}

/// A line with what the HTML said about it.
#[derive(Debug, Clone, Copy)]
pub struct LineInfo<'a> {
    pub text: &'a str,
    /// Characters of `text` that were inside `<a>` elements.
    pub link_chars: usize,
}

/// Case- and accent-insensitive form used for matching: NFKD, Latin combining accents dropped,
/// lowercased, curly quotes and apostrophes straightened, whitespace folded.
pub fn fold(s: &str) -> String {
    if s.is_ascii() { fold_ascii(s) } else { fold_any(s) }
}

/// [`fold`] of any text.
fn fold_any(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    let mut push = |c: char, out: &mut String| {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{02bc}' | '`' | '\u{b4}' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{ab}' | '\u{bb}' | '\u{201e}' => '"',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' {
            space = true;
            return;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    };
    for c in s.chars() {
        if c.is_ascii() {
            // Fast path: ASCII needs no decomposition.
            push(c, &mut out);
            continue;
        }
        // Per-character NFKD (the vocabulary is folded the same way, so both sides agree).
        for d in std::iter::once(c).nfkd() {
            if !('\u{300}'..='\u{36f}').contains(&d) {
                push(d, &mut out);
            }
        }
    }
    out
}

/// [`fold`] of an ASCII string (most lines): no decomposition, one byte at a time.
fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for b in s.bytes() {
        if char::from(b).is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(char::from(if b == b'`' { b'\'' } else { b.to_ascii_lowercase() }));
    }
    out
}

/// A word list compiled into one automaton. Entries match whole words when they start / end with
/// an ASCII letter or digit; an entry ending in `*` is a stem (no boundary needed at its end).
/// Scripts written without spaces (CJK, Thai) match anywhere.
struct Words {
    ac: AhoCorasick,
    /// Per pattern: (needs a word boundary before, needs one after).
    bounds: Vec<(bool, bool)>,
}

impl Words {
    fn new(words: &[&str]) -> Self {
        let mut folded = Vec::with_capacity(words.len());
        let mut bounds = Vec::with_capacity(words.len());
        for w in words {
            let (stem, open_end) = match w.strip_suffix('*') {
                Some(s) => (s, true),
                None => (*w, false),
            };
            let f = fold(stem);
            let first = f.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
            let last = f.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
            bounds.push((first, last && !open_end));
            folded.push(f);
        }
        #[allow(
            clippy::expect_used,
            reason = "built from our own constant word lists; every test run builds them"
        )]
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&folded)
            .expect("constant word lists always build an automaton");
        Words { ac, bounds }
    }

    /// The leftmost (then longest) whole-word match in `s`. Overlapping search, so that a longer
    /// pattern failing its boundary check ("automatica" in "automatically") does not hide a
    /// shorter one that passes ("automatic*").
    fn find(&self, s: &str) -> Option<aho_corasick::Match> {
        self.ac
            .find_overlapping_iter(s)
            .filter(|m| self.passes(s, m))
            .min_by_key(|m| (m.start(), std::cmp::Reverse(m.end())))
    }

    /// Whether any whole-word match is in `s` (stops at the first).
    fn is_match(&self, s: &str) -> bool {
        self.ac.find_overlapping_iter(s).any(|m| self.passes(s, &m))
    }

    fn passes(&self, s: &str, m: &aho_corasick::Match) -> bool {
        let (left, right) = self.bounds.get(m.pattern().as_usize()).copied().unwrap_or((false, false));
        let before_ok = !left || !s[..m.start()].chars().next_back().is_some_and(is_word_char);
        let after_ok = !right || !s[m.end()..].chars().next().is_some_and(is_word_char);
        before_ok && after_ok
    }
}

struct Vocab {
    teaser: Words,
    minutes: Words,
    reading: Words,
    timestamp: Words,
    verb: Words,
    channel: Words,
    platform: Words,
    share_self: Words,
    credit: Words,
    byline: Words,
    footer: Vec<regex::Regex>,
    self_ref: Words,
    self_lead: Words,
    neg_edit: Words,
    staff: Words,
    syndicated: Words,
    automatic: Words,
    generated: Words,
    syndicated_feed: Words,
    /// `neg_edit`, `automatic` and `syndicated_feed` in one automaton: the prefilter every line
    /// goes through scans it once.
    notice_terms: Words,
}

static VOCAB: LazyLock<Vocab> = LazyLock::new(|| Vocab {
    teaser: Words::new(vocab::TEASER_LABELS),
    minutes: Words::new(vocab::MINUTES),
    reading: Words::new(vocab::READING),
    timestamp: Words::new(vocab::TIMESTAMP_LABELS),
    verb: Words::new(vocab::PROMPT_VERBS),
    channel: Words::new(vocab::PROMPT_CHANNELS),
    platform: Words::new(vocab::PROMPT_PLATFORMS),
    share_self: Words::new(vocab::SHARE_SELF),
    credit: Words::new(vocab::CREDIT_LEADS),
    byline: Words::new(vocab::BYLINE_LABELS),
    footer: vocab::FEED_FOOTERS.iter().filter_map(|p| regex::Regex::new(p).ok()).collect(),
    self_ref: Words::new(vocab::SELF_REFERENCE),
    self_lead: Words::new(vocab::SELF_LEADS),
    neg_edit: Words::new(vocab::NEGATED_EDIT),
    staff: Words::new(vocab::STAFF),
    syndicated: Words::new(vocab::SYNDICATED),
    automatic: Words::new(vocab::AUTOMATIC),
    generated: Words::new(vocab::GENERATED),
    syndicated_feed: Words::new(vocab::SYNDICATED_FEED),
    notice_terms: Words::new(&[vocab::NEGATED_EDIT, vocab::AUTOMATIC, vocab::SYNDICATED_FEED].concat()),
});

/// Characters that decorate the start of a boilerplate line: bullets, arrows, brackets, bold marks.
fn is_decoration(c: char) -> bool {
    matches!(
        c,
        '*' | '>'
            | '»'
            | '›'
            | '•'
            | '·'
            | '-'
            | '–'
            | '—'
            | '['
            | '('
            | '|'
            | '#'
            | '►'
            | '▶'
            | '→'
            | '"'
            | '\''
            | ' '
    )
}

/// Separators between a label and what it introduces.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ':' | '：' | '|' | '-' | '–' | '—' | '»' | '›' | '>' | '/' | '•' | '.' | ',' | '►' | '▶' | '→'
    )
}

/// A character that continues a word; letters of scripts written without spaces (CJK, kana,
/// Thai) do not, so "ai" in "本文由ai生成" is a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_unspaced(c)
}

fn is_unspaced(c: char) -> bool {
    matches!(c as u32, 0x0E00..=0x0E7F | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Words in a line; scripts written without spaces (CJK, Thai) count one word per two characters.
fn word_count(s: &str) -> usize {
    if s.is_ascii() { word_count_ascii(s) } else { word_count_any(s) }
}

/// [`word_count`] of ASCII text: no unspaced scripts, words are runs between whitespace bytes.
fn word_count_ascii(s: &str) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for b in s.bytes() {
        let space = char::from(b).is_whitespace();
        words += usize::from(!space && !in_word);
        in_word = !space;
    }
    words
}

fn word_count_any(s: &str) -> usize {
    let unspaced = s.chars().filter(|c| is_unspaced(*c)).count();
    s.split_whitespace().count() + unspaced / 2
}

/// `needles` matches at the very start of `s` (after decorations); returns the rest.
fn strip_label<'s>(words: &Words, s: &'s str) -> Option<&'s str> {
    let trimmed = s.trim_start_matches(is_decoration);
    // Labels are short: search only the head of the line (plus one character for the boundary).
    let mut head_end = trimmed.len().min(96);
    while !trimmed.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let m = words.find(&trimmed[..head_end])?;
    (m.start() == 0).then(|| &trimmed[m.end()..])
}

/// Classifies each line of an item, in order. `lines` are the text lines (blank-line paragraph
/// breaks already removed) with their link share.
pub fn classify_lines(lines: &[LineInfo<'_>]) -> Vec<Classified> {
    let mut out = Vec::with_capacity(lines.len());
    // After a bare teaser heading ("Related stories"), following link-only lines are teasers.
    let mut in_teaser_list = false;
    for line in lines {
        let mut c = classify_line(line);
        if c.role.is_none() && in_teaser_list && is_link_line(line) {
            c.role = Some(LineRole::Teaser);
        }
        in_teaser_list = match c.role {
            Some(LineRole::Teaser) => in_teaser_list || is_bare_teaser_label(line.text),
            _ => false,
        };
        out.push(c);
    }
    out
}

/// What [`classify_lines`] found in a line: its role, and the notice in it (a notice line's, or
/// one inside a line of article text), located in the line as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classified {
    pub role: Option<LineRole>,
    /// `find_notice(line.text)`, computed once for both uses.
    pub notice: Option<NoticeSpan>,
}

fn is_link_line(line: &LineInfo<'_>) -> bool {
    let chars = line.text.chars().count();
    chars > 0 && line.link_chars * 10 >= chars * 8 && word_count(line.text) <= 30
}

fn is_bare_teaser_label(text: &str) -> bool {
    let f = fold(text);
    strip_label(&VOCAB.teaser, &f)
        .is_some_and(|rest| rest.trim_matches(|c: char| is_separator(c) || c == ' ').is_empty())
}

/// The role of one line, or `None` for article text.
pub fn classify(line: &LineInfo<'_>) -> Option<LineRole> {
    classify_line(line).role
}

fn classify_line(line: &LineInfo<'_>) -> Classified {
    let text = line.text.trim();
    if text.is_empty() {
        return Classified::default();
    }
    let f = fold(text);
    // `find_notice` folds the trimmed line too: where the prefilter fails, it finds nothing.
    let notice = if might_be_notice(&f) { find_notice(line.text) } else { None };
    let role = role_of(line, &f, notice.as_ref());
    Classified { role, notice }
}

/// The role of a line with some text: `f` is its folded form, `notice` the notice found in it.
fn role_of(line: &LineInfo<'_>, f: &str, notice: Option<&NoticeSpan>) -> Option<LineRole> {
    let words = word_count(f);
    // A line that opens with a notice is a notice line (the rest of such a block is the
    // notice's own fine print: "This story was reviewed by … Please send questions to …").
    // A notice later in a real paragraph is cut out by `clean` instead (see `find_notice`).
    if notice.is_some_and(|n| line.text[..n.range.start].trim().is_empty()) {
        return Some(LineRole::AutoNotice);
    }
    if words <= 30 && is_teaser(line, f) {
        return Some(LineRole::Teaser);
    }
    if words <= 8
        && f.chars().any(|c| c.is_ascii_digit())
        && VOCAB.minutes.is_match(f)
        && VOCAB.reading.is_match(f)
    {
        return Some(LineRole::ReadingTime);
    }
    if words <= 14 && f.chars().any(|c| c.is_numeric()) && is_timestamp(f) {
        return Some(LineRole::Timestamp);
    }
    if words <= 25 && is_prompt(f, words) {
        return Some(LineRole::Prompt);
    }
    if words <= 10 && is_credit(f) {
        return Some(LineRole::Credit);
    }
    if words <= 16 && is_byline(f) {
        return Some(LineRole::Byline);
    }
    if words <= 40 && VOCAB.footer.iter().any(|re| re.is_match(f)) {
        return Some(LineRole::FeedFooter);
    }
    None
}

fn is_teaser(line: &LineInfo<'_>, folded: &str) -> bool {
    let Some(rest) = strip_label(&VOCAB.teaser, folded) else { return false };
    let rest_trim = rest.trim_start();
    if rest_trim.is_empty() {
        // A bare label ("Related articles") is a heading of a teaser list.
        return true;
    }
    if rest_trim.starts_with(is_separator) {
        return true;
    }
    // No separator: a teaser only when what follows the label is a link ("À lire aussi <a>…</a>").
    let rest_chars = rest_trim.chars().count();
    line.link_chars * 10 >= rest_chars * 7
}

/// "Updated: May 6, 2024", "Publié le 09/05/2024": the label, then a separator, a date
/// preposition or a digit (so "Published figures show 5% growth" stays).
fn is_timestamp(f: &str) -> bool {
    let Some(rest) = strip_label(&VOCAB.timestamp, f) else { return false };
    let rest = rest.trim_start();
    rest.starts_with(is_separator)
        || rest.starts_with(|c: char| c.is_numeric())
        || ["on ", "at ", "le ", "el ", "em ", "am ", "pada ", "il ", "op ", "в "]
            .iter()
            .any(|p| rest.starts_with(p))
        || !rest.starts_with(|c: char| c.is_alphabetic())
}

/// A call to action: an imperative verb opening the line with a channel, or a named platform with
/// a verb anywhere (Hindi and Japanese put the verb last), or a bare short "Share this".
fn is_prompt(f: &str, words: usize) -> bool {
    let v = &*VOCAB;
    // The channel must follow the opening verb closely: "Download the app", not "Share prices
    // rose after the app was approved".
    let opening = || f.split_whitespace().take(7).collect::<Vec<_>>().join(" ");
    (strip_label(&v.verb, f).is_some() && {
        let head = opening();
        v.channel.is_match(&head) || v.platform.is_match(&head)
    }) || (v.platform.is_match(f) && v.verb.is_match(f))
        || (words <= 6 && strip_label(&v.share_self, f).is_some())
}

fn is_credit(f: &str) -> bool {
    let inner = f.trim_matches(|c: char| !c.is_alphanumeric());
    let is_agency_word = |w: &str| {
        vocab::AGENCIES.contains(&w)
            || ["agenc", "agentur", "agensi", "ajans"].iter().any(|p| w.starts_with(p))
    };
    let has_agency = inner.split(|c: char| !c.is_alphanumeric()).any(|w| is_agency_word(w) || w == "inputs");
    if !has_agency {
        return false;
    }
    if strip_label(&VOCAB.credit, inner).is_some() {
        return true;
    }
    // Only agency names and separators: "(AFP)", "AP / Reuters".
    inner
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| is_agency_word(w) || vocab::CREDIT_FILLERS.contains(&w))
}

fn is_byline(f: &str) -> bool {
    let Some(rest) = strip_label(&VOCAB.byline, f) else { return false };
    // "Penulis: X | Editor: Y", "Reporting by X; Editing by Y": a label, then names, no sentence.
    let rest = rest.trim_start();
    (rest.starts_with(':') || rest.starts_with('：') || f.contains(" by "))
        && !rest.trim_end_matches('.').contains(". ")
}

/// The notice family of a (folded) line, if it is an auto-generated / unedited notice.
pub fn notice_family(f: &str) -> Option<NoticeFamily> {
    let v = &*VOCAB;
    let bracketed = is_bracketed(f);
    let unbracketed = f.trim_start_matches(['(', '[', ' ', '*']);
    let speaks_of_itself =
        bracketed || v.self_ref.is_match(f) || strip_label(&v.self_lead, unbracketed).is_some();
    if !speaks_of_itself {
        return None;
    }
    if v.neg_edit.is_match(f)
        && (v.staff.is_match(f) || v.syndicated.is_match(f))
        && (v.syndicated.is_match(f) || v.automatic.is_match(f))
    {
        return Some(NoticeFamily::UneditedSyndicated);
    }
    if v.syndicated_feed.is_match(f) && v.generated.is_match(f) && word_count(f) <= 45 {
        return Some(NoticeFamily::UneditedSyndicated);
    }
    if v.automatic.is_match(f) && v.generated.is_match(f) && word_count(f) <= 45 {
        return Some(NoticeFamily::Automated);
    }
    None
}

/// True when a feed's source / publisher text names a news agency ("Press Trust of India", "AFP").
pub fn names_agency(text: &str) -> bool {
    let f = fold(text);
    f.split(|c: char| !c.is_alphanumeric()).any(|w| vocab::AGENCIES.contains(&w))
        || vocab::AGENCY_NAMES.iter().any(|n| f.contains(n))
}

/// Where a notice sits in a line, and which family it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSpan {
    pub family: NoticeFamily,
    /// Byte range of the notice in the line.
    pub range: std::ops::Range<usize>,
}

/// Sentences of a line as byte ranges (split after `.`, `!`, `?`, `।`, `;` followed by a space,
/// and after CJK full stops).
fn sentences(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        let boundary =
            matches!(c, '。' | '！' | '？') || (matches!(c, '.' | '!' | '?' | '।') && next_is_space);
        if boundary {
            // Keep a closing bracket or quote with its sentence.
            let mut stop = end;
            while let Some((j, n)) = chars.peek().copied() {
                if matches!(n, ')' | ']' | '"' | '”' | '’' | '）' | '」') {
                    stop = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            if !text[start..stop].trim().is_empty() {
                out.push(start..stop);
            }
            start = stop;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(start..text.len());
    }
    out
}

/// Trims a byte range to its non-space content.
fn trim_range(text: &str, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    (r.start + lead)..(r.end - trail).max(r.start + lead)
}

/// Cheap prefilter on a folded line: a notice needs a negated-edit or an automation term.
fn might_be_notice(f: &str) -> bool {
    VOCAB.notice_terms.is_match(f)
}

/// The notice in a line, if any: the whole line when it is a bracketed notice; else the first
/// sentence (or bracketed group) that opens with a self-reference ("This story …", "(Cerita ini …")
/// and says it is unedited / generated; else the whole line when it is one short sentence that
/// reads as a notice. A sentence inside quotation marks, or a description ("it says the story has
/// not been edited …"), is not a notice.
pub fn find_notice(text: &str) -> Option<NoticeSpan> {
    let v = &*VOCAB;
    let whole = trim_range(text, 0..text.len());
    if whole.is_empty() {
        return None;
    }
    let f = fold(&text[whole.clone()]);
    // Every notice says it was not edited or was made automatically: most lines stop here.
    if !might_be_notice(&f) {
        return None;
    }
    let words = word_count(&f);
    // 1. A bracketed notice at the end of a paragraph: "… helpline. (ANI) (This is an unedited …)".
    let mut candidates: Vec<std::ops::Range<usize>> = Vec::new();
    if is_bracketed(&f) {
        candidates.push(whole.clone());
    }
    if let Some(open) = last_bracket_group(&text[whole.clone()]) {
        candidates.push(trim_range(text, (whole.start + open)..whole.end));
    }
    // 2. Each sentence.
    let sentence_ranges = sentences(text);
    candidates.extend(sentence_ranges.iter().map(|r| trim_range(text, r.clone())));
    for r in candidates {
        let sentence = &text[r.clone()];
        let fs = fold(sentence);
        if word_count(&fs) > 70 || quoted(text, r.start) {
            continue;
        }
        let opener = fs.trim_start_matches(['(', '[', ' ', '*', '—', '-', '–', '（']);
        let opens_with_self = is_bracketed(&fs)
            || strip_label(&v.self_ref, opener).is_some()
            || strip_label(&v.self_lead, opener).is_some()
            || v.self_ref.find(opener).is_some_and(|m| {
                // "Except for the headline, this story …": a short lead-in, but not a reporting
                // clause ("The note reads: \"This story …").
                let lead = &opener[..m.start()];
                lead.split_whitespace().count() <= 3 && !lead.contains([':', '"', '\''])
            });
        if !opens_with_self {
            continue;
        }
        if let Some(family) = notice_family(&fs) {
            return Some(NoticeSpan { family, range: r });
        }
        // A notice told in two sentences: "ZEIT ONLINE hat diese Meldung redaktionell nicht
        // bearbeitet. Sie wurde automatisch von der dpa übernommen."
        if let Some(next) = sentence_ranges.iter().find(|n| n.start >= r.end) {
            let pair = r.start..trim_range(text, next.clone()).end;
            let fp = fold(&text[pair.clone()]);
            if word_count(&fp) <= 70
                && let Some(family) = notice_family(&fp)
            {
                return Some(NoticeSpan { family, range: pair });
            }
        }
    }
    // 3. One short sentence that speaks of itself anywhere.
    let has_quotes = f.contains(['"', '“', '”', '«', '»', '„']);
    if words <= 45
        && !has_quotes
        && sentences(text).len() <= 1
        && let Some(family) = notice_family(&f)
    {
        return Some(NoticeSpan { family, range: whole });
    }
    None
}

/// A notice that opens its line runs on over the following sentences that do not start a new
/// statement about the item ("… using data from Zacks. Access a Zacks stock report on X at …"
/// continues; "This story was reviewed by …" is a new statement).
pub fn extend_notice(text: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let v = &*VOCAB;
    let mut end = range.end;
    for r in sentences(text).into_iter().filter(|r| r.start >= range.end) {
        let r = trim_range(text, r);
        let f = fold(&text[r.clone()]);
        let opener = f.trim_start_matches(['(', '[', ' ', '*']);
        if strip_label(&v.self_ref, opener).is_some() || opener.starts_with("please") {
            break;
        }
        end = r.end;
    }
    range.start..end
}

/// True when the sentence starting at `at` sits inside quotation marks or after a reporting
/// colon ("… the note reads: …").
fn quoted(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end();
    let opens = before.chars().filter(|c| matches!(c, '"' | '“' | '«' | '„')).count();
    let closes = before.chars().filter(|c| matches!(c, '”' | '»')).count();
    let straight_open = before.chars().filter(|c| *c == '"').count() % 2 == 1;
    straight_open || opens > closes + before.chars().filter(|c| *c == '"').count() || {
        let tail = fold(&before.chars().rev().take(30).collect::<String>().chars().rev().collect::<String>());
        tail.ends_with(" reads:")
            || tail.ends_with(" says:")
            || tail.ends_with(" said:")
            || tail.ends_with(" note:")
    }
}

fn is_bracketed(f: &str) -> bool {
    let t = f.trim_end_matches(['.', ' ', '*']);
    (t.starts_with('(') && t.ends_with(')'))
        || (t.starts_with('[') && t.ends_with(']'))
        || (t.starts_with('（') && t.ends_with('）'))
}

/// Byte offset of the last top-level bracketed group when the text ends with it (and it is not
/// the whole text).
fn last_bracket_group(t: &str) -> Option<usize> {
    let t = t.trim_end();
    let trimmed = t.trim_end_matches('.');
    if !trimmed.ends_with(')') && !trimmed.ends_with(']') {
        return None;
    }
    let mut depth = 0i32;
    for (i, c) in trimmed.char_indices().rev() {
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' => {
                depth -= 1;
                if depth == 0 {
                    return (i > 0).then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
