//! `feedsieve backup PATH`: a consistent, compacted copy of the database (`VACUUM INTO`), safe to
//! take while the daemon runs.

use std::path::PathBuf;
use std::process::ExitCode;

use feedsieve::config::Config;
use feedsieve::db::Store;

use super::UsageError;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist yet)
    pub path: PathBuf,
}

pub async fn backup(config: Config, args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.path.exists() {
        return Err(
            UsageError(format!("{} exists; a backup never overwrites a file", args.path.display())).into()
        );
    }
    if let Some(parent) = args.path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(UsageError(format!("{} is not a folder", parent.display())).into());
    }
    let store = Store::open(&config.database.path).await?;
    let result = store.backup(&args.path).await;
    store.close().await;
    result?;
    let size = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or_default();
    println!("backup written to {} ({})", args.path.display(), bytesize::ByteSize::b(size));
    Ok(ExitCode::SUCCESS)
}
