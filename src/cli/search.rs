//! `feedsieve search QUERY`: full-text search (FTS5, bm25) over titles and text.

use std::io::Write;
use std::process::ExitCode;

use feedsieve::config::Config;
use feedsieve::db::{SearchError, SearchQuery, Store};
use feedsieve::model::Timestamp;

use super::UsageError;
use super::export::parse_since;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// FTS5 query: words (all must match), "a phrase", a OR b, NOT c, NEAR(a b, 5), prefix*,
    /// title:word
    pub query: String,
    /// At most this many hits, best first
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Only articles in this language (ISO 639-1, e.g. "id")
    #[arg(long)]
    pub lang: Option<String>,
    /// Only articles fetched since WHEN: an RFC 3339 time, a date (2026-11-01), or a duration ago (24h)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Timestamp>,
    /// Only articles of this feed: its url as in the config, or its name
    #[arg(long)]
    pub feed: Option<String>,
    /// Include articles flagged as auto-generated (left out by default)
    #[arg(long)]
    pub include_flagged: bool,
    /// Include duplicates (by default one article per story: the first-seen copy)
    #[arg(long)]
    pub include_duplicates: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub async fn search(config: Config, args: SearchArgs) -> anyhow::Result<ExitCode> {
    if args.query.trim().is_empty() {
        return Err(UsageError("the search query is empty".into()).into());
    }
    let store = Store::open(&config.database.path).await?;
    let query = SearchQuery {
        query: args.query,
        limit: args.limit,
        lang: args.lang.map(|l| l.trim().to_ascii_lowercase()),
        since: args.since,
        feed: args.feed,
        include_flagged: args.include_flagged,
        include_duplicates: args.include_duplicates,
    };
    let hits = store.search(&query).await;
    store.close().await;
    let hits = match hits {
        Ok(h) => h,
        Err(e @ SearchError::Malformed(_)) => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &hits)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        Format::Jsonl => hits.iter().try_for_each(|h| {
            serde_json::to_writer(&mut out, h).map_err(std::io::Error::from)?;
            writeln!(out)
        }),
        Format::Table => write_table(&mut out, &hits),
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn write_table(out: &mut impl Write, hits: &[feedsieve::db::SearchHit]) -> std::io::Result<()> {
    if hits.is_empty() {
        return writeln!(out, "no matches");
    }
    writeln!(out, "{:>8} {:>6} {:<4} {:<10} {:<24} title", "id", "score", "lang", "date", "feed")?;
    for h in hits {
        let a = &h.article;
        let date = a.published_at.as_deref().or(a.fetched_at.as_deref()).unwrap_or("-");
        let feed: String = a.feed_name.chars().take(24).collect();
        let mut marks = String::new();
        if a.auto_generated {
            marks.push_str(" [auto-generated]");
        }
        if let (Some(of), Some(kind)) = (a.duplicate_of, a.duplicate_kind.as_deref()) {
            marks.push_str(&format!(" [{kind} duplicate of {of}]"));
        }
        writeln!(
            out,
            "{:>8} {:>6.2} {:<4} {:<10} {:<24} {}{}",
            a.id,
            h.score,
            a.lang.as_deref().unwrap_or("-"),
            date.get(..10).unwrap_or(date),
            feed,
            a.title.as_deref().unwrap_or("(no title)"),
            marks
        )?;
        let snippet = h.snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        if !snippet.is_empty() {
            writeln!(out, "{:>8} {snippet}", "")?;
        }
    }
    Ok(())
}
