//! A bounded memo for the pure stages' costliest functions of text (language detection, dedup
//! keys). The same wire story reaches us from dozens of feeds within minutes, so recent inputs are
//! the ones that come back: each memo keeps its last `capacity` answers and is emptied when full
//! (no eviction bookkeeping on the hot path). Keys are 128-bit hashes of the input: a collision
//! is out of reach at these sizes.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use xxhash_rust::xxh3::Xxh3;

pub struct Memo<V> {
    answers: LazyLock<Mutex<HashMap<u128, V>>>,
    capacity: usize,
}

impl<V: Clone> Memo<V> {
    pub const fn new(capacity: usize) -> Self {
        Memo { answers: LazyLock::new(Default::default), capacity }
    }

    /// The remembered answer for `key`, else `compute()`'s (then remembered).
    pub fn get_or_compute(&self, key: u128, compute: impl FnOnce() -> V) -> V {
        if let Some(known) = self.answers.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return known;
        }
        let answer = compute();
        if let Ok(mut known) = self.answers.lock() {
            if known.len() >= self.capacity {
                known.clear();
            }
            known.insert(key, answer.clone());
        }
        answer
    }
}

/// The memo key of a sequence of texts (`None` and `Some("")` differ; so do different splits of
/// the same characters).
pub fn key<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> u128 {
    let mut h = Xxh3::new();
    for part in parts {
        match part {
            // 0xFE and 0xFF never occur in UTF-8: unambiguous separators.
            None => h.update(&[0xfe]),
            Some(s) => {
                h.update(s.as_bytes());
                h.update(&[0xff]);
            }
        }
    }
    h.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets_when_full() {
        static M: Memo<u32> = Memo::new(2);
        let mut calls = 0;
        let mut get = |k: u128, v: u32| {
            M.get_or_compute(k, || {
                calls += 1;
                v
            })
        };
        assert_eq!(get(1, 10), 10);
        assert_eq!(get(1, 99), 10, "remembered");
        assert_eq!(get(2, 20), 20);
        assert_eq!(get(3, 30), 30, "full: emptied, then remembered");
        assert_eq!(get(1, 11), 11, "forgotten");
        assert_eq!(calls, 4);
    }

    #[test]
    fn keys_tell_parts_apart() {
        assert_ne!(key([None, Some("a")]), key([Some(""), Some("a")]));
        assert_ne!(key([Some("ab"), Some("c")]), key([Some("a"), Some("bc")]));
        assert_eq!(key([Some("a"), None]), key([Some("a"), None]));
    }
}
