//! `feedsieve stats`: per feed and overall: items, flagged share, duplicate share, dropped
//! sightings, languages.

use std::process::ExitCode;

use feedsieve::config::Config;
use feedsieve::db::{StatsRow, Store};
use serde::Serialize;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    row: &'a StatsRow,
    flagged_share: f64,
    duplicate_share: f64,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn entry(row: &StatsRow) -> Entry<'_> {
    Entry {
        row,
        flagged_share: share(row.flagged, row.items),
        duplicate_share: share(row.duplicates, row.items),
    }
}

fn total(rows: &[StatsRow]) -> StatsRow {
    let mut t = StatsRow { url: String::new(), name: "all feeds".into(), ..StatsRow::default() };
    for r in rows {
        t.items += r.items;
        t.flagged += r.flagged;
        t.duplicates += r.duplicates;
        t.dropped += r.dropped;
        for (lang, n) in &r.languages {
            *t.languages.entry(lang.clone()).or_default() += n;
        }
    }
    t
}

pub async fn stats(config: Config, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    let rows = store.stats().await;
    store.close().await;
    let rows = rows?;
    let overall = total(&rows);
    match args.format {
        Format::Json => {
            let feeds: Vec<Entry<'_>> = rows.iter().map(entry).collect();
            let doc = serde_json::json!({ "feeds": feeds, "overall": entry(&overall) });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => {
            println!(
                "{:<40} {:>7} {:>16} {:>16} {:>8}  languages",
                "feed", "items", "flagged", "duplicates", "dropped"
            );
            for r in rows.iter().chain(std::iter::once(&overall)) {
                let langs: Vec<String> = r.languages.iter().map(|(l, n)| format!("{l}:{n}")).collect();
                let name: String = r.name.chars().take(40).collect();
                println!(
                    "{:<40} {:>7} {:>7} ({:>5.1}%) {:>7} ({:>5.1}%) {:>8}  {}",
                    name,
                    r.items,
                    r.flagged,
                    100.0 * share(r.flagged, r.items),
                    r.duplicates,
                    100.0 * share(r.duplicates, r.items),
                    r.dropped,
                    langs.join(" ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
