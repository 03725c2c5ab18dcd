//! Full text for summary-only feeds (`full_text`), through the real binary: article pages served
//! by a real HTTP server on 127.0.0.1, extracted, flagged, deduplicated and stored.

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn feed(base: &str, items: &[(&str, &str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, link, summary)| {
            format!(
                "<item><guid>{guid}</guid><title>{guid} story</title><link>{base}{link}</link>\
                 <pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate><description>{summary}</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Summaries</title>{items}</channel></rss>"
    )
}

fn long_summary() -> String {
    "Officials in the northern district said the new bridge would open to traffic next spring after inspectors \
     approved the final load tests, ending three years of detours for commuters and freight. "
        .repeat(4)
}

async fn page(server: &MockServer, route: &str, body: Vec<u8>, etag: &str) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", etag).set_body_raw(body, "text/html"))
        .mount(server)
        .await;
}

fn config(feed_url: &str, extra: &str) -> String {
    format!(
        "[full_text]\nmin_words = 50\n{extra}\n\n[[feeds]]\nurl = \"{feed_url}\"\nname = \"Summaries\"\nfull_text = \"auto\"\n"
    )
}

async fn page_rows(
    env: &TestEnv,
) -> Vec<(String, Option<String>, Option<String>, Option<String>, i64, Option<String>)> {
    let db = env.db().await;
    let rows = sqlx::query_as(
        "SELECT r.guid, p.canonical_url, p.og_site_name, p.is_based_on, p.used, p.error
         FROM article_pages p JOIN raw_items r ON r.id = p.raw_item_id ORDER BY r.guid",
    )
    .fetch_all(&db)
    .await
    .expect("article_pages");
    db.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_only_items_get_the_article_text_and_its_notice() {
    let server = MockServer::start().await;
    let u = server.uri();
    let long = long_summary();
    let items = [
        ("wire", "/news/wire", "Cranes are back at the port."),
        ("latin", "/news/latin", "Une récolte record."),
        ("broken", "/news/broken", "A summary that stays when the page fails."),
        ("long", "/news/long", long.as_str()),
    ];
    serve(&server, "/feed.xml", &feed(&u, &items), "application/rss+xml").await;
    page(&server, "/news/wire", fixture("full_text/article-wire.html").into_bytes(), "\"w1\"").await;
    let latin = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full_text/article-latin1.html"),
    )
    .expect("fixture");
    page(&server, "/news/latin", latin, "\"l1\"").await;
    Mock::given(method("GET"))
        .and(path("/news/broken"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    page(&server, "/news/long", b"<html><body><p>never fetched</p></body></html>".to_vec(), "\"x\"").await;

    let env = TestEnv::new(&config(&format!("{u}/feed.xml"), ""));
    let summary = env.run_once().await;
    assert_eq!(summary_counts(&summary)["new"], 4, "{summary}");
    let export = env.export(&["--all"]).await;
    let get =
        |guid: &str| export.iter().find(|a| a["guid"] == guid).unwrap_or_else(|| panic!("{guid} stored"));

    // The page's article, not its navigation, banners, related boxes, comments or footer.
    let wire = get("wire");
    let text = wire["text"].as_str().unwrap_or_default();
    assert!(text.contains("Container cranes at the country's largest port returned"), "{text}");
    assert!(text.contains("resume normal routings by the end of the week"), "{text}");
    for junk in
        ["We use cookies", "Port talks collapse", "took them long enough", "All rights reserved", "Business"]
    {
        assert!(!text.contains(junk), "{junk:?} leaked into {text}");
    }
    // The notice sat outside the article container; it is found and flagged.
    assert_eq!(wire["auto_generated"], true, "{wire}");
    assert_eq!(wire["auto_generated_rule"], "builtin:unedited-syndicated");
    assert!(
        wire["auto_generated_marker"]
            .as_str()
            .is_some_and(|m| m.contains("auto-generated from a syndicated feed"))
    );
    // A canonical link to the wire agency: the item's canonical URL.
    assert_eq!(wire["canonical_url"], "https://wire-agency.example/news/2026/11/harbour-cranes-return");

    // A Latin-1 page declared by <meta charset>.
    let latin = get("latin");
    let text = latin["text"].as_str().unwrap_or_default();
    assert!(text.contains("La récolte de châtaignes de cette année dépasse"), "{text}");
    assert_eq!(latin["lang"], "fr");
    assert!(!text.contains("À lire aussi"), "{text}");

    // A failing page leaves the item with its feed content, the error recorded.
    let broken = get("broken");
    assert_eq!(broken["text"], "A summary that stays when the page fails.");
    // A long feed body needs no page under "auto".
    assert!(
        get("long")["text"].as_str().is_some_and(|t| t.starts_with("Officials in the northern district"))
    );
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(!requests.iter().any(|r| r.url.path() == "/news/long"), "the long item's page was fetched");

    let rows = page_rows(&env).await;
    let row = |guid: &str| rows.iter().find(|r| r.0 == guid).cloned();
    let (_, canonical, site, based, used, error) = row("wire").expect("wire page row");
    assert_eq!(canonical.as_deref(), Some("https://wire-agency.example/news/2026/11/harbour-cranes-return"));
    assert_eq!(site.as_deref(), Some("Coastal Herald"));
    assert_eq!(based.as_deref(), Some("https://wire-agency.example/news/2026/11/harbour-cranes-return"));
    assert_eq!((used, error), (1, None));
    let (.., used, error) = row("broken").expect("broken page row");
    assert_eq!(used, 0);
    assert!(error.as_deref().is_some_and(|e| e.contains("500")), "{error:?}");
    assert!(row("long").is_none());
    let db = env.db().await;
    let source: Option<String> =
        sqlx::query_scalar("SELECT syndication_source FROM articles WHERE guid = 'wire'")
            .fetch_one(&db)
            .await
            .expect("query");
    // The raw item keeps the feed's body and the extracted page; the page's words are counted.
    let (words, raw): (i64, String) = sqlx::query_as(
        "SELECT p.extracted_words, r.raw FROM article_pages p JOIN raw_items r ON r.id = p.raw_item_id
         WHERE r.guid = 'wire'",
    )
    .fetch_one(&db)
    .await
    .expect("query");
    db.close().await;
    assert_eq!(source.as_deref(), Some("isBasedOn:wire-agency.example"));
    assert!(words > 50, "{words} words");
    let raw: serde_json::Value = serde_json::from_str(&raw).expect("raw JSON");
    assert!(raw["summary"].as_str().is_some_and(|s| !s.is_empty()), "{raw}");
    assert!(raw["page"]["html"].as_str().is_some_and(|h| h.contains("<p")), "{raw}");

    // An unchanged item is not fetched again; a changed one is, conditionally.
    let before = server.received_requests().await.unwrap_or_default().len();
    env.run_once().await;
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), before + 1, "only the feed");
    let mut changed = items.to_vec();
    changed[0].2 = "Cranes are back at the port, officials say.";
    server.reset().await;
    serve(&server, "/feed.xml", &feed(&u, &changed), "application/rss+xml").await;
    Mock::given(method("GET"))
        .and(path("/news/wire"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let summary = env.run_once().await;
    assert_eq!(summary_counts(&summary)["updated"], 1, "{summary}");
    let requests = server.received_requests().await.unwrap_or_default();
    let refetch = requests.iter().find(|r| r.url.path() == "/news/wire").expect("the changed item's page");
    assert_eq!(refetch.headers.get("if-none-match").and_then(|v| v.to_str().ok()), Some("\"w1\""));
    assert!(
        refetch
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/html"))
    );
    let wire = env.export(&["--all"]).await.into_iter().find(|a| a["guid"] == "wire").expect("wire");
    assert!(
        wire["text"].as_str().is_some_and(|t| t.contains("Container cranes")),
        "the stored page was kept on 304"
    );

    // reprocess re-derives from the stored page, without fetching.
    server.reset().await;
    let out = env.run(&["reprocess"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
    let wire = env.export(&["--all"]).await.into_iter().find(|a| a["guid"] == "wire").expect("wire");
    assert!(wire["text"].as_str().is_some_and(|t| t.contains("Container cranes")));
    assert_eq!(wire["auto_generated"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn page_fetches_keep_per_host_limits_and_their_own_budget() {
    for (per_host, pages, expected_max) in [(1, 4, 1), (4, 2, 2)] {
        let (pages_base, max) =
            counting_server(Duration::from_millis(150), "<html><body><p>x</p></body></html>".into()).await;
        let server = MockServer::start().await;
        let items: Vec<(String, String)> = (0..8).map(|i| (format!("i{i}"), format!("/p{i}"))).collect();
        let items: Vec<(&str, &str, &str)> =
            items.iter().map(|(g, l)| (g.as_str(), l.as_str(), "Short.")).collect();
        serve(&server, "/feed.xml", &feed(&pages_base, &items), "application/rss+xml").await;
        let env = TestEnv::with_fetch(
            &format!("per_host = {per_host}"),
            &config(&format!("{}/feed.xml", server.uri()), &format!("concurrency = {pages}")),
        );
        let summary = env.run_once().await;
        assert_eq!(summary_counts(&summary)["new"], 8, "{summary}");
        let seen = max.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(seen, expected_max, "per_host {per_host}, page budget {pages}: {seen} pages at once");
    }
}
