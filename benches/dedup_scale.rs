//! Dedup at scale: the per-item cost of writing new articles (dedup lookups, links and keys
//! included) when the store already holds 10^4, 10^5 and 10^6 articles. The store is filled with
//! synthetic wire stories through the real write path, as a deployment fills it over time: at a
//! steady rate (`DEDUP_PER_DAY`, default 285 articles a day, so that even the smallest store
//! spans more than the 30-day dedup window, and 10^6 articles are 9.6 years of history). What
//! must stay flat is the cost of a new article as history accumulates; a store younger than the
//! window costs less because its window is not full yet. Then probe batches of 200 items (half
//! new stories, a quarter lightly edited copies and a quarter exact copies of articles from the
//! last 30 days) are timed, with dedup on and with near/translation lookups off.
//!
//! Run: `cargo bench --bench dedup_scale` (`DEDUP_SCALE_MAX=100000` for a quicker run). Prints
//! the per-item figures, their ratio from the smallest to the largest store, and the database
//! size.

use std::time::{Duration, Instant};

use feedsieve::config::Config;
use feedsieve::db::{DEDUP_TIME, FeedBatch, Store};
use feedsieve::model::{Article, CleanItem, ItemOutcome, ParsedFeed, RawItem, Timestamp};
use feedsieve::pipeline::dedup::{DedupSettings, dedup_key};

const SEED: u64 = 42;
const FILL_BATCH: usize = 1_000;
const PROBE_BATCH: usize = 200;
const PROBE_ROUNDS: usize = 5;
/// Articles stored per simulated day (default; `DEDUP_PER_DAY`).
const PER_DAY: u64 = 285;

/// Deterministic synthetic story text number `n` (so copies can be regenerated, not kept).
fn story(vocab: &[String], names: &[String], n: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(SEED ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut sentences = Vec::new();
    for _ in 0..rng.usize(6..10) {
        let mut words = Vec::new();
        for i in 0..rng.usize(12..22) {
            let u = rng.f64();
            if i > 0 && rng.u8(..10) == 0 {
                words.push(names[rng.usize(..names.len())].clone());
            } else if rng.u8(..15) == 0 {
                words.push(rng.u32(10..100_000).to_string());
            } else {
                words.push(vocab[((u * u * u) * vocab.len() as f64) as usize].clone());
            }
        }
        sentences.push(words.join(" ") + ".");
    }
    sentences.join(" ")
}

fn article(guid: String, text: String, day: i64) -> ItemOutcome {
    let published = chrono::DateTime::from_timestamp(day * 86_400 + 3_600, 0).unwrap_or_default();
    let title = text.split(' ').take(6).collect::<Vec<_>>().join(" ");
    let dedup = dedup_key(Some(&title), &text);
    ItemOutcome::Article(Box::new(Article {
        raw: RawItem {
            guid: guid.clone(),
            title: Some(title.clone()),
            content: Some(text.clone()),
            ..RawItem::default()
        },
        clean: CleanItem {
            guid,
            url: None,
            canonical_url: None,
            title: Some(title),
            author: None,
            published_at: Some(Timestamp(published)),
            updated_at: None,
            lang: Some("en".into()),
            text: text.into(),
            html: None,
        },
        flag: None,
        dedup,
        syndication: None,
    }))
}

async fn write(
    store: &Store,
    feed_id: i64,
    feed: &ParsedFeed,
    outcomes: Vec<ItemOutcome>,
    dedup: DedupSettings,
) -> Duration {
    let now = Timestamp::now();
    let batch = FeedBatch {
        feed_id,
        fetched_at: now,
        feed: feed.clone(),
        body_hash: String::new(),
        bytes: 0,
        adaptive: None,
        http_status: Some(200),
        etag: None,
        last_modified: None,
        next_poll_at: now,
        next_poll_reason: "bench",
        dedup,
        outcomes: outcomes.into_iter().map(feedsieve::db::StagedItem::from).collect(),
        pruned_seen: Vec::new(),
    };
    let started = Instant::now();
    if let Err(e) = store.write_batch(batch).await {
        eprintln!("write failed: {e}");
    }
    started.elapsed()
}

fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let max: usize = std::env::var("DEDUP_SCALE_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("bench.toml");
    std::fs::write(
        &config_path,
        "[database]\npath = \"bench.db\"\n[[feeds]]\nurl = \"https://wire.example/feed.xml\"\nname = \"wire\"\n",
    )?;
    let config: Config = feedsieve::config::load(&config_path)?;
    let store = Store::open(&config.database.path).await?;
    let rows = store.sync_feeds(&config.feeds).await?;
    let feed_id = rows.values().next().map(|r| r.id).ok_or("no feed row")?;
    let feed = ParsedFeed::default();
    let on = DedupSettings::from_config(&config.dedup);
    let off = DedupSettings { near: false, cross_language: false, ..on };

    let mut rng = fastrand::Rng::with_seed(SEED);
    let syll =
        ["ka", "ro", "mi", "te", "sa", "lo", "ne", "vi", "du", "pa", "ri", "go", "le", "tha", "mon", "est"];
    let word =
        |rng: &mut fastrand::Rng, n: usize| (0..n).map(|_| syll[rng.usize(..syll.len())]).collect::<String>();
    let vocab: Vec<String> = (0..5000).map(|i| word(&mut rng, 1 + i % 3 + usize::from(i > 300))).collect();
    let names: Vec<String> = (0..2000)
        .map(|_| {
            let w = word(&mut rng, 3);
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        })
        .collect();
    let per_day: u64 = std::env::var("DEDUP_PER_DAY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(PER_DAY);
    // Day of stored article k: the store grows in time order and ends about today.
    let first_day = chrono::Utc::now().timestamp().div_euclid(86_400) - (max as u64 / per_day) as i64 - 10;
    let day_of = |k: u64| first_day + (k / per_day) as i64;
    eprintln!("dedup_scale: {per_day} articles a day");

    let mut stored: u64 = 0;
    let mut probe: u64 = 0;
    let mut results: Vec<(usize, f64, f64, u64)> = Vec::new();
    for target in [10_000usize, 100_000, 1_000_000].into_iter().filter(|t| *t <= max) {
        let filling = Instant::now();
        while (stored as usize) < target {
            let n = FILL_BATCH.min(target - stored as usize);
            let outcomes = (0..n as u64)
                .map(|i| {
                    let id = stored + i;
                    article(format!("s-{id}"), story(&vocab, &names, id), day_of(id))
                })
                .collect();
            write(&store, feed_id, &feed, outcomes, on).await;
            stored += n as u64;
        }
        eprintln!("filled to {target} in {:.1} s", filling.elapsed().as_secs_f64());
        let mut timed = [Duration::ZERO; 2];
        let mut dedup_only = Duration::ZERO;
        for round in 0..PROBE_ROUNDS * 2 {
            let settings = if round % 2 == 0 { on } else { off };
            let outcomes = (0..PROBE_BATCH as u64)
                .map(|i| {
                    probe += 1;
                    let guid = format!("p-{probe}");
                    // A copy of a story from the last 30 days.
                    let of = stored - 1 - rng.u64(..stored.min(30 * per_day));
                    let today = day_of(stored);
                    match i % 4 {
                        0 | 1 => article(guid, story(&vocab, &names, 10_000_000 + probe), today),
                        2 => {
                            let text = story(&vocab, &names, of).replacen(' ', " said ", 3);
                            article(guid, text, day_of(of))
                        }
                        _ => article(guid, story(&vocab, &names, of), day_of(of)),
                    }
                })
                .collect();
            let (before, _) = DEDUP_TIME.totals();
            timed[round % 2] += write(&store, feed_id, &feed, outcomes, settings).await;
            if round % 2 == 0 {
                dedup_only += DEDUP_TIME.totals().0 - before;
            }
        }
        let per_item = |d: Duration| d.as_secs_f64() * 1e6 / (PROBE_ROUNDS * PROBE_BATCH) as f64;
        let db = file_size(&config.database.path);
        println!(
            "dedup_scale: {target:>9} stored: dedup {:>6.1} µs/item (lookups, links, key rows); whole write {:>7.1} µs/item \
             ({:>7.1} with near/translation lookups off); database {:.0} MiB",
            per_item(dedup_only),
            per_item(timed[0]),
            per_item(timed[1]),
            db as f64 / 1_048_576.0
        );
        results.push((target, per_item(dedup_only), per_item(timed[0]), db));
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        println!(
            "dedup_scale: largest / smallest store: dedup {:.2}x, whole write {:.2}x",
            last.1 / first.1,
            last.2 / first.2
        );
    }
    store.close().await;
    Ok(())
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("dedup_scale failed: {e}");
        std::process::exit(1);
    }
}
