//! What the end-to-end benches share: a keep-alive HTTP/1.1 server on a loopback listener, and
//! the CPU and peak RSS of the child processes they run.

#![allow(dead_code, reason = "each bench uses part of this module")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves every connection of `listener`: for each request, `respond` gets the request head
/// (request line and headers) and returns the whole response.
pub async fn serve_keep_alive(
    listener: tokio::net::TcpListener,
    respond: Arc<dyn Fn(&str) -> String + Send + Sync>,
) {
    while let Ok((mut sock, _)) = listener.accept().await {
        let respond = Arc::clone(&respond);
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
                let head = String::from_utf8_lossy(&pending[..end]).to_string();
                pending.drain(..end);
                if sock.write_all(respond(&head).as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// User plus system CPU time of `who` so far.
pub fn cpu(who: nix::sys::resource::UsageWho) -> Duration {
    let Ok(u) = nix::sys::resource::getrusage(who) else { return Duration::ZERO };
    let (us, sy) = (u.user_time(), u.system_time());
    Duration::from_secs_f64(
        us.tv_sec() as f64 + us.tv_usec() as f64 / 1e6 + sy.tv_sec() as f64 + sy.tv_usec() as f64 / 1e6,
    )
}

/// The largest resident set of any child process waited for so far, in MiB.
pub fn peak_rss_mib() -> f64 {
    // ru_maxrss is in KiB on Linux.
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss() as f64 / 1024.0)
        .unwrap_or(0.0)
}

/// Writes a bench config in `dir`: database `db`, loopback allowed, no per-host spacing (many
/// feeds share a host), every other setting the default; one feed per url. Returns its path.
pub fn write_config(
    dir: &std::path::Path,
    db: &str,
    urls: impl Iterator<Item = String>,
) -> Option<std::path::PathBuf> {
    use std::fmt::Write as _;
    let mut text =
        format!("[database]\npath = \"{db}\"\n[fetch]\nallow_private = true\nper_host_interval = \"0s\"\n\n");
    for (i, url) in urls.enumerate() {
        let _ = writeln!(text, "[[feeds]]\nurl = \"{url}\"\nname = \"feed {i}\"\n");
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).ok().map(|()| path)
}

/// One `feedsieve run --once`: wall time, CPU seconds and its summary line.
pub struct Pass {
    pub wall: Duration,
    pub cpu: Duration,
    pub summary: String,
}

/// Runs `bin run --once` on `config` and measures it.
pub fn run_pass(bin: &str, config: &std::path::Path) -> Pass {
    let before = cpu(nix::sys::resource::UsageWho::RUSAGE_CHILDREN);
    let started = Instant::now();
    let out = std::process::Command::new(bin)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--once"])
        .env("FEEDSIEVE_LOG", "error")
        .output();
    let wall = started.elapsed();
    let cpu = cpu(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).saturating_sub(before);
    let summary =
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_else(|e| e.to_string());
    Pass { wall, cpu, summary }
}
