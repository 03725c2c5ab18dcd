use crate::helpers::*;

#[tokio::test]
async fn missing_config_file_exits_2_and_names_the_file() {
    let env = TestEnv::new("");
    let missing = env.dir.path().join("nowhere.toml");
    let out = tokio::process::Command::new(BIN)
        .args(["--config", missing.to_str().expect("utf-8 path"), "check"])
        .output()
        .await
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere.toml"), "stderr does not name the file: {err}");
}

#[tokio::test]
async fn unknown_key_exits_2_and_names_the_key() {
    let env = TestEnv::with_fetch("retries = 3", "");
    let out = env.run(&["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fetch.retries"), "stderr does not name the key: {err}");

    let env = TestEnv::new("[[feeds]]\nurl = \"a.xml\"\nintervall = \"5m\"\n");
    let out = env.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("feeds[0].intervall"));
}

#[tokio::test]
async fn invalid_value_exits_2_and_names_the_key() {
    let env = TestEnv::with_fetch("max_body = \"huge\"", "");
    let out = env.run(&["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fetch.max_body"));
}

#[tokio::test]
async fn check_prints_the_effective_config() {
    let env = TestEnv::new(&feed_toml("feeds/a.xml", "A"));
    let out = env.run(&["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // defaults are filled in, relative paths resolved against the config folder
    assert!(text.contains("max_body = \"16MiB\""), "{text}");
    assert!(text.contains("concurrency = 64"), "{text}");
    let db = env.dir.path().canonicalize().expect("exists").join("test.db");
    assert!(text.contains(&db.display().to_string()), "{text}");
    // the printed config is itself a valid config
    let reparsed: toml::Table = text.parse().expect("check prints TOML");
    assert!(reparsed.contains_key("feeds"));
}

#[tokio::test]
async fn env_overrides_and_config_env_var_apply() {
    let env = TestEnv::new("");
    let out = tokio::process::Command::new(BIN)
        .arg("check")
        .env("FEEDSIEVE_CONFIG", &env.config)
        .env("FEEDSIEVE__FETCH__CONCURRENCY", "7")
        .output()
        .await
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("concurrency = 7"));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let env = TestEnv::new("");
    assert_eq!(env.run(&["frobnicate"]).await.status.code(), Some(2));
    assert_eq!(env.run(&["export", "--since", "next tuesday"]).await.status.code(), Some(2));
}

#[tokio::test]
async fn an_unusable_database_exits_1() {
    let env = TestEnv::new("");
    // The database path is a directory: opening it fails at run time, not at config time.
    std::fs::create_dir(env.db_path()).expect("mkdir");
    let out = env.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_shipped_default_config_runs_offline() {
    let env = TestEnv::new("");
    // Copy config/ as a user would have it, and run it with no network at all.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let dst = env.dir.path().join("config");
    std::fs::create_dir_all(dst.join("samples")).expect("mkdir");
    std::fs::copy(src.join("feedsieve.toml"), dst.join("feedsieve.toml")).expect("copy config");
    for e in std::fs::read_dir(src.join("samples")).expect("samples") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dst.join("samples").join(e.file_name())).expect("copy sample");
    }
    let run = |args: &'static [&'static str]| {
        let mut c = tokio::process::Command::new(BIN);
        c.args(args).current_dir(env.dir.path()).env_remove("FEEDSIEVE_CONFIG").env("FEEDSIEVE_LOG", "warn");
        c.output()
    };
    let out = run(&["run", "--once"]).await.expect("binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    let counts = summary_counts(&summary);
    assert_eq!(counts.get("ok"), Some(&4), "{summary}");
    assert_eq!(counts.get("failed"), Some(&0), "{summary}");
    assert!(counts.get("new").copied().unwrap_or(0) >= 8, "{summary}");
    // The samples carry an English, an Indonesian and a Spanish auto-generated notice.
    assert_eq!(counts.get("flagged"), Some(&3), "{summary}");
    assert!(dst.join("feedsieve.db").is_file(), "database created next to the config");

    let out = run(&["export"]).await.expect("binary runs");
    let langs: std::collections::HashSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["lang"].as_str().map(str::to_owned))
        .collect();
    assert!(langs.len() >= 3, "samples cover several languages: {langs:?}");
}
