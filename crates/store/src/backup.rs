//! Online backups of a SQLite database (`gamegate backup`).
//!
//! `VACUUM INTO` writes a consistent copy from one read transaction while
//! other connections keep reading and writing (WAL): unlike copying the file,
//! it never catches a half-written page or misses the WAL's newest commits.
//! MySQL/MariaDB and PostgreSQL have their own tools (`mysqldump
//! --single-transaction`, `pg_dump`); docs/PRODUCTION_SETUP.md has the recipes.

use std::path::Path;
use std::time::Duration;

use crate::db::{Backend, Database};
use crate::error::StoreError;

impl Database {
    /// Writes a consistent copy of this SQLite database to `target`, which
    /// must not exist. Bounded by `limit`, not by the operation timeout: a
    /// large database takes longer than a request's query.
    /// Errs with [`StoreError::Query`] on a MySQL or PostgreSQL database, a path
    /// that is not UTF-8, an existing `target` or a failed copy;
    /// [`StoreError::TimedOut`] past `limit`.
    pub async fn sqlite_backup_into(
        &self,
        target: &Path,
        limit: Duration,
    ) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Query(sqlx::Error::Configuration(
                format!(
                    "VACUUM INTO is SQLite's; {} databases are backed up with their own dump tool",
                    self.backend().name()
                )
                .into(),
            )));
        }
        let target = target.to_str().ok_or_else(|| {
            StoreError::Query(sqlx::Error::Configuration(
                "the backup path is not valid UTF-8".into(),
            ))
        })?;
        // The file name is a bound parameter, never spliced into the SQL.
        let copy = sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(self.pool());
        tokio::time::timeout(limit, copy)
            .await
            .map_err(|_| StoreError::TimedOut(limit))??;
        Ok(())
    }
}
