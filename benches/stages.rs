//! Throughput of the pure stages on realistic article HTML: the 41 articles of our cleaning
//! corpus (`tests/fixtures/cleaning/dev.jsonl`), cleaned, flagged and keyed one after another.
//! Run: `cargo bench --bench stages`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use feedsieve::config::FlagRule;
use feedsieve::model::RawItem;
use feedsieve::pipeline::classify::{LineInfo, classify_lines};
use feedsieve::pipeline::clean::{CleanSettings, clean};
use feedsieve::pipeline::dedup::dedup_key;
use feedsieve::pipeline::flag::{FlagSettings, flag};

fn corpus() -> Vec<RawItem> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cleaning/dev.jsonl");
    #[allow(clippy::disallowed_methods, reason = "a small fixture of our own")]
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| RawItem {
            guid: v["id"].as_str().unwrap_or_default().to_string(),
            link: Some("https://example.org/news/article".into()),
            content: v["content_html"].as_str().map(str::to_owned),
            base_url: Some("https://example.org/news/article".into()),
            ..RawItem::default()
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let items = corpus();
    assert!(!items.is_empty(), "the cleaning corpus fixture is missing");
    let bytes: usize = items.iter().map(|i| i.content.as_deref().map_or(0, str::len)).sum();
    let settings =
        CleanSettings { boilerplate: true, extra_patterns: &[], lang_hint: None, fetched_at: None };
    let cleaned: Vec<_> = items.iter().map(|i| clean(i, &settings)).collect();

    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Bytes(bytes as u64));
    // Language detection and dedup keys are remembered per text (`pipeline/memo.rs`): each
    // round gets texts of its own (a numbered first paragraph), so that it measures the work
    // and not the memo.
    let round = std::cell::Cell::new(0u64);
    let fresh = |items: &[RawItem]| -> Vec<RawItem> {
        round.set(round.get() + 1);
        items
            .iter()
            .map(|i| RawItem {
                content: i
                    .content
                    .as_deref()
                    .map(|c| format!("<p>Round {} of the bench.</p>{c}", round.get())),
                ..i.clone()
            })
            .collect()
    };
    g.bench_function("clean (41 articles)", |b| {
        b.iter_batched(
            || fresh(&items),
            |fresh| {
                for i in &fresh {
                    black_box(clean(black_box(i), &settings));
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("flag (per article)", |b| {
        b.iter(|| {
            cleaned
                .iter()
                .filter(|c| {
                    flag(black_box(c), &FlagSettings { rules: &[], rule_set: None, builtin: true }).is_some()
                })
                .count()
        });
    });
    // 50 user rules of the realistic kind (outlet-specific phrasings), through the set prefilter.
    let rules: Vec<FlagRule> = (0..50)
        .map(|i| FlagRule {
            id: format!("outlet-{i}"),
            regex: regex::Regex::new(&format!(
                "(?i)generated automatically by outlet{i} robots|outlet{i} wire desk"
            ))
            .unwrap_or_else(|_| regex::Regex::new("$^").unwrap_or_else(|_| unreachable!())),
        })
        .collect();
    let set = regex::RegexSet::new(rules.iter().map(|r| r.regex.as_str())).ok();
    g.bench_function("flag with 50 user rules (per article)", |b| {
        let s = FlagSettings { rules: &rules, rule_set: set.as_ref(), builtin: true };
        b.iter(|| cleaned.iter().filter(|c| flag(black_box(c), &s).is_some()).count());
    });
    g.bench_function("classify lines (per article)", |b| {
        let lines: Vec<Vec<String>> =
            cleaned.iter().map(|c| c.item.text.lines().map(str::to_owned).collect()).collect();
        b.iter(|| {
            for l in &lines {
                let infos: Vec<LineInfo<'_>> =
                    l.iter().map(|t| LineInfo { text: t, link_chars: 0 }).collect();
                black_box(classify_lines(&infos));
            }
        });
    });
    g.bench_function("dedup key (per article)", |b| {
        b.iter_batched(
            || {
                round.set(round.get() + 1);
                cleaned
                    .iter()
                    .map(|c| format!("Round {} of the bench. {}", round.get(), c.item.text))
                    .collect::<Vec<_>>()
            },
            |texts| {
                for t in &texts {
                    black_box(dedup_key(None, black_box(t)));
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// Article page extraction (`full_text`) on our 12 labelled pages: decode, extract, metadata.
fn pages(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pages");
    let mut pages: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "html")).collect()
        })
        .unwrap_or_else(|_| Vec::new())
        .into_iter()
        .filter_map(|p: std::path::PathBuf| std::fs::read(p).ok())
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "the labelled pages fixture is missing");
    let mut g = c.benchmark_group("pages");
    g.throughput(Throughput::Elements(pages.len() as u64));
    g.bench_function("decode + extract + metadata (per page)", |b| {
        b.iter(|| {
            for p in &pages {
                let html = feedsieve::pipeline::page::decode_html(black_box(p), Some("text/html"));
                black_box(feedsieve::pipeline::page::extract(&html, "https://news.example/a/b"));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, stages, pages);
criterion_main!(benches);
