//! `feedsieve export`: stream stored articles as JSON lines (DESIGN §3) or CSV.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use feedsieve::config::Config;
use feedsieve::db::{ExportFilter, ExportRow, Store};
use feedsieve::model::Timestamp;
use futures_util::TryStreamExt;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Every stored item, duplicates included (default: unique articles only)
    #[arg(long)]
    pub all: bool,
    /// Only articles fetched since WHEN: an RFC 3339 time, a date (2026-11-01), or a duration ago (24h)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Timestamp>,
}

/// `--since`: RFC 3339, `YYYY-MM-DD` (midnight UTC), or a duration before now.
pub fn parse_since(s: &str) -> Result<Timestamp, String> {
    if let Some(t) = Timestamp::parse(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(Timestamp(d.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    if let Ok(d) = humantime::parse_duration(s.trim()) {
        let d = chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
        return Ok(Timestamp(chrono::Utc::now() - d));
    }
    Err(format!("{s:?} is not an RFC 3339 time, a YYYY-MM-DD date or a duration like \"24h\""))
}

const CSV_HEADER: [&str; 20] = [
    "id",
    "feed_url",
    "feed_name",
    "guid",
    "url",
    "canonical_url",
    "title",
    "author",
    "published_at",
    "updated_at",
    "fetched_at",
    "lang",
    "text",
    "html",
    "auto_generated",
    "auto_generated_rule",
    "auto_generated_marker",
    "duplicate_of",
    "duplicate_kind",
    "similarity",
];

pub async fn export(config: Config, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    let filter = ExportFilter { all: args.all, since: args.since };
    let stdout = std::io::stdout().lock();
    let result = write_rows(&store, &filter, args.format, stdout).await;
    store.close().await;
    match result {
        // A closed pipe (`feedsieve export | head`) is the reader's choice, not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

async fn write_rows(
    store: &Store,
    filter: &ExportFilter,
    format: Format,
    out: impl Write,
) -> anyhow::Result<()> {
    let mut rows = store.export(filter);
    match format {
        Format::Jsonl => {
            let mut out = BufWriter::new(out);
            while let Some(row) = rows.try_next().await.context("reading articles")? {
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_HEADER)?;
            while let Some(row) = rows.try_next().await.context("reading articles")? {
                w.write_record(csv_record(&row))?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

fn csv_record(r: &ExportRow) -> [String; 20] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.id.to_string(),
        r.feed_url.clone(),
        r.feed_name.clone(),
        r.guid.clone(),
        o(&r.url),
        o(&r.canonical_url),
        o(&r.title),
        o(&r.author),
        o(&r.published_at),
        o(&r.updated_at),
        o(&r.fetched_at),
        o(&r.lang),
        r.text.clone(),
        o(&r.html),
        r.auto_generated.to_string(),
        o(&r.auto_generated_rule),
        o(&r.auto_generated_marker),
        r.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
        o(&r.duplicate_kind),
        r.similarity.map(|s| s.to_string()).unwrap_or_default(),
    ]
}
