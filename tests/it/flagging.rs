use crate::helpers::*;

async fn env_with(rules_and_flag: &str, feed_extra: &str) -> (wiremock::MockServer, TestEnv) {
    let server = wiremock::MockServer::start().await;
    serve(&server, "/feed.json", &fixture("feeds/feed.json"), "application/feed+json").await;
    let env = TestEnv::new(&format!(
        "{rules_and_flag}\n[[feeds]]\nurl = \"{}/feed.json\"\n{feed_extra}",
        server.uri()
    ));
    (server, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_rule_flags_with_rule_id_and_exact_marker() {
    let (_server, env) = env_with(
        "[[flag.rules]]\nid = \"testbot\"\npattern = \"(?i)generado automáticamente por \\\\w+\"\n",
        "",
    )
    .await;
    let summary = env.run_once().await;
    assert_eq!(summary_counts(&summary)["flagged"], 1, "{summary}");
    let rows = env.export(&[]).await;
    let j1 = rows.iter().find(|r| r["guid"] == "j-1").expect("j-1 exported");
    assert_eq!(j1["auto_generated"], true);
    assert_eq!(j1["auto_generated_rule"], "testbot");
    assert_eq!(j1["auto_generated_marker"], "Generado automáticamente por TestBot");
    let j2 = rows.iter().find(|r| r["guid"] == "j-2").expect("j-2 exported");
    assert_eq!(j2["auto_generated"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn action_drop_keeps_the_sighting_but_no_article() {
    let (_server, env) = env_with(
        "[[flag.rules]]\nid = \"testbot\"\nphrases = [\"por TestBot\"]\n",
        "flag.action = \"drop\"\n",
    )
    .await;
    let summary = env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["new"], c["flagged"], c["dropped"]), (2, 1, 1), "{summary}");
    let rows = env.export(&[]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["guid"], "j-2");
    let pool = env.db().await;
    let (raw,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM raw_items").fetch_one(&pool).await.expect("count");
    assert_eq!(raw, 2, "the dropped item's sighting is recorded");
    // Nothing changed: a second pass drops nothing again and stores nothing.
    let again = summary_counts(&env.run_once().await);
    assert_eq!((again["new"], again["updated"], again["dropped"]), (0, 0, 0));
}

const NOTICE_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Wire copy</title>
<item><guid>w-1</guid><title>Freight corridor approved</title><link>https://wire.example/1</link>
<description><![CDATA[<p>New Delhi, Nov 24 (PTI) The cabinet approved a freight corridor on Tuesday.</p>
<p><em>(This story has not been edited by Example&nbsp;Daily staff<br>and is auto-generated from a syndicated feed.)</em></p>]]></description>
<source url="https://pti.example/rss">Press Trust of India</source></item>
<item><guid>w-2</guid><title>Council approves budget</title><link>https://wire.example/2</link>
<description><![CDATA[<p>The council approved the budget by nine votes to two after a long debate on Tuesday night.</p>]]></description>
<dc:source>Reuters</dc:source></item>
<item><guid>w-3</guid><title>How content farms recycle wire copy</title><link>https://wire.example/3</link>
<description><![CDATA[<p>Scroll to the bottom of many news sites and you will find a line saying the story has not been edited by staff and is auto-generated from a syndicated feed.</p><p>Editors defend the practice.</p>]]></description></item>
</channel></rss>"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_builtin_notice_is_exported_with_its_evidence() {
    let server = wiremock::MockServer::start().await;
    serve(&server, "/wire.xml", NOTICE_FEED, "application/rss+xml").await;
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{}/wire.xml\"\n", server.uri()));
    let summary = summary_counts(&env.run_once().await);
    assert_eq!((summary["new"], summary["flagged"]), (3, 1));
    let rows = env.export(&[]).await;
    let w1 = rows.iter().find(|r| r["guid"] == "w-1").expect("w-1");
    assert_eq!(w1["auto_generated"], true);
    assert_eq!(w1["auto_generated_rule"], "builtin:unedited-syndicated");
    // The marker as it appears in the text: NBSP and the line break folded to spaces.
    assert_eq!(
        w1["auto_generated_marker"],
        "(This story has not been edited by Example Daily staff and is auto-generated from a syndicated feed.)"
    );
    assert_eq!(w1["text"], "New Delhi, Nov 24 (PTI) The cabinet approved a freight corridor on Tuesday.");
    // Weak evidence alone (w-2 names Reuters) and an article about notices (w-3) are not flagged.
    for guid in ["w-2", "w-3"] {
        let r = rows.iter().find(|r| r["guid"] == guid).expect("exported");
        assert_eq!(r["auto_generated"], false, "{guid}");
        assert!(r["auto_generated_marker"].is_null());
    }
    let pool = env.db().await;
    let evidence: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT guid, auto_generated_position, syndication_source FROM articles ORDER BY guid",
    )
    .fetch_all(&pool)
    .await
    .expect("query");
    assert_eq!(
        evidence,
        vec![
            ("w-1".into(), Some("end".into()), Some("Press Trust of India".into())),
            ("w-2".into(), None, Some("Reuters".into())),
            ("w-3".into(), None, None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_items_are_counted_absent_from_export_and_visible_in_stats() {
    let server = wiremock::MockServer::start().await;
    serve(&server, "/wire.xml", NOTICE_FEED, "application/rss+xml").await;
    let env = TestEnv::new(&format!(
        "[flag]\naction = \"drop\"\n[[feeds]]\nurl = \"{}/wire.xml\"\nname = \"Wire\"\n",
        server.uri()
    ));
    let summary = summary_counts(&env.run_once().await);
    assert_eq!((summary["new"], summary["flagged"], summary["dropped"]), (3, 1, 1));
    let rows = env.export(&[]).await;
    assert!(rows.iter().all(|r| r["guid"] != "w-1"), "dropped item is not exported");
    assert_eq!(rows.len(), 2);

    let out = env.run(&["stats", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    let feed = &stats["feeds"][0];
    assert_eq!(
        (feed["name"].as_str(), feed["items"].as_i64(), feed["dropped"].as_i64()),
        (Some("Wire"), Some(2), Some(1))
    );
    assert_eq!(stats["overall"]["dropped"], 1);
    let table = env.run(&["stats"]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Wire") && text.contains("all feeds"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flagged_share_shows_in_stats() {
    let server = wiremock::MockServer::start().await;
    serve(&server, "/wire.xml", NOTICE_FEED, "application/rss+xml").await;
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{}/wire.xml\"\n", server.uri()));
    env.run_once().await;
    let out = env.run(&["stats", "--format", "json"]).await;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    let share = stats["feeds"][0]["flagged_share"].as_f64().expect("share");
    assert!((share - 1.0 / 3.0).abs() < 1e-9, "{share}");
    assert_eq!(stats["overall"]["languages"]["en"], 3);
}
