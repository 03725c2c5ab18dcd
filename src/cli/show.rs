//! `feedsieve show ID`: one article with its flag evidence and the cluster of copies it belongs
//! to (the first-seen article and every copy linked to it).

use std::process::ExitCode;

use feedsieve::config::Config;
use feedsieve::db::{ExportRow, Store};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The article id (the `id` of `export`, `search` and the `articles` table)
    pub id: i64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn show(config: Config, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database.path).await?;
    let found = async {
        let Some(article) = store.article(args.id).await? else { return Ok(None) };
        let root = article.duplicate_of.unwrap_or(article.id);
        let cluster = store.cluster(root).await?;
        Ok::<_, sqlx::Error>(Some((article, cluster)))
    }
    .await;
    store.close().await;
    let Some((article, cluster)) = found? else {
        eprintln!("feedsieve: no article with id {}", args.id);
        return Ok(ExitCode::from(1));
    };
    match args.format {
        Format::Json => {
            let out = serde_json::json!({ "article": article, "cluster": cluster });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => print!("{}", render(&article, &cluster)),
    }
    Ok(ExitCode::SUCCESS)
}

fn render(a: &ExportRow, cluster: &[ExportRow]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let field = |out: &mut String, name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let _ = writeln!(out, "{name:<13} {v}");
        }
    };
    let _ = writeln!(out, "article {}", a.id);
    field(&mut out, "title", a.title.as_deref());
    field(&mut out, "feed", Some(&format!("{} ({})", a.feed_name, a.feed_url)));
    field(&mut out, "url", a.url.as_deref());
    field(&mut out, "canonical", a.canonical_url.as_deref());
    field(&mut out, "author", a.author.as_deref());
    field(&mut out, "published", a.published_at.as_deref());
    field(&mut out, "fetched", a.fetched_at.as_deref());
    field(&mut out, "lang", a.lang.as_deref());
    if a.auto_generated {
        let rule = a.auto_generated_rule.as_deref().unwrap_or("?");
        let marker = a.auto_generated_marker.as_deref().unwrap_or_default();
        field(&mut out, "flagged", Some(&format!("{rule}: \"{marker}\"")));
    }
    if let (Some(of), Some(kind)) = (a.duplicate_of, a.duplicate_kind.as_deref()) {
        let sim = a.similarity.map(|s| format!(", similarity {s:.3}")).unwrap_or_default();
        field(&mut out, "duplicate of", Some(&format!("{of} ({kind}{sim})")));
    }
    let _ = writeln!(out, "\n{}\n", a.text);
    if cluster.len() > 1 {
        let _ = writeln!(out, "cluster ({} copies of this story):", cluster.len());
        for c in cluster {
            let how = match (&c.duplicate_kind, c.similarity) {
                (Some(kind), Some(s)) => format!("{kind} {s:.3}"),
                (Some(kind), None) => kind.clone(),
                _ => "first seen".into(),
            };
            let here = if c.id == a.id { "*" } else { " " };
            let _ = writeln!(
                out,
                "{here} {:>8}  {:<16} {:<5} {:<24} {}  {}",
                c.id,
                how,
                c.lang.as_deref().unwrap_or("-"),
                c.feed_name,
                c.title.as_deref().unwrap_or("(no title)"),
                c.url.as_deref().unwrap_or_default()
            );
        }
    } else {
        let _ = writeln!(out, "no other copies of this story");
    }
    out
}
