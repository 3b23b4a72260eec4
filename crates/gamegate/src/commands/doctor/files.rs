//! Files: the log destination and the backups.

use super::*;

pub(super) fn logging(config: &Config) -> Check {
    let id = CheckId::Logging;
    match config.log.access_log.as_str() {
        "off" => Check::fail(
            id,
            "log.access_log = \"off\": requests are not recorded",
            "log.access_log = \"stdout\" (docker logs / journald) or a file path (logrotate: \
             gamegate render logrotate)",
        ),
        "stdout" => Check::pass(
            id,
            format!("access log on stdout, log.format = {}", config.log.format),
        ),
        path => {
            let dir = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty());
            match dir {
                Some(d) if !d.is_dir() => Check::fail(
                    id,
                    format!(
                        "log.access_log {path}: directory {} does not exist",
                        d.display()
                    ),
                    format!(
                        "create {} writable by the service (systemd: LogsDirectory)",
                        d.display()
                    ),
                ),
                _ => Check::pass(
                    id,
                    format!("access log to {path}, log.format = {}", config.log.format),
                ),
            }
        }
    }
}

pub(super) fn backup_check(config: &Config) -> Check {
    let id = CheckId::Backup;
    let b = &config.backup;
    if b.dir.is_empty() {
        return Check::fail(
            id,
            "backup.dir is not set: no backups are configured",
            "set backup.dir and run `gamegate backup` daily (SQLite) or the mysqldump/pg_dump \
             recipes (docs/PRODUCTION_SETUP.md#backups)",
        );
    }
    let dir = Path::new(&b.dir);
    if !dir.is_dir() {
        return Check::fail(
            id,
            format!("backup.dir {} does not exist", dir.display()),
            format!("mkdir -m 0700 {} and run the first backup", dir.display()),
        );
    }
    if let Err(e) = probe_writable(dir) {
        return Check::fail(
            id,
            format!("backup.dir {} is not writable here: {e}", dir.display()),
            "make it writable by the user that runs the backups",
        );
    }
    let max_age = Duration::from_secs(b.max_age_hours * 3600);
    let mut found = Vec::new();
    for which in backup_files::databases(config) {
        match backup_files::newest(dir, which.prefix()) {
            Ok(Some((path, age))) if age <= max_age => found.push(format!(
                "{} {} h old ({})",
                which.name(),
                age.as_secs() / 3600,
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
            Ok(Some((path, age))) => {
                return Check::fail(
                    id,
                    format!(
                        "the newest {} backup {} is {} h old (backup.max_age_hours = {})",
                        which.name(),
                        path.display(),
                        age.as_secs() / 3600,
                        b.max_age_hours
                    ),
                    "backups stopped: check the timer/cron job (`systemctl list-timers`, its journal)",
                );
            }
            Ok(None) => {
                return Check::fail(
                    id,
                    format!("no {}* backup in {} yet", which.prefix(), dir.display()),
                    "run `gamegate backup` (or the dump recipe) and schedule it daily",
                );
            }
            Err(e) => {
                return Check::fail(
                    id,
                    format!("cannot list {}: {e}", dir.display()),
                    "make backup.dir readable",
                );
            }
        }
    }
    Check::pass(id, format!("{}: {}", dir.display(), found.join(", ")))
}

/// Creates and removes a file: the only reliable answer (permissions, ACLs,
/// read-only mounts, root).
pub(super) fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".gamegate-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}
