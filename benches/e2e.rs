//! End-to-end ingest benchmark (issue 9): a seeded generator writes N feeds × M items (RSS 2.0,
//! Atom and JSON Feed in turn; realistic article HTML with injected teasers, reading-time lines
//! and share prompts; notices on some items; syndicated copies across feeds, exact and edited),
//! a local HTTP server on 50 loopback addresses serves them, and one `feedsieve run --once` of
//! the release binary ingests them all. Reported: items/s, CPU seconds, peak RSS, database
//! size; and the floor on the same items (feed-rs parse plus a bare bulk insert of the same
//! rows into SQLite, in this process) with the ratio pipeline/floor.
//!
//! Run: `cargo bench --bench e2e` (sizes `E2E_SIZES=500x40,2000x50`, the default).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::cpu;

const HOSTS: usize = 50;
const SEED: u64 = 9;

const WORDS: &[&str] = &[
    "council",
    "river",
    "budget",
    "bridge",
    "school",
    "minister",
    "harbour",
    "strike",
    "wage",
    "union",
    "farmers",
    "harvest",
    "rain",
    "drought",
    "election",
    "court",
    "ruling",
    "rail",
    "station",
    "tunnel",
    "hospital",
    "nurses",
    "police",
    "festival",
    "museum",
    "market",
    "prices",
    "energy",
    "solar",
    "wind",
    "grid",
    "export",
    "tariff",
    "factory",
    "workers",
    "village",
    "mayor",
    "province",
    "coast",
    "storm",
    "flood",
    "road",
    "traffic",
    "airport",
    "tourism",
    "hotel",
    "students",
    "teachers",
    "exam",
    "research",
    "university",
    "vaccine",
    "clinic",
    "water",
];

/// A news-sized vocabulary: the topic words above plus 6,000 made-up words, drawn with a
/// Zipf-like skew (a few words are everywhere, most are rare), so that unrelated stories share
/// common words but not whole phrases, as real ones do.
fn vocabulary() -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(SEED ^ 0x5eed);
    let syll =
        ["ka", "ro", "mi", "te", "sa", "lo", "ne", "vi", "du", "pa", "ri", "go", "le", "tha", "mon", "est"];
    let mut words: Vec<String> = WORDS.iter().map(|w| (*w).to_string()).collect();
    words
        .extend((0..6000).map(|i| (0..2 + i % 3).map(|_| syll[rng.usize(..syll.len())]).collect::<String>()));
    words
}

static VOCAB: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(vocabulary);

fn sentence(rng: &mut fastrand::Rng, n: usize) -> String {
    let vocab = &*VOCAB;
    let mut s: Vec<&str> = (0..n)
        .map(|_| {
            let u = rng.f64();
            vocab[((u * u * u) * vocab.len() as f64) as usize].as_str()
        })
        .collect();
    s.insert(1, "said the");
    s.insert(4, "on Tuesday, while the");
    let mut out = s.join(" ");
    if let Some(first) = out.get(..1) {
        out = first.to_uppercase() + &out[1..];
    }
    out.push('.');
    out
}

/// One story: a title and 4-7 paragraphs of article HTML.
fn story(rng: &mut fastrand::Rng, id: usize) -> (String, Vec<String>) {
    let title = format!(
        "{} {} plan {id} for the {}",
        sentence(rng, 3).trim_end_matches('.'),
        "approves",
        WORDS[id % WORDS.len()]
    );
    let paras =
        (0..rng.usize(4..8)).map(|_| format!("{} {}", sentence(rng, 12), sentence(rng, 10))).collect();
    (title, paras)
}

const NOTICES: &[&str] = &[
    "(This story has not been edited by Farm Daily staff and is auto-generated from a syndicated feed.)",
    "(Cerita ini belum diedit oleh staf dan dibuat secara otomatis dari feed sindikasi.)",
    "(Cet article n'a pas été modifié par la rédaction et est généré automatiquement à partir d'un flux syndiqué.)",
];

/// The item body as a site would publish it: injected boilerplate, sometimes a notice.
fn body(rng: &mut fastrand::Rng, paras: &[String], edited: bool) -> String {
    let mut html = String::from("<p>2 min read</p>");
    for (i, p) in paras.iter().enumerate() {
        if edited && i == 0 {
            html.push_str(&format!("<p><strong>Updated:</strong> {p}</p>"));
        } else {
            html.push_str(&format!("<p>{p}</p>"));
        }
        if i == 1 {
            html.push_str("<p>Also read: <a href=\"https://site.example/other\">Ministers meet on energy prices</a></p>");
        }
    }
    html.push_str("<p>Share this article on Facebook and X</p>");
    if rng.u8(..10) == 0 {
        html.push_str(&format!("<p><em>{}</em></p>", NOTICES[rng.usize(..NOTICES.len())]));
    }
    html
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The farm: per feed, its path, body and content type.
fn generate(feeds: usize, items: usize) -> Vec<(String, String, &'static str)> {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut stories: Vec<(String, Vec<String>)> = Vec::new();
    let mut out = Vec::with_capacity(feeds);
    for f in 0..feeds {
        let mut entries = Vec::with_capacity(items);
        for i in 0..items {
            // 30% syndicated copies of an earlier story (a third of them edited), else a new one.
            let (s, edited) = if !stories.is_empty() && rng.u8(..10) < 3 {
                (rng.usize(..stories.len()), rng.u8(..3) == 0)
            } else {
                stories.push(story(&mut rng, stories.len()));
                (stories.len() - 1, false)
            };
            let (title, paras) = &stories[s];
            let html = body(&mut rng, paras, edited);
            let minute = (i * 7) % 60;
            entries.push((
                format!("f{f}-{i}"),
                title.clone(),
                format!("https://site{f}.example/news/{s}-{i}?utm_source=rss"),
                html,
                minute,
            ));
        }
        let (body, ct) = match f % 3 {
            0 => {
                let items: String = entries
                    .iter()
                    .map(|(g, t, l, h, m)| format!("<item><guid>{g}</guid><title>{}</title><link>{}</link><pubDate>Tue, 24 Nov 2026 08:{m:02}:00 GMT</pubDate><description><![CDATA[{h}]]></description></item>", escape(t), escape(l)))
                    .collect();
                (
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Site {f}</title><link>https://site{f}.example/</link><language>en</language>{items}</channel></rss>"
                    ),
                    "application/rss+xml",
                )
            }
            1 => {
                let items: String = entries
                    .iter()
                    .map(|(g, t, l, h, m)| format!("<entry><id>urn:{g}</id><title>{}</title><link href=\"{}\"/><updated>2026-11-24T08:{m:02}:00Z</updated><content type=\"html\">{}</content></entry>", escape(t), escape(l), escape(h)))
                    .collect();
                (
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Site {f}</title><id>urn:site{f}</id><updated>2026-11-24T09:00:00Z</updated>{items}</feed>"
                    ),
                    "application/atom+xml",
                )
            }
            _ => {
                let items: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|(g, t, l, h, m)| serde_json::json!({"id": g, "title": t, "url": l, "content_html": h, "date_published": format!("2026-11-24T08:{m:02}:00Z")}))
                    .collect();
                (serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": format!("Site {f}"), "items": items}).to_string(), "application/feed+json")
            }
        };
        out.push((format!("/feed/{f}"), body, ct));
    }
    out
}

fn file_mib(path: &std::path::Path) -> f64 {
    ["", "-wal"]
        .iter()
        .map(|s| std::fs::metadata(format!("{}{s}", path.display())).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>() as f64
        / (1024.0 * 1024.0)
}

/// feed-rs on every body, then the same rows bulk-inserted (one transaction per feed, multi-row
/// statements) into a bare table: what any ingest must at least do.
async fn floor(farm: &[(String, String, &'static str)], db: &std::path::Path) -> (Duration, Duration, usize) {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let cpu0 = cpu(nix::sys::resource::UsageWho::RUSAGE_SELF);
    let started = Instant::now();
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let Ok(pool) = sqlx::SqlitePool::connect_with(opts).await else {
        return (Duration::ZERO, Duration::ZERO, 0);
    };
    let _ = sqlx::query("CREATE TABLE raw (feed TEXT, guid TEXT, title TEXT, link TEXT, published TEXT, body TEXT, UNIQUE (feed, guid))")
        .execute(&pool)
        .await;
    let mut rows = 0;
    for (path, body, _) in farm {
        let Ok(feed) = feed_rs::parser::parse(body.as_bytes()) else { continue };
        let Ok(mut tx) = pool.begin().await else { continue };
        for chunk in feed.entries.chunks(150) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO raw (feed, guid, title, link, published, body) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(path.clone())
                    .push_bind(e.id.clone())
                    .push_bind(e.title.as_ref().map(|t| t.content.clone()))
                    .push_bind(e.links.first().map(|l| l.href.clone()))
                    .push_bind(e.published.map(|d| d.to_rfc3339()))
                    .push_bind(
                        e.content
                            .as_ref()
                            .and_then(|c| c.body.clone())
                            .or_else(|| e.summary.as_ref().map(|s| s.content.clone())),
                    );
            });
            let _ = q.build().execute(&mut *tx).await;
            rows += chunk.len();
        }
        let _ = tx.commit().await;
    }
    pool.close().await;
    (started.elapsed(), cpu(nix::sys::resource::UsageWho::RUSAGE_SELF).saturating_sub(cpu0), rows)
}

fn main() {
    common::measure_if_asked();
    let sizes = std::env::var("E2E_SIZES").unwrap_or_else(|_| "500x40,2000x50".into());
    let bin = env!("CARGO_BIN_EXE_feedsieve");
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() else {
        return;
    };
    for size in sizes.split(',') {
        let Some((feeds, items)) =
            size.split_once('x').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            eprintln!("bad size {size:?}");
            continue;
        };
        let farm = generate(feeds, items);
        let bytes: usize = farm.iter().map(|f| f.1.len()).sum();
        // `E2E_WRITE_DIR=dir`: write the farm as files with a config of file feeds (for
        // profiling the binary on it), and stop.
        if let Ok(out) = std::env::var("E2E_WRITE_DIR") {
            let out = std::path::PathBuf::from(out);
            let _ = std::fs::create_dir_all(&out);
            let mut config = String::from("[database]\npath = \"e2e.db\"\n");
            for (i, (_, body, ct)) in farm.iter().enumerate() {
                let ext = match *ct {
                    "application/feed+json" => "json",
                    _ => "xml",
                };
                let _ = std::fs::write(out.join(format!("feed{i}.{ext}")), body);
                config.push_str(&format!("[[feeds]]\nurl = \"feed{i}.{ext}\"\nname = \"site {i}\"\n"));
            }
            let _ = std::fs::write(out.join("e2e.toml"), config);
            println!("farm {feeds}x{items} written to {}", out.display());
            return;
        }
        let bodies: Arc<HashMap<String, (String, &'static str)>> =
            Arc::new(farm.iter().map(|(p, b, c)| (p.clone(), (b.clone(), *c))).collect());
        let mut hosts = Vec::new();
        let mut servers = Vec::new();
        for h in 0..HOSTS {
            let Ok(listener) = rt.block_on(tokio::net::TcpListener::bind(format!("127.0.2.{}:0", h + 1)))
            else {
                return;
            };
            let Ok(local) = listener.local_addr() else { return };
            hosts.push(local);
            let bodies = Arc::clone(&bodies);
            let respond = Arc::new(move |head: &str| {
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                match bodies.get(path) {
                    Some((body, ct)) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_string(),
                }
            });
            servers.push(rt.spawn(common::serve_keep_alive(listener, respond)));
        }
        let Ok(dir) = tempfile::tempdir() else { return };
        let urls = (0..feeds).map(|i| format!("http://{}/feed/{i}", hosts[i % HOSTS]));
        let Some(config) = common::write_config(dir.path(), "e2e.db", urls) else { return };

        let common::Pass { wall, cpu: pipeline_cpu, peak_rss_mib, summary } = common::run_pass(bin, &config);
        let total = feeds * items;
        let db = dir.path().join("e2e.db");
        println!(
            "e2e {feeds}x{items} ({total} items, {:.0} MiB of feeds):\n  pipeline: {:.1} s wall, {:.1} s CPU, {:.0} items/s, peak RSS {:.0} MiB, database {:.0} MiB\n    {summary}",
            bytes as f64 / 1048576.0,
            wall.as_secs_f64(),
            pipeline_cpu.as_secs_f64(),
            total as f64 / wall.as_secs_f64(),
            peak_rss_mib,
            file_mib(&db),
        );
        let floor_db = dir.path().join("floor.db");
        let (fwall, fcpu, rows) = rt.block_on(floor(&farm, &floor_db));
        println!(
            "  floor (feed-rs parse + bare bulk insert, one thread): {:.1} s wall, {:.1} s CPU, {rows} rows, {:.0} items/s, database {:.0} MiB\n  ratio pipeline/floor: {:.1}x wall, {:.1}x CPU",
            fwall.as_secs_f64(),
            fcpu.as_secs_f64(),
            rows as f64 / fwall.as_secs_f64(),
            file_mib(&floor_db),
            wall.as_secs_f64() / fwall.as_secs_f64().max(1e-9),
            pipeline_cpu.as_secs_f64() / fcpu.as_secs_f64().max(1e-9),
        );
        for s in servers {
            s.abort();
        }
    }
}
