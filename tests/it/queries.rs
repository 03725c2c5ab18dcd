//! The query commands through the real binary: `search` (FTS5) and `opml import`/`export`.

use serde_json::Value;

use crate::helpers::*;

fn item(guid: &str, title: &str, body: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{title}</title><link>https://news.example/{guid}</link>\
         <pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate><description><![CDATA[{body}]]></description></item>"
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{}</channel></rss>",
        items.concat()
    )
}

const RESERVOIR: &str = "<p>Reservoirs across the western highlands held 62 per cent of their capacity at the end \
    of the monsoon, the water resources department said on Monday.</p><p>Officials said irrigation releases \
    would be cut for the winter crop unless rains return in December, and farmers were told to plan for less \
    water than in previous seasons.</p>";
const STRIKE: &str = "<p>Dock workers in the northern port ended a three-day strike after the union accepted a \
    wage offer of seven per cent over two years.</p><p>More than forty container ships had waited at anchor \
    while the strike lasted, and the port authority said the backlog would be cleared within a week.</p>";
const FLAGGED: &str = "<p>Reservoir levels in the southern valley fell to a record low this autumn, engineers \
    reported after a survey of twelve dams that supply the regional capital.</p><p>(This story has not been \
    edited by Example Daily staff and is auto-generated from a syndicated feed.)</p>";
const FRENCH: &str = "<p>Les réservoirs du massif central sont remplis à soixante pour cent à la fin de \
    l'automne, a indiqué lundi le ministère de l'environnement.</p><p>Les agriculteurs devront réduire \
    l'irrigation cet hiver si les pluies ne reviennent pas en décembre.</p>";

/// Two file feeds: "Alpha" with four articles (one flagged, one in French) and "Beta" with an
/// exact copy of Alpha's reservoir story.
async fn searchable() -> TestEnv {
    let env = TestEnv::new(&format!("{}{}", feed_toml("alpha.xml", "Alpha"), feed_toml("beta.xml", "Beta")));
    let alpha = rss(&[
        item("reservoir", "Reservoirs at 62 per cent after the monsoon", RESERVOIR),
        item("strike", "Port strike ends after wage deal", STRIKE),
        item("flagged", "Southern valley reservoir at record low", FLAGGED),
        item("french", "Les réservoirs à soixante pour cent", FRENCH),
    ]);
    std::fs::write(env.dir.path().join("alpha.xml"), alpha).expect("write feed");
    std::fs::write(
        env.dir.path().join("beta.xml"),
        rss(&[item("copy", "Reservoirs at 62 per cent after the monsoon", RESERVOIR)]),
    )
    .expect("write feed");
    let summary = env.run_once().await;
    let counts = summary_counts(&summary);
    assert_eq!((counts["new"], counts["duplicate"], counts["flagged"]), (5, 1, 1), "{summary}");
    env
}

async fn search(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["search"];
    all.extend_from_slice(args);
    env.jsonl(&all).await
}

fn titles(hits: &[Value]) -> Vec<String> {
    hits.iter().map(|h| h["title"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn search_ranks_snippets_and_filters() {
    let env = searchable().await;

    // Unique, unflagged articles by default: the copy in Beta and the flagged one are left out.
    // Diacritics fold: "reservoirs" also finds the French "réservoirs".
    let hits = search(&env, &["reservoirs"]).await;
    let mut found = titles(&hits);
    found.sort();
    assert_eq!(found, ["Les réservoirs à soixante pour cent", "Reservoirs at 62 per cent after the monsoon"]);
    let hit = hits.iter().find(|h| h["lang"] == "en").expect("the English article");
    // Whichever feed's copy was stored first is the story's article (feeds run concurrently).
    assert!(hit["duplicate_of"].is_null(), "{hit}");
    for key in
        ["id", "feed_url", "guid", "url", "canonical_url", "text", "lang", "auto_generated", "duplicate_of"]
    {
        assert!(hit.get(key).is_some(), "hit lacks the export field {key}: {hit}");
    }
    assert!(hit["score"].as_f64().is_some_and(|s| s > 0.0), "{hit}");
    assert!(hit["snippet"].as_str().is_some_and(|s| s.to_lowercase().contains("[reservoirs]")), "{hit}");

    let hits = search(&env, &["reservoir*", "--include-flagged", "--include-duplicates"]).await;
    assert_eq!(hits.len(), 4, "{:?}", titles(&hits));
    assert!(hits.iter().any(|h| h["auto_generated"] == true));
    assert!(hits.iter().any(|h| h["duplicate_kind"] == "exact"));
    // A title match outranks a text-only one.
    let hits = search(&env, &["strike OR wage"]).await;
    assert_eq!(titles(&hits)[0], "Port strike ends after wage deal");

    // Filters.
    assert_eq!(
        titles(&search(&env, &["reservoir*", "--include-duplicates", "--feed", "Beta"]).await),
        ["Reservoirs at 62 per cent after the monsoon"]
    );
    assert_eq!(search(&env, &["reservoir*", "--include-duplicates", "--feed", "beta.xml"]).await.len(), 1);
    let fr = search(&env, &["reservoirs", "--lang", "fr"]).await;
    assert_eq!(titles(&fr), ["Les réservoirs à soixante pour cent"]);
    assert_eq!(search(&env, &["reservoir*", "--include-flagged", "--limit", "1"]).await.len(), 1);
    assert!(search(&env, &["reservoirs", "--since", "2999-01-01"]).await.is_empty());

    // The table format names the hit and shows the snippet.
    let out = env.run(&["search", "strike"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Port strike ends after wage deal") && table.contains("[strike]"), "{table}");
    let out = env.run(&["search", "nothingmatchesthis"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no matches"));
}

#[tokio::test]
async fn malformed_search_queries_are_usage_errors() {
    let env = searchable().await;
    for bad in ["\"unbalanced", "covid-19", "nosuchcolumn:word", "AND", "NEAR(", ""] {
        let out = env.run(&["search", bad]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "query {bad:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        if !bad.is_empty() {
            assert!(err.contains("malformed search query"), "query {bad:?}: {err}");
        }
    }
    // Quoting is the documented way to search punctuation.
    assert_eq!(env.run(&["search", "\"covid-19\""]).await.status.code(), Some(0));
}

const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World news" title="World news">
      <outline type="rss" text="Wire &amp; World" xmlUrl="https://wire.example/rss.xml" htmlUrl="https://wire.example/"/>
      <outline type="rss" text="Le Quotidien" xmlurl="https://quotidien.example/atom" category="/french,/daily"/>
    </outline>
    <outline type="rss" text="Untagged" xmlUrl="https://plain.example/feed.json"/>
  </body>
</opml>"#;

#[tokio::test]
async fn opml_import_prints_feeds_toml_that_the_config_accepts() {
    let env = TestEnv::new("");
    let file = env.dir.path().join("subs.opml");
    std::fs::write(&file, OPML).expect("write OPML");
    // No config needed to import: point --config at nothing.
    let out = tokio::process::Command::new(BIN)
        .args(["--config", "/nonexistent/feedsieve.toml", "opml", "import"])
        .arg(&file)
        .output()
        .await
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let toml_text = String::from_utf8_lossy(&out.stdout).to_string();
    let parsed: toml::Table = toml_text.parse().expect("import prints TOML");
    let feeds = parsed["feeds"].as_array().expect("a [[feeds]] list");
    assert_eq!(feeds.len(), 3, "{toml_text}");
    assert_eq!(feeds[0]["url"].as_str(), Some("https://wire.example/rss.xml"));
    assert_eq!(feeds[0]["name"].as_str(), Some("Wire & World"));
    assert_eq!(feeds[0]["tags"].as_array().map(Vec::len), Some(1));
    let tags: Vec<&str> =
        feeds[1]["tags"].as_array().expect("tags").iter().filter_map(toml::Value::as_str).collect();
    assert_eq!(tags, ["World news", "french", "daily"]);
    assert!(feeds[2].get("tags").is_none());

    // Appended to a config, it validates, and `opml export` gives the same list back.
    let config = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(&env.config, format!("{config}\n{toml_text}")).expect("write config");
    let out = env.run(&["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = env.run(&["opml", "export"]).await;
    assert_eq!(out.status.code(), Some(0));
    let exported = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(exported.starts_with("<?xml") && exported.contains("<opml version=\"2.0\">"), "{exported}");
    let again = env.dir.path().join("again.opml");
    std::fs::write(&again, &exported).expect("write");
    let out = env.run(&["opml", "import", again.to_str().expect("utf-8")]).await;
    let reparsed: toml::Table = String::from_utf8_lossy(&out.stdout).parse().expect("TOML");
    let mut urls: Vec<&str> =
        reparsed["feeds"].as_array().expect("feeds").iter().filter_map(|f| f["url"].as_str()).collect();
    urls.sort_unstable();
    assert_eq!(
        urls,
        ["https://plain.example/feed.json", "https://quotidien.example/atom", "https://wire.example/rss.xml"]
    );
}

#[tokio::test]
async fn opml_import_of_a_non_opml_file_is_a_usage_error() {
    let env = TestEnv::new("");
    let file = env.dir.path().join("feed.xml");
    std::fs::write(&file, "<rss version=\"2.0\"><channel/></rss>").expect("write");
    let out = env.run(&["opml", "import", file.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OPML document"));
    let out = env.run(&["opml", "import", "/nonexistent.opml"]).await;
    assert_eq!(out.status.code(), Some(2));
}
