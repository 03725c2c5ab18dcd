//! Parser leniency (issue 4), through the real binary: one small fixture of our own per rule
//! (`tests/fixtures/parsing/`), ingested as file feeds (and one over HTTP for the charset
//! header), then read back with `export --all`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use wiremock::MockServer;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestEnv, feed_toml};

const FIXTURES: &[&str] = &[
    "latin1-declared.xml",
    "utf16le-bom.xml",
    "utf16be-nobom.xml",
    "utf32le-bom.xml",
    "cp1251-undeclared.xml",
    "cp1252-sniffed.xml",
    "gzipped-body.xml",
    "rss-no-version.xml",
    "rss-094.xml",
    "rss-201.xml",
    "channel-root.xml",
    "rss-no-channel.xml",
    "atom03.xml",
    "rss-090.xml",
    "rss2-userland-ns.xml",
    "atom-odd-types.xml",
    "empty-elements.xml",
    "rss1-no-link.xml",
    "jsonfeed-lenient.json",
    "broken-markup.xml",
    "sources-and-entities.xml",
    "duplicate-guids.xml",
];

fn fixture_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parsing")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Ingests every fixture once; returns the exported articles by feed name (= fixture name).
async fn ingest_all() -> (TestEnv, BTreeMap<String, Vec<Value>>) {
    let feeds: String = FIXTURES.iter().map(|f| feed_toml(&fixture_path(f), f)).collect();
    let env = TestEnv::new(&feeds);
    let summary = env.run_once().await;
    assert!(
        summary.contains("1 dropped (repeated_guid 1)"),
        "the exact repeat is counted as dropped: {summary}"
    );
    let mut by_feed: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in env.export(&["--all"]).await {
        by_feed.entry(row["feed_name"].as_str().unwrap_or_default().to_string()).or_default().push(row);
    }
    for items in by_feed.values_mut() {
        items.sort_by_key(|r| r["id"].as_i64());
    }
    (env, by_feed)
}

fn titles(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["title"].as_str().unwrap_or_default()).collect()
}

fn text_of<'a>(rows: &'a [Value], title: &str) -> &'a str {
    rows.iter()
        .find(|r| r["title"] == title)
        .and_then(|r| r["text"].as_str())
        .unwrap_or_else(|| panic!("no item titled {title:?} in {rows:#?}"))
}

#[tokio::test]
async fn every_rule_has_its_fixture_read() {
    let (env, feeds) = ingest_all().await;
    let get = |name: &str| feeds.get(name).map(Vec::as_slice).unwrap_or_default();

    // 1. Bytes to UTF-8: declaration, BOMs, unmarked UTF-16 (a feed-rs panic before), UTF-32,
    //    no declaration at all (sniffed), gzip without a header.
    assert_eq!(titles(get("latin1-declared.xml")), ["Café crème à Noël"]);
    assert_eq!(titles(get("utf16le-bom.xml")), ["Grüße aus Köln"]);
    assert_eq!(titles(get("utf16be-nobom.xml")), ["Grüße aus Köln"]);
    assert_eq!(titles(get("utf32le-bom.xml")), ["Grüße aus Köln"]);
    assert_eq!(titles(get("cp1251-undeclared.xml")), ["Привет мир сегодня"]);
    assert_eq!(titles(get("cp1252-sniffed.xml")), ["Déjà vu: l'été à Paris, où les élèves étudient"]);
    assert_eq!(titles(get("gzipped-body.xml")), ["Compressed story"]);

    // 2. Normalization.
    assert_eq!(titles(get("rss-no-version.xml")), ["Versionless one", "Versionless two"]);
    assert_eq!(titles(get("rss-094.xml")), ["Ninety four"]);
    assert_eq!(titles(get("rss-201.xml")), ["Two oh one"]);
    assert_eq!(titles(get("channel-root.xml")), ["Channel rooted"]);
    assert_eq!(titles(get("rss-no-channel.xml")), ["Channelless item"]);
    let atom03 = get("atom03.xml");
    assert_eq!(titles(atom03), ["Escaped entry", "Base64 entry", "Inline entry"]);
    assert_eq!(text_of(atom03, "Escaped entry"), "Escaped HTML body");
    assert_eq!(text_of(atom03, "Base64 entry"), "Decoded base64 body");
    assert_eq!(text_of(atom03, "Inline entry"), "Inline XHTML body");
    assert_eq!(atom03[0]["published_at"], "2004-05-30T06:00:00Z", "issued -> published, in UTC");
    assert_eq!(atom03[0]["updated_at"], "2004-05-31T09:00:00Z", "modified -> updated");
    assert_eq!(atom03[0]["author"], "Ann Author");
    assert_eq!(atom03[2]["published_at"], "2004-05-28T08:00:00Z", "created -> published");
    assert_eq!(titles(get("rss-090.xml")), ["Ninety first", "Ninety second"]);
    assert_eq!(titles(get("rss2-userland-ns.xml")), ["Userland namespaced"]);
    let odd = get("atom-odd-types.xml");
    assert_eq!(titles(odd), ["Xhtml typed title", "Empty typed title"]);
    assert_eq!(text_of(odd, "Xhtml typed title"), "Content with an invalid type");
    let empties = get("empty-elements.xml");
    assert_eq!(titles(empties), ["Has empty media description", "Second item"]);
    assert_eq!(text_of(empties, "Has empty media description"), "Real body one.");
    let rdf = get("rss1-no-link.xml");
    assert_eq!(titles(rdf), ["About only", "With link"]);
    assert_eq!(rdf[0]["url"], "https://example.org/about-1", "rdf:about stands in for the link");
    let json = get("jsonfeed-lenient.json");
    assert_eq!(titles(json), ["Numeric id and string tags", "Second JSON item"]);
    assert_eq!(json[0]["guid"], "17");

    // 3. The tolerant scan gets the items out of markup no XML reader accepts.
    let broken = get("broken-markup.xml");
    assert_eq!(titles(broken), ["Bare ampersand & friends", "Mismatched", "Unclosed CDATA"]);
    assert_eq!(broken[0]["url"], "https://example.org/b1?a=1&b=2");
    assert!(text_of(broken, "Unclosed CDATA").contains("Never closed"));

    // 5. Entities in titles decoded; source / dc:source / dc:publisher kept with the raw item.
    let sources = get("sources-and-entities.xml");
    assert_eq!(titles(sources), ["Café & bar news", "Double encoded \"quotes\""]);
    let db = env.db().await;
    let raw: Vec<String> = sqlx::query_scalar(
        "SELECT r.raw FROM raw_items r JOIN feeds f ON f.id = r.feed_id WHERE f.name = 'sources-and-entities.xml' ORDER BY r.id",
    )
    .fetch_all(&db)
    .await
    .expect("raw items");
    assert!(raw[0].contains("Example Wire") && raw[0].contains("Example Publishing"), "{}", raw[0]);
    assert!(raw[1].contains("Agence Exemple"), "{}", raw[1]);

    // 6. Stable ids: a repeated guid for a different item is disambiguated, an exact repeat is
    //    one item; no guid: the canonical link, else a content hash.
    let dups = get("duplicate-guids.xml");
    assert_eq!(
        titles(dups),
        ["First under same guid", "Second under same guid", "No guid, with link", "No guid, no link"]
    );
    assert_eq!(dups[0]["guid"], "same");
    assert!(dups[1]["guid"].as_str().is_some_and(|g| g.starts_with("same#")), "{}", dups[1]["guid"]);
    assert_eq!(dups[2]["guid"], "link:https://example.org/d3");
    assert!(dups[3]["guid"].as_str().is_some_and(|g| g.starts_with("hash:")));

    // Every fixture read without a feed error.
    let errors: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT name, last_error FROM feeds WHERE last_error IS NOT NULL")
            .fetch_all(&db)
            .await
            .expect("health");
    assert!(errors.is_empty(), "{errors:#?}");

    // A second pass over the same files stores nothing new: the ids are stable.
    let before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_items").fetch_one(&db).await.expect("count");
    env.run_once().await;
    let after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_items").fetch_one(&db).await.expect("count");
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_http_charset_decodes_a_body_without_declaration() {
    let server = MockServer::start().await;
    let (bytes, _, _) =
        encoding_rs::WINDOWS_1251.encode("<rss version=\"2.0\"><channel><title>Т</title><item><title>Новости дня</title><link>https://example.org/n</link></item></channel></rss>");
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(bytes.into_owned(), "text/xml; charset=windows-1251"),
        )
        .mount(&server)
        .await;
    let env = TestEnv::new(&feed_toml(&format!("{}/feed", server.uri()), "cyrillic"));
    env.run_once().await;
    assert_eq!(titles(&env.export(&[]).await), ["Новости дня"]);
}
