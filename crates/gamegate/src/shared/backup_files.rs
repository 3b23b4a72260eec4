//! The backups of the two databases as files: which databases a backup
//! covers, the file-name prefix of each, and finding the newest (written by
//! `gamegate backup` or a dump recipe; read by `doctor`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Config;

/// The two databases, with the file-name prefix of their backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Accounts,
    Analytics,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Accounts => "accounts",
            Which::Analytics => "analytics",
        }
    }

    /// Every backup of this database in `backup.dir` starts with it, whoever
    /// wrote it (`gamegate backup` or the dump recipes); doctor looks for it.
    pub fn prefix(self) -> &'static str {
        match self {
            Which::Accounts => "gamegate-accounts-",
            Which::Analytics => "gamegate-analytics-",
        }
    }

    pub fn url(self, config: &Config) -> &str {
        match self {
            Which::Accounts => &config.database.url,
            Which::Analytics => &config.analytics.url,
        }
    }
}

/// The databases a backup covers: both, or only accounts when analytics
/// lives in the same database.
pub fn databases(config: &Config) -> Vec<Which> {
    if config.analytics.url == config.database.url {
        vec![Which::Accounts]
    } else {
        vec![Which::Accounts, Which::Analytics]
    }
}

/// Backups of one database in `dir` (files starting with `prefix`, not the
/// hidden temporary ones), newest name first: the names sort by time.
pub fn backups(dir: &Path, prefix: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found.reverse();
    Ok(found)
}

/// The newest backup by modification time, with its age.
pub fn newest(dir: &Path, prefix: &str) -> std::io::Result<Option<(PathBuf, Duration)>> {
    let mut best: Option<(PathBuf, SystemTime)> = None;
    for path in backups(dir, prefix)? {
        let modified = std::fs::metadata(&path)?.modified()?;
        if best.as_ref().is_none_or(|(_, m)| modified > *m) {
            best = Some((path, modified));
        }
    }
    Ok(best.map(|(p, m)| {
        let age = SystemTime::now().duration_since(m).unwrap_or_default();
        (p, age)
    }))
}
