//! Inputs the fuzzers (`fuzz/`) found, kept as regression tests: each runs through the stage it
//! broke, and no panic may happen, not even one caught inside (feed-rs runs under
//! `catch_unwind`, which would hide it). Files in `tests/fixtures/fuzz/` are named
//! `<target>-<what>.<ext>`.

use std::cell::Cell;

use feedsieve::model::{FetchedBody, RawItem};
use feedsieve::pipeline::clean::{CleanSettings, clean};
use feedsieve::pipeline::flag::{FlagSettings, flag};

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Panics raised on this thread while `f` runs (caught or not).
fn panics_in(f: impl FnOnce()) -> usize {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    let before = PANICS.with(Cell::get);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    PANICS.with(Cell::get) - before
}

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixtures").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty());
    let settings =
        CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None, fetched_at: None };
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let bytes = std::fs::read(&path).expect("read");
        let n = panics_in(|| match name.split('-').next() {
            Some("parse") => {
                let body = FetchedBody {
                    bytes: bytes.clone(),
                    content_type: None,
                    final_url: None,
                    http_status: Some(200),
                    etag: None,
                    last_modified: None,
                    fresh_for: None,
                    moved_to: None,
                };
                let parsed = feedsieve::pipeline::parse::parse(&body, 1 << 20).expect("the document reads");
                assert!(!parsed.feed.items.is_empty(), "{name}: items are found");
            }
            Some("clean" | "flag") => {
                let raw = RawItem {
                    guid: "f".into(),
                    content: Some(String::from_utf8_lossy(&bytes).into_owned()),
                    ..RawItem::default()
                };
                let c = clean(&raw, &settings);
                let _ = flag(&c, &FlagSettings { rules: &[], rule_set: None, builtin: true });
            }
            Some("config") => {
                let text = String::from_utf8_lossy(&bytes);
                let _ = feedsieve::config::load_text(
                    std::path::Path::new("/x/f.toml"),
                    &text,
                    Some(Default::default()),
                );
            }
            _ => panic!("{name}: unknown target prefix"),
        });
        assert_eq!(n, 0, "{name}: {n} panic(s)");
    }
}
