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
    assert_eq!((again["new"], again["dropped"], again["unchanged"]), (0, 0, 2));
}
