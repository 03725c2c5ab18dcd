//! End-to-end fetch benchmark: N feeds (default 10,000, `FARM_FEEDS`) of 50 items each, served by
//! a local keep-alive HTTP server on 100 loopback addresses (127.0.1.1 …), ingested by one
//! `feedsieve run --once` of the release binary, then polled again (every feed answers 304).
//! Reports feeds/s, CPU seconds and peak RSS of each pass.
//!
//! Run: `cargo bench --bench fetch_farm` (`FARM_FEEDS=2000` for a quicker run).
//! The bench config sets `per_host_interval = "0s"` (so that 100 feeds per host are not spaced a
//! second apart) and `allow_private = true`; every other setting is the default.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Serves `body` (ETag "v1") for any path on one listener; 304 when If-None-Match matches.
async fn serve(listener: tokio::net::TcpListener, body: Arc<String>) {
    while let Ok((mut sock, _)) = listener.accept().await {
        let body = Arc::clone(&body);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut pending: Vec<u8> = Vec::new();
            loop {
                let end = loop {
                    if let Some(p) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                pending.drain(..end);
                let response = if head.contains("if-none-match: \"v1\"") {
                    "HTTP/1.1 304 Not Modified\r\netag: \"v1\"\r\ncontent-length: 0\r\n\r\n".to_string()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\netag: \"v1\"\r\ncontent-length: {}\r\n\r\n{}",
                        body.len(),
                        body
                    )
                };
                if sock.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

struct Pass {
    wall: Duration,
    cpu: Duration,
    summary: String,
}

fn run_pass(bin: &str, config: &std::path::Path) -> Pass {
    use nix::sys::resource::{UsageWho, getrusage};
    let before = getrusage(UsageWho::RUSAGE_CHILDREN).ok();
    let started = Instant::now();
    let out = std::process::Command::new(bin)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--once"])
        .env("FEEDSIEVE_LOG", "error")
        .output();
    let wall = started.elapsed();
    let after = getrusage(UsageWho::RUSAGE_CHILDREN).ok();
    let cpu = match (before, after) {
        (Some(b), Some(a)) => {
            let secs = |u: nix::sys::resource::Usage| {
                let (us, sy) = (u.user_time(), u.system_time());
                Duration::from_secs_f64(
                    us.tv_sec() as f64
                        + us.tv_usec() as f64 / 1e6
                        + sy.tv_sec() as f64
                        + sy.tv_usec() as f64 / 1e6,
                )
            };
            secs(a).saturating_sub(secs(b))
        }
        _ => Duration::ZERO,
    };
    let summary =
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_else(|e| e.to_string());
    Pass { wall, cpu, summary }
}

fn peak_rss_mib() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    // ru_maxrss is in KiB on Linux: the largest child so far.
    getrusage(UsageWho::RUSAGE_CHILDREN).map(|u| u.max_rss() as f64 / 1024.0).unwrap_or(0.0)
}

fn main() {
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
        rt.spawn(serve(listener, Arc::clone(&body)));
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let config = dir.path().join("farm.toml");
    let Ok(mut f) = std::fs::File::create(&config) else { return };
    let _ = writeln!(
        f,
        "[database]\npath = \"farm.db\"\n[fetch]\nallow_private = true\nper_host_interval = \"0s\"\n"
    );
    for i in 0..feeds {
        let host = hosts[i % hosts.len()];
        let _ = writeln!(f, "[[feeds]]\nurl = \"http://{host}/feed/{i}.xml\"\nname = \"farm {i}\"\n");
    }
    drop(f);

    println!("fetch_farm: {feeds} feeds x 50 items on {HOSTS} loopback hosts, body {} bytes", body.len());
    let fresh = run_pass(bin, &config);
    let rss_fresh = peak_rss_mib();
    println!(
        "  fresh pass: {:.1} s wall, {:.1} s CPU, {:.0} feeds/s, {:.0} items/s, peak RSS {:.0} MiB\n    {}",
        fresh.wall.as_secs_f64(),
        fresh.cpu.as_secs_f64(),
        feeds as f64 / fresh.wall.as_secs_f64(),
        (feeds * 50) as f64 / fresh.wall.as_secs_f64(),
        rss_fresh,
        fresh.summary
    );
    let not_modified = run_pass(bin, &config);
    println!(
        "  304 pass:   {:.1} s wall, {:.1} s CPU, {:.0} feeds/s, peak RSS (max of both passes) {:.0} MiB\n    {}",
        not_modified.wall.as_secs_f64(),
        not_modified.cpu.as_secs_f64(),
        feeds as f64 / not_modified.wall.as_secs_f64(),
        peak_rss_mib(),
        not_modified.summary
    );
    let db = dir.path().join("farm.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("  database: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
}
