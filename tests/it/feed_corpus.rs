//! The parser corpus check (issue 4): every document of the shared feed corpus (test suites of
//! 16 feed parsers, not part of this repository) is ingested as a file feed by the real binary,
//! and compared with feedparser's per-file entry counts.
//!
//! Run by `.ci/run` when the corpus exists:
//! `FEEDSIEVE_FEED_CORPUS=../shared/corpus/feeds cargo test --test it feed_corpus -- --ignored --nocapture`.
//! `FEEDSIEVE_CORPUS_KEEP_DB=path` keeps a copy of the database for inspection.
//! Fails on any panic or crash, on fewer entries in total than feedparser's 6,085 on the
//! documents it reads, and on a file where feedparser finds entries and feedsieve none unless
//! that file is listed in `EXPECTED_MISSES` with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::Row;

use crate::helpers::TestEnv;

/// Files where feedparser reports entries and feedsieve rightly finds none.
const EXPECTED_MISSES: &[(&str, &str)] = &[];

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FEEDSIEVE_FEED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/feeds"));
    dir.is_dir().then_some(dir)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ../shared/corpus/feeds; run by .ci/run"]
async fn feed_corpus() {
    let Some(dir) = corpus_dir() else {
        println!("feed corpus: not found (set FEEDSIEVE_FEED_CORPUS); skipped");
        return;
    };
    let dir = dir.canonicalize().expect("corpus path");
    // feedparser's per-file results: source,path,bytes,status,bozo,bozo_exception,version,entries,…
    let mut baseline: BTreeMap<String, u64> = BTreeMap::new();
    let csv = std::fs::read_to_string(dir.join("feedparser-baseline.csv")).expect("baseline csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records().flatten() {
        let (Some(source), Some(path), Some(entries)) = (record.get(0), record.get(1), record.get(7)) else {
            continue;
        };
        baseline.insert(format!("{source}/{path}"), entries.parse().unwrap_or(0));
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.retain(|f| f.parent() != Some(dir.as_path()));
    files.sort();
    assert!(!files.is_empty(), "no corpus files under {}", dir.display());

    let mut feeds = String::new();
    let mut names = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let rel = file.strip_prefix(&dir).expect("under corpus").to_string_lossy().replace('\\', "/");
        let url = toml::Value::String(file.to_string_lossy().into_owned());
        feeds.push_str(&format!("[[feeds]]\nurl = {url}\nname = \"corpus-{i}\"\n"));
        names.insert(file.to_string_lossy().into_owned(), rel);
    }
    let env = TestEnv::with_fetch("concurrency = 16", &feeds);
    let out = env.run(&["run", "--once"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some(), "feedsieve crashed (signal): {stderr}");
    assert!(!stderr.contains("panicked at"), "a panic escaped: {stderr}");

    if let Some(keep) = std::env::var_os("FEEDSIEVE_CORPUS_KEEP_DB") {
        std::fs::copy(env.db_path(), &keep).expect("copy the database");
    }
    let db = env.db().await;
    let rows = sqlx::query(
        "SELECT f.url, f.last_error, (SELECT count(*) FROM raw_items r WHERE r.feed_id = f.id) AS n FROM feeds f",
    )
    .fetch_all(&db)
    .await
    .expect("per-feed counts");
    let mut read = 0;
    let mut with_entries = 0;
    let mut total = 0u64;
    let mut total_where_fp_reads = 0u64;
    let mut panics = Vec::new();
    let mut misses = Vec::new();
    let mut unexpected = Vec::new();
    let mut fewer = Vec::new();
    for row in rows {
        let url: String = row.get("url");
        let error: Option<String> = row.get("last_error");
        let n: i64 = row.get("n");
        let n = u64::try_from(n).unwrap_or(0);
        let rel = names.get(&url).cloned().unwrap_or(url);
        let fp = baseline.get(&rel).copied().unwrap_or(0);
        if error.is_none() {
            read += 1;
        }
        if n > 0 {
            with_entries += 1;
        }
        total += n;
        if fp > 0 {
            total_where_fp_reads += n;
        }
        if error.as_deref().is_some_and(|e| e.contains("panic")) {
            panics.push(format!("{rel}: {}", error.clone().unwrap_or_default()));
        }
        if n < fp {
            fewer.push(format!(
                "{rel}: {n} < {fp}{}",
                error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
            ));
        }
        if fp > 0 && n == 0 {
            let reason = error.unwrap_or_else(|| "parsed, no entries".into());
            match EXPECTED_MISSES.iter().find(|(f, _)| *f == rel) {
                Some((_, why)) => misses.push(format!("{rel} (feedparser {fp}): {reason} [expected: {why}]")),
                None => unexpected.push(format!("{rel} (feedparser {fp}): {reason}")),
            }
        }
    }
    let fp_total: u64 = baseline.values().sum();
    println!("feed corpus: {} files", files.len());
    println!("  read without error:   {read}");
    println!("  with >= 1 entry:      {with_entries}");
    println!("  entries:              {total} (feedparser: {fp_total})");
    println!("  entries on files feedparser reads entries from: {total_where_fp_reads}");
    println!("  panics:               {}", panics.len());
    println!("  feedparser finds entries, feedsieve none: {}", misses.len() + unexpected.len());
    for line in misses.iter().chain(&unexpected) {
        println!("    {line}");
    }
    println!("  fewer entries than feedparser: {} files", fewer.len());
    for line in &fewer {
        println!("    {line}");
    }
    assert!(panics.is_empty(), "parser panics: {panics:#?}");
    assert!(total >= 6_085, "{total} entries, fewer than the 6,085 required");
    assert!(unexpected.is_empty(), "{} files lose all their entries", unexpected.len());
}
