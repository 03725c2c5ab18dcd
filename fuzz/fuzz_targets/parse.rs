//! Any bytes as a fetched feed body: parse never panics, and every item it returns goes through
//! the pure stages (clean, flag, dedup keys) without panicking.
#![no_main]

use feedsieve::model::FetchedBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = FetchedBody {
        bytes: data.to_vec(),
        content_type: None,
        final_url: Some("https://fuzz.example/feed.xml".into()),
        http_status: Some(200),
        etag: None,
        last_modified: None,
        fresh_for: None,
        moved_to: None,
    };
    if let Ok(parsed) = feedsieve::pipeline::parse::parse(&body, 1 << 20) {
        let settings = feedsieve::pipeline::clean::CleanSettings {
            boilerplate: true,
            extra_patterns: &[],
            lang_hint: None,
            fetched_at: None,
        };
        for item in parsed.feed.items.iter().take(20) {
            let cleaned = feedsieve::pipeline::clean::clean(item, &settings);
            let _ = feedsieve::pipeline::dedup::dedup_key(cleaned.item.title.as_deref(), &cleaned.item.text);
        }
    }
});
