//! A bounded memo for the pure stages' costliest functions of text (language detection, dedup
//! keys). The same wire story reaches us from dozens of feeds within minutes, so recent inputs are
//! the ones that come back. Each memo keeps two generations of answers of up to `capacity` each:
//! when the current one is full it becomes the previous one (the older is dropped), and an answer
//! found in the previous one moves to the current one. So the latest `capacity` answers, and the
//! ones still asked for, are always kept, with no eviction bookkeeping on the hot path (emptying a
//! full memo at once forgot the stories that were still coming in). Keys are 128-bit hashes of the
//! input: a collision is out of reach at these sizes.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use xxhash_rust::xxh3::Xxh3;

pub struct Memo<V> {
    answers: LazyLock<Mutex<Generations<V>>>,
    capacity: usize,
}

struct Generations<V> {
    current: HashMap<u128, V>,
    previous: HashMap<u128, V>,
}

impl<V> Default for Generations<V> {
    fn default() -> Self {
        Generations { current: HashMap::new(), previous: HashMap::new() }
    }
}

impl<V: Clone> Generations<V> {
    fn insert(&mut self, key: u128, answer: V, capacity: usize) {
        if self.current.len() >= capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, answer);
    }

    fn get(&mut self, key: u128, capacity: usize) -> Option<V> {
        if let Some(known) = self.current.get(&key) {
            return Some(known.clone());
        }
        let known = self.previous.remove(&key)?;
        self.insert(key, known.clone(), capacity);
        Some(known)
    }
}

impl<V: Clone> Memo<V> {
    pub const fn new(capacity: usize) -> Self {
        Memo { answers: LazyLock::new(Default::default), capacity }
    }

    /// The remembered answer for `key`, else `compute()`'s (then remembered).
    pub fn get_or_compute(&self, key: u128, compute: impl FnOnce() -> V) -> V {
        if let Some(known) = self.answers.lock().ok().and_then(|mut m| m.get(key, self.capacity)) {
            return known;
        }
        let answer = compute();
        if let Ok(mut known) = self.answers.lock() {
            known.insert(key, answer.clone(), self.capacity);
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
    fn keeps_the_latest_answers_and_the_ones_still_asked_for() {
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
        assert_eq!(get(3, 30), 30, "current generation full: 1 and 2 become the previous one");
        assert_eq!(get(1, 11), 10, "found in the previous generation, moved to the current one");
        assert_eq!(get(4, 40), 40, "current full again: 3 and 1 become the previous one, 2 is dropped");
        assert_eq!(get(2, 21), 21, "forgotten");
        assert_eq!(get(1, 12), 10, "still asked for, still kept");
        assert_eq!(calls, 5);
    }

    #[test]
    fn keys_tell_parts_apart() {
        assert_ne!(key([None, Some("a")]), key([Some(""), Some("a")]));
        assert_ne!(key([Some("ab"), Some("c")]), key([Some("a"), Some("bc")]));
        assert_eq!(key([Some("a"), None]), key([Some("a"), None]));
    }
}
