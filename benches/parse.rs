//! What the parsing layer (decode, reference repair, item count, ids, extras) costs over raw
//! feed-rs on documents feed-rs already reads. Two inputs:
//! - generated RSS 2.0, Atom and JSON Feed documents of 50 items each, whose item HTML is our
//!   cleaning corpus (`tests/fixtures/cleaning/dev.jsonl`);
//! - when `FEEDSIEVE_FEED_CORPUS` points at the shared feed corpus, every file of it that raw
//!   feed-rs reads with all its items (the corpus is not part of this repository).
//!
//! Run: `cargo bench --bench parse` (add `FEEDSIEVE_FEED_CORPUS=../shared/corpus/feeds`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedsieve::model::FetchedBody;
use feedsieve::pipeline::parse::parse;

fn articles() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cleaning/dev.jsonl");
    #[allow(clippy::disallowed_methods, reason = "a small fixture of our own")]
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["content_html"].as_str().map(str::to_owned))
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn generated() -> Vec<(&'static str, Vec<u8>)> {
    let html = articles();
    assert!(!html.is_empty(), "the cleaning corpus fixture is missing");
    let pick = |i: usize| html[i % html.len()].as_str();
    let mut rss = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>Wire</title>\
         <link>https://news.example.org/</link><language>en</language>\n",
    );
    let mut atom = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Wire</title>\
         <id>urn:wire</id><updated>2026-11-28T10:00:00Z</updated><link href=\"https://news.example.org/\"/>\n",
    );
    let mut items = Vec::new();
    for i in 0..50 {
        rss.push_str(&format!(
            "<item><title>Story {i}: markets &amp; policy</title><link>https://news.example.org/2026/11/story-{i}</link>\
             <guid isPermaLink=\"false\">story-{i}</guid><pubDate>Sat, 28 Nov 2026 10:{:02}:00 GMT</pubDate>\
             <dc:creator>Desk {i}</dc:creator><category>World</category><description>Summary {i}</description>\
             <content:encoded><![CDATA[{}]]></content:encoded></item>\n",
            i % 60,
            pick(i)
        ));
        atom.push_str(&format!(
            "<entry><id>urn:story:{i}</id><title type=\"html\">Story {i}</title>\
             <link rel=\"alternate\" href=\"https://news.example.org/2026/11/story-{i}\"/>\
             <updated>2026-11-28T10:{:02}:00Z</updated><author><name>Desk</name></author>\
             <content type=\"html\">{}</content></entry>\n",
            i % 60,
            escape(pick(i))
        ));
        items.push(serde_json::json!({
            "id": format!("story-{i}"), "url": format!("https://news.example.org/2026/11/story-{i}"),
            "title": format!("Story {i}"), "content_html": pick(i), "date_published": "2026-11-28T10:00:00Z"
        }));
    }
    rss.push_str("</channel></rss>\n");
    atom.push_str("</feed>\n");
    let json =
        serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": items});
    vec![("rss2", rss.into_bytes()), ("atom", atom.into_bytes()), ("json", json.to_string().into_bytes())]
}

/// Files of the shared corpus that raw feed-rs reads with every visible item.
fn corpus() -> Vec<Vec<u8>> {
    let Some(dir) = std::env::var_os("FEEDSIEVE_FEED_CORPUS") else { return Vec::new() };
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let mut out = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            #[allow(clippy::disallowed_methods, reason = "bench input from a local corpus")]
            let Ok(bytes) = std::fs::read(&p) else { continue };
            let ok = std::panic::catch_unwind(|| feed_rs::parser::parse(&bytes[..]).map(|f| f.entries.len()));
            let visible = String::from_utf8_lossy(&bytes).matches("<item").count()
                + String::from_utf8_lossy(&bytes).matches("<entry").count();
            if matches!(ok, Ok(Ok(n)) if n > 0 && n >= visible) {
                out.push(bytes);
            }
        }
    }
    out
}

fn body(bytes: &[u8]) -> FetchedBody {
    FetchedBody {
        bytes: bytes.to_vec(),
        content_type: None,
        final_url: Some("https://news.example.org/feed".into()),
        http_status: Some(200),
        etag: None,
        last_modified: None,
        fresh_for: None,
        moved_to: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let mut inputs: Vec<(String, Vec<Vec<u8>>)> =
        generated().into_iter().map(|(name, doc)| (format!("{name} 50 items"), vec![doc])).collect();
    let files = corpus();
    if !files.is_empty() {
        inputs.push((format!("corpus ({} files feed-rs reads)", files.len()), files));
    }
    for (name, docs) in &inputs {
        let bytes: usize = docs.iter().map(Vec::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(format!("{name}: raw feed-rs"), |b| {
            b.iter(|| {
                for d in docs {
                    black_box(feed_rs::parser::parse(black_box(&d[..])).is_ok());
                }
            });
        });
        let bodies: Vec<FetchedBody> = docs.iter().map(|d| body(d)).collect();
        g.bench_function(format!("{name}: feedsieve parse"), |b| {
            b.iter(|| {
                for body in &bodies {
                    black_box(parse(black_box(body), 1 << 26).is_ok());
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
