//! Any text as an item's HTML body (and as an article page): clean never panics, its text has no
//! markup left, and its sanitized HTML carries no script.
#![no_main]

use feedsieve::model::{Page, RawItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data).into_owned();
    let settings = feedsieve::pipeline::clean::CleanSettings {
        boilerplate: true,
        extra_patterns: &[],
        lang_hint: None,
        fetched_at: None,
    };
    let raw = RawItem {
        guid: "fuzz".into(),
        link: Some("https://fuzz.example/a?utm_source=x".into()),
        base_url: Some("https://fuzz.example/a".into()),
        content: Some(html.clone()),
        ..RawItem::default()
    };
    let cleaned = feedsieve::pipeline::clean::clean(&raw, &settings);
    if let Some(h) = &cleaned.item.html {
        assert!(!h.to_ascii_lowercase().contains("<script"), "script survived sanitizing: {h}");
    }
    // The same bytes as an article page.
    let ex = feedsieve::pipeline::page::extract(&html, "https://fuzz.example/a");
    let with_page = RawItem {
        page: Some(Page {
            url: "https://fuzz.example/a".into(),
            html: ex.html,
            meta: ex.meta,
            ..Page::default()
        }),
        ..raw
    };
    let _ = feedsieve::pipeline::clean::clean(&with_page, &settings);
});
