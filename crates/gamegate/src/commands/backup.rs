//! `gamegate backup`: an online, consistent copy of each SQLite database
//! (`VACUUM INTO` through the store's connection, while the services keep
//! running), written to a temporary file mode 0600 and renamed into place,
//! with retention. MySQL/MariaDB and PostgreSQL are dumped with their own
//! tools; for them the command prints the recipe (password masked) and fails,
//! so a timer never mistakes it for a backup.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use gamegate_store::{Backend, Database};

use crate::config::Config;
use crate::shared::atomic_file::Pending;
pub use crate::shared::backup_files::{Which, backups, databases, newest};
pub use crate::shared::operator_db::open_existing;

/// Bound on one `VACUUM INTO`. Generous: it is proportional to the database
/// size (docs/BENCHMARKS.md has the measured rate), and nothing waits on it.
pub const COPY_LIMIT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Write the accounts database's copy to this file (no retention) instead
    /// of a timestamped file in backup.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the analytics database's copy to this file. With --out or
    /// --analytics-out only the databases named are copied.
    #[arg(long)]
    pub analytics_out: Option<PathBuf>,
}

/// What happened to one database.
#[derive(Debug)]
pub enum Outcome {
    Written {
        path: PathBuf,
        bytes: u64,
        elapsed: Duration,
        /// Older backups deleted by retention.
        removed: Vec<PathBuf>,
    },
    /// Not SQLite: the dump command to run instead (password masked).
    Recipe(String),
}

/// Runs the command's work and returns one outcome per database copied or
/// explained. The caller prints them.
pub async fn run(config: &Config, args: &BackupArgs) -> anyhow::Result<Vec<(Which, Outcome)>> {
    let explicit: Vec<(Which, PathBuf)> = [
        (Which::Accounts, args.out.clone()),
        (Which::Analytics, args.analytics_out.clone()),
    ]
    .into_iter()
    .filter_map(|(which, out)| out.map(|o| (which, o)))
    .collect();
    let mut outcomes = Vec::new();
    if !explicit.is_empty() {
        for (which, out) in explicit {
            outcomes.push((which, back_up(config, which, Target::File(out)).await?));
        }
        return Ok(outcomes);
    }
    if config.backup.dir.is_empty() {
        bail!("backup.dir is not set: set it (GAMEGATE_BACKUP__DIR) or pass --out FILE");
    }
    let dir = PathBuf::from(&config.backup.dir);
    create_private_dir(&dir)?;
    for which in databases(config) {
        let outcome = back_up(config, which, Target::Dir(dir.clone())).await?;
        outcomes.push((which, outcome));
    }
    Ok(outcomes)
}

enum Target {
    File(PathBuf),
    Dir(PathBuf),
}

async fn back_up(config: &Config, which: Which, target: Target) -> anyhow::Result<Outcome> {
    let url = which.url(config);
    if Backend::from_url(url)? != Backend::Sqlite {
        let dir = match &target {
            Target::Dir(d) => d.display().to_string(),
            Target::File(f) => f
                .parent()
                .map(|p| p.display().to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| ".".into()),
        };
        return Ok(Outcome::Recipe(recipe(which, url, &dir)?));
    }
    let db = open_existing(url, Duration::from_secs(5))
        .await
        .with_context(|| {
            format!(
                "cannot open the {} database {}",
                which.name(),
                gamegate_store::mask_url_password(url)
            )
        })?;
    let (path, keep) = match target {
        Target::File(f) => (f, None),
        Target::Dir(d) => (
            d.join(format!(
                "{}{}.db",
                which.prefix(),
                timestamp(SystemTime::now())
            )),
            Some((d, config.backup.keep)),
        ),
    };
    let started = Instant::now();
    let result = copy_sqlite(&db, &path).await;
    db.close().await;
    let bytes = result?;
    let elapsed = started.elapsed();
    let removed = match keep {
        Some((dir, keep)) if keep > 0 => prune(&dir, which.prefix(), keep as usize)?,
        _ => Vec::new(),
    };
    Ok(Outcome::Written {
        path,
        bytes,
        elapsed,
        removed,
    })
}

/// `VACUUM INTO` a temporary file beside `path` (created empty with mode
/// 0600, so the copy is never readable by others), fsync, rename: `path`
/// is either absent or a complete backup. Returns its size.
pub async fn copy_sqlite(db: &Database, path: &Path) -> anyhow::Result<u64> {
    // Created empty, then filled by SQLite; removed again on any error.
    let (pending, _) = Pending::create(path, 0o600)?;
    db.sqlite_backup_into(pending.path(), COPY_LIMIT)
        .await
        .with_context(|| format!("VACUUM INTO {} failed", pending.path().display()))?;
    let file = std::fs::File::open(pending.path())?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    let dir = pending.dir().to_owned();
    pending
        .commit()
        .with_context(|| format!("cannot rename the copy to {}", path.display()))?;
    // The rename is durable once the directory is synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(bytes)
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create backup.dir {}", dir.display()))
}

/// UTC, sortable, with milliseconds so two runs in one second do not collide:
/// `20261125T113200.123Z`.
pub fn timestamp(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Deletes all but the newest `keep` backups of one database; returns them.
pub fn prune(dir: &Path, prefix: &str, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for old in backups(dir, prefix)?.into_iter().skip(keep) {
        std::fs::remove_file(&old).with_context(|| format!("cannot delete {}", old.display()))?;
        removed.push(old);
    }
    Ok(removed)
}

/// The documented dump command for a MySQL/MariaDB or PostgreSQL database,
/// with the password shown as `***` (docs/PRODUCTION_SETUP.md#backups).
pub fn recipe(which: Which, url: &str, dir: &str) -> anyhow::Result<String> {
    let backend = Backend::from_url(url)?;
    let parsed = url::Url::parse(url)
        .with_context(|| format!("{} is not a URL", gamegate_store::mask_url_password(url)))?;
    let host = parsed.host_str().unwrap_or("localhost");
    let user = parsed.username();
    let database = parsed.path().trim_start_matches('/');
    let password = if parsed.password().is_some() {
        "***"
    } else {
        ""
    };
    let name = which.prefix();
    let stamp = "$(date -u +%Y%m%dT%H%M%SZ)";
    Ok(match backend {
        Backend::Mysql => {
            let port = parsed.port().unwrap_or(3306);
            format!(
                "(umask 077 && MYSQL_PWD='{password}' mysqldump --single-transaction --quick --routines \
                 --triggers --host={host} --port={port} --user={user} {database} \
                 | gzip > {dir}/.{name}tmp.sql.gz \
                 && mv {dir}/.{name}tmp.sql.gz {dir}/{name}{stamp}.sql.gz)"
            )
        }
        Backend::Postgres => {
            let port = parsed.port().unwrap_or(5432);
            format!(
                "(umask 077 && PGPASSWORD='{password}' pg_dump -Fc --host={host} --port={port} \
                 --username={user} --file={dir}/.{name}tmp.dump {database} \
                 && mv {dir}/.{name}tmp.dump {dir}/{name}{stamp}.dump)"
            )
        }
        Backend::Sqlite => bail!("SQLite databases are copied by `gamegate backup` itself"),
    })
}

/// The command's report, one block per database, and whether every
/// database was actually copied.
pub fn describe(outcomes: &[(Which, Outcome)], config: &Config) -> (String, bool) {
    let mut text = String::new();
    let mut all_copied = true;
    for (which, outcome) in outcomes {
        let url = gamegate_store::mask_url_password(which.url(config));
        match outcome {
            Outcome::Written {
                path,
                bytes,
                elapsed,
                removed,
            } => {
                text.push_str(&format!(
                    "{} database {url}: wrote {} ({} bytes, mode 0600) in {} ms\n",
                    which.name(),
                    path.display(),
                    bytes,
                    elapsed.as_millis()
                ));
                for old in removed {
                    text.push_str(&format!(
                        "  removed {} (backup.keep = {})\n",
                        old.display(),
                        config.backup.keep
                    ));
                }
            }
            Outcome::Recipe(command) => {
                all_copied = false;
                text.push_str(&format!(
                    "{} database {url}: NOT backed up. `gamegate backup` copies SQLite only; \
                     dump this one with its own tool (docs/PRODUCTION_SETUP.md#backups), \
                     the password from your secret file:\n  {command}\n",
                    which.name()
                ));
            }
        }
    }
    (text, all_copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_mask_the_password_and_name_the_database() {
        let r = recipe(
            Which::Accounts,
            "mysql://gamegate:s3cret@mariadb:3306/gamegate",
            "/var/backups/gamegate",
        )
        .unwrap();
        assert!(!r.contains("s3cret"), "{r}");
        assert!(r.contains("MYSQL_PWD='***'"), "{r}");
        assert!(r.contains("--single-transaction"), "{r}");
        assert!(
            r.contains("--host=mariadb --port=3306 --user=gamegate gamegate"),
            "{r}"
        );
        assert!(
            r.contains("/var/backups/gamegate/gamegate-accounts-$(date"),
            "{r}"
        );
        let r = recipe(
            Which::Analytics,
            "postgres://stats:pw2@db/gamegate_analytics",
            "/b",
        )
        .unwrap();
        assert!(!r.contains("pw2"), "{r}");
        assert!(
            r.contains("pg_dump -Fc --host=db --port=5432 --username=stats"),
            "{r}"
        );
        assert!(
            r.starts_with("(umask 077 && ")
                && r.ends_with("/b/gamegate-analytics-$(date -u +%Y%m%dT%H%M%SZ).dump)"),
            "{r}"
        );
        assert!(recipe(Which::Accounts, "sqlite://x.db", "/b").is_err());
    }

    #[test]
    fn timestamps_sort_by_time() {
        let a = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_585_734_005);
        let b = a + Duration::from_millis(995);
        assert_eq!(timestamp(a), "20261125T054854.005Z");
        assert!(timestamp(a) < timestamp(b));
    }

    #[test]
    fn prune_keeps_the_newest_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "gamegate-accounts-20260101T000000.000Z.db",
            "gamegate-accounts-20260102T000000.000Z.db",
            "gamegate-accounts-20260103T000000.000Z.db",
            "gamegate-analytics-20260101T000000.000Z.db",
            ".gamegate-accounts-20260104T000000.000Z.db.tmp-1",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let removed = prune(dir.path(), Which::Accounts.prefix(), 2).unwrap();
        assert_eq!(
            removed,
            vec![dir.path().join("gamegate-accounts-20260101T000000.000Z.db")]
        );
        let left = backups(dir.path(), Which::Accounts.prefix()).unwrap();
        assert_eq!(left.len(), 2);
        assert!(
            dir.path()
                .join("gamegate-analytics-20260101T000000.000Z.db")
                .exists()
        );
        assert!(dir.path().join("notes.txt").exists());
    }
}
