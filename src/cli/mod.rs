//! Command-line interface: one file per command. `anyhow` lives here and in `main.rs` only.

mod backup;
mod check;
mod export;
mod opml;
mod reprocess;
mod feeds;
mod run;
mod search;
mod show;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use feedsieve::config::{self, Config};

/// feedsieve: polls feeds, cleans items, flags auto-generated copy, deduplicates, stores in SQLite.
#[derive(Debug, Parser)]
#[command(name = "feedsieve", version, about)]
pub struct Cli {
    /// Config file [default: $FEEDSIEVE_CONFIG, ./config/feedsieve.toml, /etc/feedsieve/feedsieve.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format on stderr (filter with FEEDSIEVE_LOG, e.g. "info,feedsieve=debug")
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll every enabled feed when due until SIGTERM/SIGINT
    Run(run::RunArgs),
    /// Validate the config and print the effective configuration
    Check,
    /// Stream stored articles as JSON lines or CSV
    Export(export::ExportArgs),
    /// Each feed with its health: last fetch, status, errors, next poll and why, items stored
    Feeds(feeds::FeedsArgs),
    /// Counts per feed and overall: items, flagged share, duplicate share, dropped, languages
    Stats(stats::StatsArgs),
    /// Full-text search over titles and text (FTS5 query syntax, bm25 ranking)
    Search(search::SearchArgs),
    /// Convert between OPML and the config's [[feeds]] list
    Opml(opml::OpmlArgs),
    /// Write a consistent copy of the database to PATH (VACUUM INTO; safe while the daemon runs)
    Backup(backup::BackupArgs),
    /// Re-run clean, flag and dedup over the stored raw items with the current config (after a rule change)
    Reprocess(reprocess::ReprocessArgs),
    /// One article with its flags and its duplicates (the cluster of copies of its story)
    Show(show::ShowArgs),
}

/// A usage error found after argument parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn init_logging(format: LogFormat) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FEEDSIEVE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // journald stamps every line itself: a second timestamp is noise.
    let result = match (format, stderr_is_journal()) {
        (LogFormat::Text, false) => builder.try_init(),
        (LogFormat::Text, true) => builder.without_time().try_init(),
        (LogFormat::Json, _) => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!(e))
}

/// Whether stderr is systemd's journal stream: `$JOURNAL_STREAM` ("device:inode") names the
/// stream systemd connected, and it must still be our stderr (not redirected since).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else { return false };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else { return false };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// Loads the config the command line points at (or the first one found).
pub(crate) fn load_config(explicit: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let env = std::env::var(config::CONFIG_ENV).ok();
    let path = config::locate(explicit, env.as_deref())?;
    let mut cfg = config::load(&path)?;
    cfg.source = path.canonicalize().unwrap_or(path);
    Ok(cfg)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    // Importing OPML reads a file and prints TOML: it needs no config (a fresh machine has none).
    if let Command::Opml(opml::OpmlArgs { action: opml::OpmlAction::Import { file } }) = &cli.command {
        return opml::import(file);
    }
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        Command::Check => check::check(&config),
        Command::Run(args) => runtime()?.block_on(run::run(config, args)),
        Command::Export(args) => runtime()?.block_on(export::export(config, args)),
        Command::Feeds(args) => runtime()?.block_on(feeds::feeds(config, args)),
        Command::Stats(args) => runtime()?.block_on(stats::stats(config, args)),
        Command::Search(args) => runtime()?.block_on(search::search(config, args)),
        Command::Opml(args) => match args.action {
            opml::OpmlAction::Import { file } => opml::import(&file),
            opml::OpmlAction::Export => opml::export(&config),
        },
        Command::Backup(args) => runtime()?.block_on(backup::backup(config, args)),
        Command::Reprocess(args) => runtime()?.block_on(reprocess::reprocess(config, args)),
        Command::Show(args) => runtime()?.block_on(show::show(config, args)),
    }
}
