use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// Every key of the export contract (DESIGN §3), no more, no less.
const CONTRACT_KEYS: [&str; 20] = [
    "id",
    "feed_url",
    "feed_name",
    "guid",
    "url",
    "canonical_url",
    "title",
    "author",
    "published_at",
    "updated_at",
    "fetched_at",
    "lang",
    "text",
    "html",
    "auto_generated",
    "auto_generated_rule",
    "auto_generated_marker",
    "duplicate_of",
    "duplicate_kind",
    "similarity",
];

struct Farm {
    server: MockServer,
    env: TestEnv,
}

impl Farm {
    fn url(&self, route: &str) -> String {
        format!("{}{route}", self.server.uri())
    }
}

/// Three good feeds (RSS 2.0, Atom, JSON Feed), a malformed one and one answering 500.
async fn farm() -> Farm {
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    serve(&server, "/atom.xml", &fixture("feeds/atom.xml"), "application/atom+xml; charset=utf-8").await;
    serve(&server, "/feed.json", &fixture("feeds/feed.json"), "application/feed+json").await;
    serve(&server, "/broken.xml", &fixture("feeds/malformed.xml"), "text/html").await;
    Mock::given(method("GET"))
        .and(path("/error.xml"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let u = server.uri();
    let feeds = [
        feed_toml(&format!("{u}/rss.xml"), "Test Wire"),
        feed_toml(&format!("{u}/atom.xml"), "Test Atom"),
        feed_toml(&format!("{u}/feed.json"), "Test JSON"),
        feed_toml(&format!("{u}/broken.xml"), "Broken"),
        feed_toml(&format!("{u}/error.xml"), "Erroring"),
    ]
    .concat();
    Farm { env: TestEnv::new(&feeds), server }
}

fn by_guid<'a>(rows: &'a [Value], guid: &str) -> &'a Value {
    rows.iter().find(|r| r["guid"] == guid).unwrap_or_else(|| panic!("no exported article with guid {guid}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_stores_every_format_and_records_failures() {
    let farm = farm().await;
    let summary = farm.env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["ok"], c["failed"], c["new"], c["updated"]), (3, 2, 7, 0), "{summary}");

    let rows = farm.env.export(&[]).await;
    assert_eq!(rows.len(), 7);
    for row in &rows {
        let keys: Vec<&str> = row.as_object().expect("object").keys().map(String::as_str).collect();
        let mut expected = CONTRACT_KEYS.to_vec();
        expected.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, expected, "export keys");
    }

    // RSS 2.0 item: every field normalized.
    let storm = by_guid(&rows, "tw-1");
    assert_eq!(storm["feed_url"], json!(farm.url("/rss.xml")));
    assert_eq!(storm["feed_name"], "Test Wire");
    assert_eq!(storm["url"], "https://testwire.example/news/storm?utm_source=rss&id=7#top");
    assert_eq!(storm["canonical_url"], "https://testwire.example/news/storm?id=7");
    assert_eq!(storm["title"], "Storm closes & floods coastal roads");
    assert_eq!(storm["author"], "Jane Reporter");
    assert_eq!(storm["published_at"], "2026-11-24T02:45:00Z");
    assert_eq!(storm["lang"], "en");
    assert_eq!(storm["text"], "First paragraph about the storm.\n\nSecond paragraph.\n\none\ntwo");
    let html = storm["html"].as_str().expect("html");
    assert!(!html.contains("<script") && !html.contains("onclick"), "{html}");
    assert!(html.contains("https://testwire.example/more"), "relative link resolved: {html}");
    assert_eq!(storm["auto_generated"], false);
    for k in ["auto_generated_rule", "auto_generated_marker", "duplicate_of", "duplicate_kind", "similarity"]
    {
        assert!(storm[k].is_null(), "{k} is null until its stage exists");
    }
    let fetched = storm["fetched_at"].as_str().expect("fetched_at");
    assert!(chrono::DateTime::parse_from_rfc3339(fetched).is_ok() && fetched.ends_with('Z'), "{fetched}");
    assert!(storm["id"].is_i64());

    // Item without a guid: a stable derived one.
    assert_eq!(by_guid(&rows, "link:https://testwire.example/news/no-guid")["title"], "Item without a guid");

    // Atom: HTML title decoded, dates in UTC, language from xml:lang absent -> none given by feed-rs
    let zug = by_guid(&rows, "urn:test:atom:1");
    assert_eq!(zug["title"], "Zug & Bus");
    assert_eq!(zug["published_at"], "2026-11-22T21:30:00Z");
    assert_eq!(zug["updated_at"], "2026-11-23T06:45:00Z");
    assert_eq!(zug["text"], "Erster Absatz.\n\nZweiter Absatz.");
    assert_eq!(by_guid(&rows, "urn:test:atom:2")["text"], "Nur eine Zusammenfassung.");

    // JSON Feed: html and plain text bodies.
    let j1 = by_guid(&rows, "j-1");
    assert_eq!(j1["lang"], "es");
    assert_eq!(j1["author"], "Redacción");
    assert_eq!(j1["text"], "Uno.\n\nDos.\n\nGenerado automáticamente por TestBot.");
    assert_eq!(by_guid(&rows, "j-2")["text"], "Texto plano.\n\nOtro párrafo.");

    // Failures are in the feeds' health; the good feeds are healthy.
    let broken = farm.env.feed_health(&farm.url("/broken.xml")).await;
    assert_eq!(broken.last_status.as_deref(), Some("error"));
    assert_eq!(broken.last_error_kind.as_deref(), Some("parse"));
    assert_eq!(broken.consecutive_errors, 1);
    let erroring = farm.env.feed_health(&farm.url("/error.xml")).await;
    assert_eq!(erroring.last_error_kind.as_deref(), Some("http_status"));
    assert_eq!(erroring.last_http_status, Some(500));
    assert!(erroring.last_error.as_deref().is_some_and(|e| e.contains("500")));
    let good = farm.env.feed_health(&farm.url("/rss.xml")).await;
    assert_eq!((good.last_status.as_deref(), good.consecutive_errors, good.items_stored), (Some("ok"), 0, 3));

    // A second failure counts up.
    farm.env.run_once().await;
    assert_eq!(farm.env.feed_health(&farm.url("/error.xml")).await.consecutive_errors, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_pass_finds_nothing_new() {
    let farm = farm().await;
    farm.env.run_once().await;
    let before = farm.env.export(&[]).await;
    let summary = farm.env.run_once().await;
    let c = summary_counts(&summary);
    // The same bytes again: nothing is parsed, nothing written but the feeds' health.
    assert_eq!((c["ok"], c["new"], c["updated"]), (3, 0, 0), "{summary}");
    let after = farm.env.export(&[]).await;
    let ids = |rows: &[Value]| rows.iter().map(|r| (r["id"].clone(), r["guid"].clone())).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_item_is_updated_in_place() {
    let farm = farm().await;
    farm.env.run_once().await;
    let before = farm.env.export(&[]).await;
    let old = by_guid(&before, "tw-2").clone();

    farm.server.reset().await;
    let edited = fixture("feeds/rss2.xml").replace("The council voted 9 to 2", "The council voted 10 to 1");
    serve(&farm.server, "/rss.xml", &edited, "application/rss+xml").await;
    serve(&farm.server, "/atom.xml", &fixture("feeds/atom.xml"), "application/atom+xml").await;
    serve(&farm.server, "/feed.json", &fixture("feeds/feed.json"), "application/feed+json").await;

    let summary = farm.env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["new"], c["updated"]), (0, 1), "{summary}");
    let after = farm.env.export(&[]).await;
    assert_eq!(after.len(), before.len(), "an update is not a new article");
    let new = by_guid(&after, "tw-2");
    assert_eq!(new["id"], old["id"], "same id");
    assert_eq!(new["text"], "The council voted 10 to 1 for the bridge.");

    let pool = farm.env.db().await;
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM raw_items WHERE guid = 'tw-2'")
        .fetch_one(&pool)
        .await
        .expect("raw item");
    assert_eq!(revision, 2);
    // the full-text index follows the update
    let (hits,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '\"10 to 1\"'")
            .fetch_one(&pool)
            .await
            .expect("fts query");
    assert_eq!(hits, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_is_wal_with_the_documented_views() {
    let farm = farm().await;
    farm.env.run_once().await;
    let pool = farm.env.db().await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&pool).await.expect("pragma");
    assert_eq!(mode, "wal");
    let (ok,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&pool).await.expect("pragma");
    assert_eq!(ok, "ok");
    for view in ["articles_unique", "articles_flagged", "feed_health"] {
        let n: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {view}")))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("view {view}: {e}"));
        assert!(n.0 >= 0);
    }
    let (raw,): (String,) =
        sqlx::query_as("SELECT raw FROM raw_items WHERE guid = 'tw-1'").fetch_one(&pool).await.expect("raw");
    let raw: Value = serde_json::from_str(&raw).expect("raw item is JSON");
    assert!(raw["content"].as_str().is_some_and(|c| c.contains("<script>")), "raw is kept as received");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_filters_and_csv() {
    let farm = farm().await;
    farm.env.run_once().await;
    assert_eq!(farm.env.export(&["--since", "2999-01-01"]).await.len(), 0);
    assert_eq!(farm.env.export(&["--since", "1h"]).await.len(), 7);
    assert_eq!(farm.env.export(&["--all"]).await.len(), 7);

    let out = farm.env.run(&["export", "--format", "csv"]).await;
    assert_eq!(out.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(header, CONTRACT_KEYS);
    assert_eq!(reader.records().count(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn local_files_and_plain_paths_are_feeds() {
    let env = TestEnv::new(
        "[[feeds]]\nurl = \"feeds/rss2.xml\"\n[[feeds]]\nurl = \"FILE_URL\"\n[[feeds]]\nurl = \"feeds/missing.xml\"\n",
    );
    let feeds = env.dir.path().join("feeds");
    std::fs::create_dir(&feeds).expect("mkdir");
    std::fs::write(feeds.join("rss2.xml"), fixture("feeds/rss2.xml")).expect("write");
    std::fs::write(feeds.join("atom.xml"), fixture("feeds/atom.xml")).expect("write");
    let file_url = url::Url::from_file_path(feeds.join("atom.xml")).expect("absolute path");
    let text = std::fs::read_to_string(&env.config).expect("read").replace("FILE_URL", file_url.as_str());
    std::fs::write(&env.config, text).expect("write");

    let summary = env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["ok"], c["failed"], c["new"]), (2, 1, 5), "{summary}");
    let missing = env.feed_health("feeds/missing.xml").await;
    assert_eq!(missing.last_error_kind.as_deref(), Some("io"));
}
