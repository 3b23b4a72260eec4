//! Opening a database from an operator command (`ban`, `report`, `backup`,
//! `doctor`): never creating one by mistake, with short timeouts.

use std::time::Duration;

use gamegate_store::{Backend, Database, PoolSettings};

/// Opens an existing database without creating it: for SQLite, `mode=rw`
/// (the store's default `rwc` would turn a wrong path into a new, empty
/// database). Short timeouts: these are operator commands, not requests.
///
/// A SQLite file that does not exist fails with its absolute path and what
/// to do — the usual cause is a command run in another directory than the
/// server, with the default relative `sqlite://gamegate.db`.
pub async fn open_existing(url: &str, timeout: Duration) -> anyhow::Result<Database> {
    if let Some(file) = gamegate_store::sqlite_file(url)
        && !file.exists()
    {
        let absolute = std::path::absolute(&file).unwrap_or(file);
        anyhow::bail!(
            "no database at {} — run the command where the server runs (its working \
             directory), or pass the server's configuration with --config (or GAMEGATE_CONFIG)",
            absolute.display()
        );
    }
    let url = match Backend::from_url(url)? {
        Backend::Sqlite if !url.contains("mode=") => {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}mode=rw")
        }
        _ => url.to_owned(),
    };
    let settings = PoolSettings {
        max_connections: 1,
        min_connections: 0,
        acquire_timeout: timeout,
        sqlite_busy_timeout: timeout,
        operation_timeout: timeout,
    };
    let connect = Database::connect(&url, &settings);
    let db = tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| anyhow::anyhow!("no connection within {} ms", timeout.as_millis()))??;
    Ok(db)
}
