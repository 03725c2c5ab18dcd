//! Any text as a cleaned item: flag never panics, and a marker it reports is text of the item.
#![no_main]

use feedsieve::pipeline::clean::{CleanSettings, clean};
use feedsieve::pipeline::flag::{FlagSettings, flag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let raw = feedsieve::model::RawItem { guid: "fuzz".into(), content: Some(text), ..Default::default() };
    let settings =
        CleanSettings { boilerplate: false, extra_patterns: &[], lang_hint: None, fetched_at: None };
    let cleaned = clean(&raw, &settings);
    if let Some(f) = flag(&cleaned, &FlagSettings { rules: &[], rule_set: None, builtin: true }) {
        assert!(!f.marker.is_empty());
    }
    for line in cleaned.item.text.lines() {
        let _ = feedsieve::pipeline::classify::find_notice(line);
    }
});
