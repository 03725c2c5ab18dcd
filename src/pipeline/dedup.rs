//! Stage 5, `dedup`: the keys that find other copies of the same story. Pure: no I/O.
//!
//! This version computes the exact-duplicate key: xxh3-128 of the normalized text (NFKC,
//! lowercased, punctuation and whitespace folded), stored as `articles.text_hash`. Linking a copy
//! to the first-seen article (exact, near, translation) happens in the store stage's transaction,
//! which looks candidates up by these keys; near-duplicate and translation keys are added here.

use unicode_normalization::UnicodeNormalization;

use crate::model::{ContentHash, DedupKey};

/// The dedup keys of a clean text.
pub fn dedup_key(text: &str) -> DedupKey {
    DedupKey { text_hash: ContentHash::of(normalize(text).as_bytes()) }
}

/// NFKC, lowercase, every run of non-alphanumeric characters folded to one space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn punctuation_case_and_spacing_do_not_change_the_key() {
        assert_eq!(
            dedup_key("Hello, World!\n\nSecond  paragraph."),
            dedup_key("hello world — second paragraph")
        );
        assert_ne!(dedup_key("hello world"), dedup_key("hello there world"));
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,200}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }
    }
}
