//! End-to-end fetch benchmark: N feeds (default 10,000, `FARM_FEEDS`) of 50 items each, served by
//! a local keep-alive HTTP server on 100 loopback addresses (127.0.1.1 …), ingested by one
//! `feedsieve run --once` of the release binary, then polled again (every feed answers 304).
//! Reports feeds/s, CPU seconds and peak RSS of each pass.
//!
//! Run: `cargo bench --bench fetch_farm` (`FARM_FEEDS=2000` for a quicker run).
//! The bench config sets `per_host_interval = "0s"` (so that 100 feeds per host are not spaced a
//! second apart) and `allow_private = true`; every other setting is the default.

use std::sync::Arc;

mod common;

const HOSTS: usize = 100;

fn feed_body(items: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Farm</title>\
         <link>https://farm.example/</link><description>bench</description><language>en</language>\n",
    );
    for i in 0..items {
        s.push_str(&format!(
            "<item><title>Council approves plan number {i} for the river district</title>\
             <link>https://farm.example/news/{i}</link><guid>farm-{i}</guid>\
             <pubDate>Tue, 24 Nov 2026 08:{:02}:00 GMT</pubDate><description><![CDATA[<p>The city council \
             approved plan {i} on Tuesday after a long debate about the budget, the bridges and the \
             schools of the river district.</p><p>Also Read: <a href=\"/x\">Other story</a></p><p>Officials \
             said work would begin next spring and take about {i} months, with most of the cost covered \
             by the regional government.</p>]]></description></item>\n",
            i % 60
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

/// A response to any path: `body` with ETag "v1", or 304 when If-None-Match matches.
fn respond(head: &str, body: &str) -> String {
    if head.to_ascii_lowercase().contains("if-none-match: \"v1\"") {
        "HTTP/1.1 304 Not Modified\r\netag: \"v1\"\r\ncontent-length: 0\r\n\r\n".to_string()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\netag: \"v1\"\r\ncontent-length: {}\r\n\r\n{}",
            body.len(),
            body
        )
    }
}

fn main() {
    common::measure_if_asked();
    let feeds: usize = std::env::var("FARM_FEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let bin = env!("CARGO_BIN_EXE_feedsieve");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
    let Ok(rt) = rt else {
        eprintln!("cannot start a runtime");
        return;
    };
    let body = Arc::new(feed_body(50));
    let mut hosts = Vec::new();
    for h in 0..HOSTS {
        let addr = format!("127.0.1.{}:0", h + 1);
        let Ok(listener) = rt.block_on(tokio::net::TcpListener::bind(&addr)) else {
            eprintln!("cannot bind {addr}");
            return;
        };
        let Ok(local) = listener.local_addr() else { return };
        hosts.push(local);
        let body = Arc::clone(&body);
        rt.spawn(common::serve_keep_alive(listener, Arc::new(move |head: &str| respond(head, &body))));
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let urls = (0..feeds).map(|i| format!("http://{}/feed/{i}.xml", hosts[i % hosts.len()]));
    let Some(config) = common::write_config(dir.path(), "farm.db", urls) else { return };

    println!("fetch_farm: {feeds} feeds x 50 items on {HOSTS} loopback hosts, body {} bytes", body.len());
    let fresh = common::run_pass(bin, &config);
    println!(
        "  fresh pass: {:.1} s wall, {:.1} s CPU, {:.0} feeds/s, {:.0} items/s, peak RSS {:.0} MiB\n    {}",
        fresh.wall.as_secs_f64(),
        fresh.cpu.as_secs_f64(),
        feeds as f64 / fresh.wall.as_secs_f64(),
        (feeds * 50) as f64 / fresh.wall.as_secs_f64(),
        fresh.peak_rss_mib,
        fresh.summary
    );
    let not_modified = common::run_pass(bin, &config);
    println!(
        "  304 pass:   {:.1} s wall, {:.1} s CPU, {:.0} feeds/s, peak RSS {:.0} MiB\n    {}",
        not_modified.wall.as_secs_f64(),
        not_modified.cpu.as_secs_f64(),
        feeds as f64 / not_modified.wall.as_secs_f64(),
        not_modified.peak_rss_mib,
        not_modified.summary
    );
    let db = dir.path().join("farm.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("  database: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
}
