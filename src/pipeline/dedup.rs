//! Stage 5, `dedup`: the keys that find other copies of the same story, and the rules that
//! decide whether a candidate is one. Pure: no I/O. The store stage looks candidates up by these
//! keys inside its write transaction and calls [`best_match`].
//!
//! - **Exact**: xxh3-128 of the normalized text (NFKC, lowercased, punctuation and whitespace
//!   folded; title + text when the text is short), or the same canonical URL.
//! - **Near**: a 64-value MinHash signature over word 3-shingles of the normalized text, banded
//!   for LSH (20 bands of 3 values), plus 10 bands of a second signature over the lede (the first
//!   30 shingles), so that abridged copies and copies with an added intro meet the full text. A
//!   candidate is verified by its estimated resemblance and by containment (an
//!   abridged copy is contained in the full wire text): similarity = max(resemblance,
//!   containment of the smaller in the larger), linked at `dedup.threshold` or above.
//! - **Translation**: a language-neutral fingerprint of the title and text: numbers with their
//!   separators and leading/trailing zeros removed (`1,250`, `1.250` and `1 250` are one
//!   feature; so are `180.000 millones` and `180 billion`) and capitalized words not at a
//!   sentence start, transliterated to ASCII (any_ascii) and lowercased. Scored by weighted overlap (numbers
//!   weigh 2, names 1) over the lighter side, only between different languages.
//!
//! Every hash here is xxh3 or a fixed mixing of it with constant seeds: the keys stored in the
//! database stay valid across versions and machines.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

use crate::model::{ContentHash, DuplicateKind};
use crate::pipeline::memo;

/// MinHash values per signature.
pub const SIGNATURE_LEN: usize = 64;
/// Values per LSH band.
const ROWS: usize = 3;
/// LSH bands over the whole text's signature (20 × 3 of its 64 values: pairs from a
/// resemblance of about 0.4 up become candidates).
const FULL_BANDS: usize = 20;
/// LSH bands over a second signature of the lede (the first `LEDE_SHINGLES` shingles), so that
/// an abridged or re-introduced copy, whose resemblance to the full text is low, still meets it.
const LEDE_BANDS: usize = 10;
const LEDE_SHINGLES: usize = 30;
/// Band keys per article.
pub const BANDS: usize = FULL_BANDS + LEDE_BANDS;
/// Words per shingle.
const SHINGLE: usize = 3;
/// Fewer distinct shingles than this: too short for near-duplicate detection.
const MIN_SHINGLES: usize = 8;
/// Fewer words than this: the text alone is too short to be an exact-duplicate key, so the
/// title is hashed with it.
const SHORT_TEXT_WORDS: usize = 25;
/// Fewer words than this in the key material: no exact matching at all.
const MIN_EXACT_WORDS: usize = 4;
/// Containment is only trusted when the smaller side has at least this many shingles.
const MIN_CONTAINMENT_SHINGLES: u32 = 20;
/// A translation needs at least this many shared fingerprint features.
const MIN_SHARED_FEATURES: usize = 3;

/// The dedup keys of one article.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DedupKey {
    /// Hash of the normalized text (exact-duplicate key).
    pub text_hash: ContentHash,
    /// Whether `text_hash` may be matched (enough words).
    pub exact: bool,
    /// MinHash signature; `None` for texts too short to compare.
    pub signature: Option<Vec<u32>>,
    /// Distinct shingles the signature was computed over.
    pub shingles: u32,
    /// LSH band keys of the signature.
    pub bands: Vec<i64>,
    /// Translation fingerprint: sorted, distinct feature hashes (the low bit marks numbers).
    pub fingerprint: Vec<i64>,
}

/// The keys of an article from its clean title and text. Remembered for the last few thousand
/// texts: the copies of a syndicated story reach us from dozens of feeds within minutes, and
/// the keys (normalizing, shingling, MinHash) are the costliest part of processing
/// an item.
pub fn dedup_key(title: Option<&str>, text: &str) -> DedupKey {
    KEYS.get_or_compute(memo::key([title, Some(text)]), || compute_key(title, text))
}

/// The keys of the last texts [`dedup_key`] saw (two generations of 2,048: ~3 MiB at most).
static KEYS: memo::Memo<DedupKey> = memo::Memo::new(2048);

fn compute_key(title: Option<&str>, text: &str) -> DedupKey {
    let normalized = normalize(text);
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    let (text_hash, exact) = if words.len() < SHORT_TEXT_WORDS {
        let material = normalize(&format!("{} {}", title.unwrap_or_default(), text));
        let n = material.split(' ').filter(|w| !w.is_empty()).count();
        (ContentHash::of(material.as_bytes()), n >= MIN_EXACT_WORDS)
    } else {
        (ContentHash::of(normalized.as_bytes()), true)
    };
    // Shingles of only short words ("one of the", "de la ville") are the glue of every text in
    // a language: left out, so that signatures and bands reflect the story, not the grammar.
    let long: Vec<bool> = words.iter().map(|w| w.chars().nth(3).is_some()).collect();
    let mut shingle = String::new();
    let ordered: Vec<u64> = (0..words.len().saturating_sub(SHINGLE - 1))
        .filter(|&i| long[i..i + SHINGLE].contains(&true))
        .map(|i| {
            // The words joined by single spaces, in a buffer reused from shingle to shingle.
            shingle.clear();
            for (n, w) in words[i..i + SHINGLE].iter().enumerate() {
                if n > 0 {
                    shingle.push(' ');
                }
                shingle.push_str(w);
            }
            xxh3_64(shingle.as_bytes())
        })
        .collect();
    let shingles: HashSet<u64> = ordered.iter().copied().collect();
    let (signature, bands) = if shingles.len() >= MIN_SHINGLES {
        let (sig, lede) = minhash(&ordered);
        let mut bands = band_keys(&sig[..FULL_BANDS * ROWS], 0);
        bands.extend(band_keys(&lede[..LEDE_BANDS * ROWS], 100));
        (Some(sig), bands)
    } else {
        (None, Vec::new())
    };
    DedupKey {
        text_hash,
        exact,
        signature,
        shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
        bands,
        fingerprint: fingerprint(title, text),
    }
}

/// `text` in NFKC; borrowed when it already is (ASCII and most text: the quick check is a scan,
/// the normalizing iterator is a fifth of the dedup key's cost).
fn nfkc(text: &str) -> std::borrow::Cow<'_, str> {
    match unicode_normalization::is_nfkc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(text.nfkc().collect()),
    }
}

/// NFKC, lowercase, every run of non-alphanumeric characters folded to one space.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() { normalize_ascii(text) } else { normalize_any(text) }
}

/// [`normalize`] of ASCII text: its own NFKC, its letters lowercase to one byte.
fn normalize_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            gap = true;
        }
    }
    out
}

fn normalize_any(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in nfkc(text).chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// splitmix64's finalizer: a fixed, well-mixed permutation of u64.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The constant seeds of the MinHash functions (never change: stored signatures depend on them).
fn seeds() -> [u64; SIGNATURE_LEN] {
    let mut out = [0u64; SIGNATURE_LEN];
    let mut state = 0x5eed_f00d_d00d_feed_u64;
    for s in &mut out {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        *s = mix(state);
    }
    out
}

/// The MinHash signatures of the shingle set of `ordered` and of its first [`LEDE_SHINGLES`]
/// (the lede's), in one pass: a minimum ignores repeats and order, so the lede's signature is
/// the running signature after its last shingle.
fn minhash(ordered: &[u64]) -> (Vec<u32>, Vec<u32>) {
    let seeds = seeds();
    let mut sig = vec![u32::MAX; SIGNATURE_LEN];
    let mut lede = None;
    for (i, &x) in ordered.iter().enumerate() {
        if i == LEDE_SHINGLES {
            lede = Some(sig.clone());
        }
        // Branch-free minimum: a compare-and-store mispredicts on every early shingle.
        for (slot, seed) in sig.iter_mut().zip(seeds) {
            *slot = (*slot).min((mix(x ^ seed) >> 32) as u32);
        }
    }
    let lede = lede.unwrap_or_else(|| sig.clone());
    (sig, lede)
}

/// One key per band of `ROWS` values; `first` numbers the bands (the lede's start at 100).
fn band_keys(sig: &[u32], first: u8) -> Vec<i64> {
    sig.chunks(ROWS)
        .enumerate()
        .map(|(band, rows)| {
            let mut bytes = Vec::with_capacity(1 + 4 * ROWS);
            bytes.push(first.saturating_add(u8::try_from(band).unwrap_or(u8::MAX)));
            for r in rows {
                bytes.extend_from_slice(&r.to_le_bytes());
            }
            xxh3_64(&bytes).cast_signed()
        })
        .collect()
}

/// A signature as stored (little-endian u32s).
pub fn signature_to_blob(sig: &[u32]) -> Vec<u8> {
    sig.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The inverse of [`signature_to_blob`]; `None` for a blob of the wrong size.
pub fn signature_from_blob(blob: &[u8]) -> Option<Vec<u32>> {
    (blob.len() == SIGNATURE_LEN * 4)
        .then(|| blob.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Fingerprint features as stored (little-endian i64s).
pub fn fingerprint_to_blob(fp: &[i64]) -> Vec<u8> {
    fp.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn fingerprint_from_blob(blob: &[u8]) -> Vec<i64> {
    blob.chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

/// Estimated resemblance (Jaccard) and containment of the smaller shingle set in the larger.
pub fn near_similarity(a: &[u32], a_shingles: u32, b: &[u32], b_shingles: u32) -> (f64, f64) {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    let j = same as f64 / SIGNATURE_LEN as f64;
    let small = a_shingles.min(b_shingles);
    let containment = if small >= MIN_CONTAINMENT_SHINGLES && j > 0.0 {
        (j * f64::from(a_shingles + b_shingles) / ((1.0 + j) * f64::from(small))).min(1.0)
    } else {
        j
    };
    (j, containment)
}

/// The language-neutral fingerprint of a story (see the module doc).
pub fn fingerprint(title: Option<&str>, text: &str) -> Vec<i64> {
    let mut out: Vec<i64> =
        fingerprint_terms(title, text).iter().map(|t| feature(t, t.starts_with("n:"))).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The fingerprint's features before hashing: `n:` + digits, `w:` + a transliterated name.
pub fn fingerprint_terms(title: Option<&str>, text: &str) -> std::collections::BTreeSet<String> {
    let mut features = std::collections::BTreeSet::new();
    for source in [title.unwrap_or_default(), text] {
        let chars: Vec<char> = nfkc(source).chars().collect();
        let mut i = 0;
        // At the start of a sentence a capital marks nothing: such words are not names.
        let mut sentence_start = true;
        while i < chars.len() {
            let c = chars[i];
            if digit_value(c).is_some() {
                // A number: digits with single separators between digit groups.
                let mut digits = String::new();
                while i < chars.len() {
                    let d = chars[i];
                    if let Some(v) = digit_value(d) {
                        digits.push(char::from_digit(v, 10).unwrap_or('0'));
                        i += 1;
                    } else if matches!(d, '.' | ',' | '\'' | ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
                        && chars.get(i + 1).is_some_and(|n| digit_value(*n).is_some())
                        && !digits.is_empty()
                    {
                        i += 1;
                    } else {
                        break;
                    }
                }
                // Leading and trailing zeros go: "180.000 millones" and "180 billion", "3.50"
                // and "3,5" are one feature.
                let digits = digits.trim_start_matches('0').trim_end_matches('0');
                if digits.len() >= 2 {
                    features.insert(format!("n:{digits}"));
                }
                sentence_start = false;
                continue;
            }
            if c.is_alphabetic() {
                let start = i;
                while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '-') {
                    i += 1;
                }
                let named = if has_case(c) { c.is_uppercase() && !sentence_start } else { true };
                if named {
                    let word: String = chars[start..i].iter().collect();
                    let ascii = any_ascii::any_ascii(&word).to_ascii_lowercase();
                    let ascii: String = ascii.chars().filter(char::is_ascii_alphanumeric).collect();
                    // Uncased scripts (CJK, Arabic …) carry no capital to mark names: only
                    // their longer transliterated runs are kept.
                    // (A long run is a whole phrase of a script written without spaces.)
                    let (min, max) = if has_case(c) { (3, 40) } else { (5, 12) };
                    if (min..=max).contains(&ascii.len()) && !is_common_capitalized(&ascii) {
                        features.insert(format!("w:{ascii}"));
                    }
                }
                sentence_start = false;
                continue;
            }
            if matches!(c, '.' | '!' | '?' | '\n' | ':' | '¿' | '¡' | '"' | '«' | '“' | '—' | '(' | '。')
            {
                sentence_start = true;
            }
            i += 1;
        }
    }
    features
}

/// The value of a decimal digit: ASCII (full-width digits are ASCII after NFKC), Arabic-Indic,
/// Persian and Devanagari.
fn digit_value(c: char) -> Option<u32> {
    let base = match c {
        '0'..='9' => '0',
        '\u{660}'..='\u{669}' => '\u{660}',
        '\u{6f0}'..='\u{6f9}' => '\u{6f0}',
        '\u{966}'..='\u{96f}' => '\u{966}',
        _ => return None,
    };
    Some(u32::from(c) - u32::from(base))
}

fn has_case(c: char) -> bool {
    c.is_uppercase() || c.is_lowercase()
}

/// Capitalized words that name nothing (sentence starts in many languages): not features.
fn is_common_capitalized(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "and"
            | "but"
            | "this"
            | "that"
            | "they"
            | "she"
            | "his"
            | "her"
            | "its"
            | "for"
            | "with"
            | "les"
            | "des"
            | "une"
            | "elle"
            | "ils"
            | "mais"
            | "dans"
            | "pour"
            | "der"
            | "die"
            | "das"
            | "und"
            | "ein"
            | "eine"
            | "sie"
            | "los"
            | "las"
            | "una"
            | "el"
            | "pero"
            | "para"
            | "con"
            | "dan"
            | "yang"
            | "ini"
            | "itu"
            | "uma"
            | "mas"
            | "gli"
            | "della"
            | "anche"
            | "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
    )
}

/// A feature's hash; the low bit is 1 for numbers.
fn feature(s: &str, number: bool) -> i64 {
    ((xxh3_64(s.as_bytes()) & !1) | u64::from(number)).cast_signed()
}

/// How alike two fingerprints are, and how many features they share: the weighted overlap
/// (numbers weigh 2, names 1) over the lighter side, and, when both sides carry at least two
/// numbers, no more than the share of the lighter side's numbers found in the other. Over the
/// lighter side because one language marks more words than another (German capitalizes every
/// noun; English its months and nationalities), and those extra features never match. The
/// numbers cap it because a follow-up story repeats names and a few background figures, while
/// a translation repeats nearly all of its figures.
pub fn translation_similarity(a: &[i64], b: &[i64]) -> (f64, usize) {
    let weight = |f: &i64| if f & 1 == 1 { 2.0 } else { 1.0 };
    let lighter = f64::min(a.iter().map(weight).sum(), b.iter().map(weight).sum());
    if lighter == 0.0 {
        return (0.0, 0);
    }
    let shared: Vec<&i64> = a.iter().filter(|f| b.binary_search(f).is_ok()).collect();
    let overlap = (shared.iter().copied().map(weight).sum::<f64>() / lighter).min(1.0);
    let numbers = |fp: &[i64]| fp.iter().filter(|f| *f & 1 == 1).count();
    let fewer_numbers = numbers(a).min(numbers(b));
    let score = if fewer_numbers >= 2 {
        let shared_numbers = shared.iter().filter(|f| **f & 1 == 1).count();
        overlap.min(shared_numbers as f64 / fewer_numbers as f64)
    } else {
        overlap
    };
    (score, shared.len())
}

/// Settings of the decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DedupSettings {
    pub near: bool,
    /// Near-duplicate similarity at or above which two texts are the same story.
    pub threshold: f64,
    pub cross_language: bool,
    /// Translation score at or above which two stories in different languages are one.
    pub translation_threshold: f64,
    /// Exact and near copies are compared only within this many days of each other.
    pub window_days: i64,
    /// Translations only within this many days.
    pub translation_window_days: i64,
}

impl DedupSettings {
    /// The settings of `[dedup]` (the translation threshold and window are fixed, see below).
    pub fn from_config(c: &crate::config::DedupConfig) -> DedupSettings {
        let window_days = i64::try_from(c.window.as_secs() / 86_400).unwrap_or(i64::MAX);
        DedupSettings {
            near: c.near,
            threshold: c.threshold,
            cross_language: c.cross_language,
            translation_threshold: TRANSLATION_THRESHOLD,
            window_days,
            translation_window_days: TRANSLATION_WINDOW_DAYS.min(window_days),
        }
    }
}

/// The translation threshold, chosen on our labelled cross-language pairs
/// (`tests/fixtures/dedup/translation_pairs.jsonl`) for precision >= 0.95.
pub const TRANSLATION_THRESHOLD: f64 = 0.6;
/// Translations are published close together: at most this many days apart.
pub const TRANSLATION_WINDOW_DAYS: i64 = 2;

/// Days since 1970-01-01 of an instant (the unit of the dedup windows).
pub fn story_day(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// What the store knows about an earlier article that shares a key with this one.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: i64,
    /// The root of its cluster (its `duplicate_of`, or itself).
    pub root: i64,
    pub lang: Option<String>,
    pub text_hash: ContentHash,
    pub exact: bool,
    pub canonical_url: Option<String>,
    pub signature: Option<Vec<u32>>,
    pub shingles: u32,
    pub fingerprint: Vec<i64>,
    /// [`story_day`] of its date (published, else fetched).
    pub day: i64,
}

/// The link decided for a new article: the root to point at, the kind and the similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub root: i64,
    pub kind: DuplicateKind,
    pub similarity: f64,
}

/// The best link for `key` (an article of `day`) among `candidates`: exact before near before
/// translation, the highest similarity within a kind, the earliest article on ties. Candidates
/// outside the windows are ignored.
pub fn best_match<'a>(
    key: &DedupKey,
    canonical_url: Option<&str>,
    lang: Option<&str>,
    day: i64,
    candidates: impl IntoIterator<Item = &'a Candidate>,
    settings: &DedupSettings,
) -> Option<Match> {
    let mut best: Option<(u8, f64, i64, i64)> = None;
    for c in candidates {
        let apart = (day - c.day).abs();
        if apart > settings.window_days {
            continue;
        }
        let exact = (key.exact && c.exact && c.text_hash == key.text_hash)
            || canonical_url.is_some_and(|u| c.canonical_url.as_deref() == Some(u));
        let found = if exact {
            Some((0u8, 1.0))
        } else if let (true, Some(a), Some(b)) = (settings.near, &key.signature, &c.signature) {
            let (j, containment) = near_similarity(a, key.shingles, b, c.shingles);
            let sim = j.max(containment);
            (sim >= settings.threshold).then_some((1, sim))
        } else {
            None
        };
        let found = found.or_else(|| {
            let different = matches!((lang, c.lang.as_deref()), (Some(x), Some(y)) if x != y);
            if !(settings.cross_language && different && apart <= settings.translation_window_days) {
                return None;
            }
            let (score, shared) = translation_similarity(&key.fingerprint, &c.fingerprint);
            (shared >= MIN_SHARED_FEATURES && score >= settings.translation_threshold).then_some((2, score))
        });
        let Some((rank, sim)) = found else { continue };
        let better = match best {
            None => true,
            Some((r, s, _, id)) => rank < r || rank == r && (sim > s || sim == s && c.id < id),
        };
        if better {
            best = Some((rank, sim, c.root, c.id));
        }
    }
    best.map(|(rank, similarity, root, _)| Match {
        root,
        kind: match rank {
            0 => DuplicateKind::Exact,
            1 => DuplicateKind::Near,
            _ => DuplicateKind::Translation,
        },
        similarity: (similarity * 1000.0).round() / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STORY: &str = "GENEVA (AP) — The World Health Organization said on Tuesday that 1,250 new cases were \
        reported across 14 countries last week, a 3.5% rise, and urged governments to expand testing. \
        Director-General Tedros Adhanom Ghebreyesus told reporters in Geneva that the increase was \
        concentrated in West Africa, where Nigeria and Ghana account for most infections. The agency \
        released 40 million dollars from its emergency fund and will send teams to Lagos and Accra.";

    fn settings() -> DedupSettings {
        DedupSettings {
            near: true,
            threshold: 0.5,
            cross_language: true,
            translation_threshold: TRANSLATION_THRESHOLD,
            window_days: 30,
            translation_window_days: TRANSLATION_WINDOW_DAYS,
        }
    }

    fn candidate(id: i64, title: &str, text: &str, lang: &str) -> Candidate {
        let k = dedup_key(Some(title), text);
        Candidate {
            id,
            root: id,
            lang: Some(lang.into()),
            text_hash: k.text_hash,
            exact: k.exact,
            canonical_url: None,
            signature: k.signature,
            shingles: k.shingles,
            fingerprint: k.fingerprint,
            day: 20_000,
        }
    }

    #[test]
    fn punctuation_case_and_spacing_do_not_change_the_key() {
        assert_eq!(
            dedup_key(None, "Hello, World!\n\nSecond  paragraph.").text_hash,
            dedup_key(None, "hello world — second paragraph").text_hash
        );
        assert_ne!(dedup_key(None, "hello world").text_hash, dedup_key(None, "hello there world").text_hash);
    }

    #[test]
    fn exact_near_abridged_and_unrelated() {
        let key = |t: &str| dedup_key(Some("t"), t);
        let pool = [candidate(1, "WHO", STORY, "en")];
        let m = best_match(&key(STORY), None, Some("en"), 20_000, &pool, &settings()).expect("exact");
        assert_eq!((m.kind, m.similarity), (DuplicateKind::Exact, 1.0));

        let edited =
            STORY.replace("urged governments", "called on governments").replace("Tuesday", "Wednesday");
        let m = best_match(&key(&edited), None, Some("en"), 20_000, &pool, &settings()).expect("near");
        assert_eq!(m.kind, DuplicateKind::Near);

        let abridged: String = STORY.split(". ").take(2).collect::<Vec<_>>().join(". ");
        let m = best_match(&key(&abridged), None, Some("en"), 20_000, &pool, &settings()).expect("contained");
        assert_eq!(m.kind, DuplicateKind::Near);
        assert!(m.similarity >= 0.5, "{m:?}");

        let other = "LONDON (Reuters) — British lawmakers voted on Thursday to approve a new budget for the \
            national rail network, ending months of debate over fares and the future of regional lines \
            that serve towns across the north of England and Scotland.";
        assert_eq!(best_match(&key(other), None, Some("en"), 20_000, &pool, &settings()), None);
    }

    #[test]
    fn a_translation_is_linked_only_across_languages() {
        let fr = "GENÈVE (AP) — L'Organisation mondiale de la santé a annoncé mardi que 1 250 nouveaux cas \
            avaient été signalés dans 14 pays la semaine dernière, soit une hausse de 3,5 %. Le directeur \
            général Tedros Adhanom Ghebreyesus a déclaré à Genève que la hausse se concentrait en Afrique \
            de l'Ouest, où le Nigeria et le Ghana comptent la plupart des infections. L'agence a débloqué \
            40 millions de dollars et enverra des équipes à Lagos et Accra.";
        let pool = [candidate(7, "WHO", STORY, "en")];
        let k = dedup_key(Some("OMS"), fr);
        let m = best_match(&k, None, Some("fr"), 20_000, &pool, &settings()).expect("translation");
        assert_eq!((m.kind, m.root), (DuplicateKind::Translation, 7));
        assert_eq!(best_match(&k, None, Some("en"), 20_000, &pool, &settings()), None, "same language");
        assert_eq!(best_match(&k, None, Some("fr"), 20_003, &pool, &settings()), None, "too far apart");
        let exact = dedup_key(Some("WHO"), STORY);
        assert_eq!(
            best_match(&exact, None, Some("en"), 20_031, &pool, &settings()),
            None,
            "outside the window"
        );
    }

    #[test]
    fn numbers_fold_their_separators() {
        let a = fingerprint(None, "1,250 and 3.5 and 1 250 000");
        let b = fingerprint(None, "1.250 y 3,5 y 1\u{a0}250\u{a0}000");
        assert_eq!(a, b);
        assert_eq!(fingerprint(None, "١٢٥٠"), fingerprint(None, "1250"));
    }

    #[test]
    fn blobs_round_trip() {
        let k = dedup_key(None, STORY);
        let sig = k.signature.expect("long enough");
        assert_eq!(signature_from_blob(&signature_to_blob(&sig)), Some(sig));
        assert_eq!(fingerprint_from_blob(&fingerprint_to_blob(&k.fingerprint)), k.fingerprint);
        assert_eq!(k.bands.len(), BANDS);
    }

    #[test]
    fn keys_are_stable_across_versions() {
        // Stored keys must never change: a changed hash silently breaks dedup of old articles.
        assert_eq!(mix(1), 6_238_072_747_940_578_789);
        let k = dedup_key(None, "one two three four five six seven eight nine ten eleven twelve");
        assert_eq!(k.bands[0], -498_732_728_702_232_117);
        assert_eq!(k.signature.map(|s| s[0]), Some(1_472_201_270));
    }

    proptest! {
        #[test]
        fn the_ascii_normalizer_agrees_with_the_general_one(s in "[ -~\t\n]{0,80}") {
            prop_assert_eq!(normalize_ascii(&s), normalize_any(&s));
        }

        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,200}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn one_pass_minhash_is_the_minhash_of_both_sets(ordered in prop::collection::vec(0u64..80, 0..120)) {
            // The definition: a signature is the per-seed minimum over a set of shingles.
            let of_set = |set: HashSet<u64>| -> Vec<u32> {
                seeds().iter().map(|seed| set.iter().map(|&x| (mix(x ^ seed) >> 32) as u32).min().unwrap_or(u32::MAX)).collect()
            };
            let (full, lede) = minhash(&ordered);
            prop_assert_eq!(full, of_set(ordered.iter().copied().collect()));
            prop_assert_eq!(lede, of_set(ordered.iter().copied().take(LEDE_SHINGLES).collect()));
        }

        #[test]
        fn similarity_is_symmetric_and_bounded(a in "[a-e ]{0,300}", b in "[a-e ]{0,300}") {
            let (ka, kb) = (dedup_key(None, &a), dedup_key(None, &b));
            if let (Some(x), Some(y)) = (&ka.signature, &kb.signature) {
                let s1 = near_similarity(x, ka.shingles, y, kb.shingles);
                let s2 = near_similarity(y, kb.shingles, x, ka.shingles);
                prop_assert_eq!(s1, s2);
                prop_assert!((0.0..=1.0).contains(&s1.0) && (0.0..=1.0).contains(&s1.1));
            }
        }
    }
}
