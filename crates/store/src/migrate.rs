use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::db::{Backend, Database};
use crate::error::StoreError;

/// A group of embedded migrations with its own version table, so the accounts
/// and analytics schemas can share one database or live in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationSet {
    /// Players, Telegram ownership, bans and constants (version table
    /// `_gamegate_migrations_accounts`).
    Accounts,
    /// Battle logs, participants and per-player ratings (issue 6).
    Analytics,
}

type Files = &'static [(i64, &'static str, &'static str)];

impl MigrationSet {
    fn table(self) -> &'static str {
        match self {
            MigrationSet::Accounts => "_gamegate_migrations_accounts",
            MigrationSet::Analytics => "_gamegate_migrations_analytics",
        }
    }

    fn files(self, backend: Backend) -> Files {
        match (self, backend) {
            (MigrationSet::Accounts, Backend::Sqlite) => &[
                (
                    1,
                    "accounts",
                    include_str!("../migrations/accounts/sqlite/0001_accounts.sql"),
                ),
                (
                    2,
                    "bans",
                    include_str!("../migrations/accounts/sqlite/0002_bans.sql"),
                ),
                (
                    3,
                    "idempotency",
                    include_str!("../migrations/accounts/sqlite/0003_idempotency.sql"),
                ),
                (
                    4,
                    "account_lifecycle",
                    include_str!("../migrations/accounts/sqlite/0004_account_lifecycle.sql"),
                ),
            ],
            (MigrationSet::Accounts, Backend::Mysql) => &[
                (
                    1,
                    "accounts",
                    include_str!("../migrations/accounts/mysql/0001_accounts.sql"),
                ),
                (
                    2,
                    "bans",
                    include_str!("../migrations/accounts/mysql/0002_bans.sql"),
                ),
                (
                    3,
                    "idempotency",
                    include_str!("../migrations/accounts/mysql/0003_idempotency.sql"),
                ),
                (
                    4,
                    "account_lifecycle",
                    include_str!("../migrations/accounts/mysql/0004_account_lifecycle.sql"),
                ),
            ],
            (MigrationSet::Accounts, Backend::Postgres) => &[
                (
                    1,
                    "accounts",
                    include_str!("../migrations/accounts/postgres/0001_accounts.sql"),
                ),
                (
                    2,
                    "bans",
                    include_str!("../migrations/accounts/postgres/0002_bans.sql"),
                ),
                (
                    3,
                    "idempotency",
                    include_str!("../migrations/accounts/postgres/0003_idempotency.sql"),
                ),
                (
                    4,
                    "account_lifecycle",
                    include_str!("../migrations/accounts/postgres/0004_account_lifecycle.sql"),
                ),
            ],
            (MigrationSet::Analytics, Backend::Sqlite) => &[
                (
                    1,
                    "battles",
                    include_str!("../migrations/analytics/sqlite/0001_battles.sql"),
                ),
                (
                    2,
                    "login_key",
                    include_str!("../migrations/analytics/sqlite/0002_login_key.sql"),
                ),
            ],
            (MigrationSet::Analytics, Backend::Mysql) => &[
                (
                    1,
                    "battles",
                    include_str!("../migrations/analytics/mysql/0001_battles.sql"),
                ),
                (
                    2,
                    "login_key",
                    include_str!("../migrations/analytics/mysql/0002_login_key.sql"),
                ),
            ],
            (MigrationSet::Analytics, Backend::Postgres) => &[
                (
                    1,
                    "battles",
                    include_str!("../migrations/analytics/postgres/0001_battles.sql"),
                ),
                (
                    2,
                    "login_key",
                    include_str!("../migrations/analytics/postgres/0002_login_key.sql"),
                ),
            ],
        }
    }

    fn migrator(self, backend: Backend) -> Migrator {
        self.migrator_up_to(backend, i64::MAX)
    }

    /// The migrations up to version `last` (tests start from an older schema).
    fn migrator_up_to(self, backend: Backend, last: i64) -> Migrator {
        let migrations = self
            .files(backend)
            .iter()
            .filter(|(version, _, _)| *version <= last)
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let mut migrator = Migrator::with_migrations(migrations);
        migrator.dangerous_set_table_name(self.table());
        migrator
    }

    /// The newest version this binary knows, to tell an operator whether a
    /// database is behind.
    pub fn latest_version(self, backend: Backend) -> i64 {
        self.files(backend)
            .iter()
            .map(|(v, _, _)| *v)
            .max()
            .unwrap_or(0)
    }
}

impl Database {
    /// Applies every pending migration of the set; a no-op when up to date.
    /// Not bounded by the operation timeout. Errs with [`StoreError::Migrate`]
    /// when a migration fails or an applied one differs from this binary's, with
    /// [`StoreError::Unavailable`] when (MySQL/MariaDB) another process held the
    /// migration lock for 120 s or the database cannot be reached.
    pub async fn migrate(&self, set: MigrationSet) -> Result<(), StoreError> {
        let migrator = set.migrator(self.backend());
        if self.backend() != Backend::Mysql {
            // PostgreSQL: sqlx holds an advisory lock while migrating.
            migrator.run(self.pool()).await?;
            return Ok(());
        }
        // sqlx locks MySQL with GET_LOCK(name, -1). MariaDB answers a negative
        // timeout with NULL at once, sqlx ignores the answer, and replicas that
        // start together then both apply migration 1 (seen in the split-topology
        // test: "Duplicate entry '1' for key 'PRIMARY'"). Hold our own named
        // lock with a finite timeout, checked, on the migrating session.
        const LOCK: &str = "LEFT(CONCAT('gamegate_migrate_', DATABASE()), 64)";
        let mut conn = self.pool().acquire().await?;
        let got: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT GET_LOCK({LOCK}, 120)")))
                .fetch_one(&mut *conn)
                .await?;
        if got != Some(1) {
            return Err(StoreError::Contended(
                "another process held the migration lock for 120 s",
            ));
        }
        let result = migrator.run(&mut *conn).await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT RELEASE_LOCK({LOCK})")))
            .execute(&mut *conn)
            .await;
        result?;
        Ok(())
    }
}

/// How far a database's schema is from what this binary expects, read
/// without changing anything (`gamegate doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The set's version table exists (`gamegate migrate` ran at least once).
    pub table_exists: bool,
    /// Versions recorded as applied, ascending.
    pub applied: Vec<i64>,
    /// Versions this binary has that the database lacks.
    pub pending: Vec<i64>,
    /// A migration that failed half-way.
    pub dirty: Option<i64>,
    /// Applied versions whose SQL differs from this binary's (edited after release).
    pub changed: Vec<i64>,
    /// Applied versions this binary does not know (a newer binary migrated it).
    pub unknown: Vec<i64>,
}

impl MigrationStatus {
    /// Whether the database needs nothing: the version table exists and no
    /// migration is pending, dirty, changed or unknown.
    pub fn up_to_date(&self) -> bool {
        self.table_exists
            && self.pending.is_empty()
            && self.dirty.is_none()
            && self.changed.is_empty()
            && self.unknown.is_empty()
    }
}

impl Database {
    /// Compares the set's version table with the embedded migrations. Never
    /// creates the table: a database nobody migrated reports `table_exists: false`.
    /// Errs with [`StoreError::Unavailable`] when the database cannot be reached,
    /// [`StoreError::Query`] when the version table cannot be read.
    pub async fn migration_status(&self, set: MigrationSet) -> Result<MigrationStatus, StoreError> {
        use sqlx::migrate::Migrate as _;

        let migrator = set.migrator(self.backend());
        let table = set.table();
        // The catalogs differ per backend; the version table's name is ours.
        let exists_sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
            }
            Backend::Mysql => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        self.bounded(async {
            let mut conn = self.pool().acquire().await?;
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(exists_sql))
                .bind(table)
                .fetch_one(&mut *conn)
                .await?;
            let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            if count == 0 {
                return Ok(MigrationStatus {
                    table_exists: false,
                    applied: Vec::new(),
                    pending: known,
                    dirty: None,
                    changed: Vec::new(),
                    unknown: Vec::new(),
                });
            }
            let dirty = conn.dirty_version(table).await?;
            let applied = conn.list_applied_migrations(table).await?;
            let mut status = MigrationStatus {
                table_exists: true,
                applied: applied.iter().map(|a| a.version).collect(),
                pending: Vec::new(),
                dirty,
                changed: Vec::new(),
                unknown: Vec::new(),
            };
            for migration in migrator.iter() {
                match applied.iter().find(|a| a.version == migration.version) {
                    None => status.pending.push(migration.version),
                    Some(a) if a.checksum != migration.checksum => {
                        status.changed.push(migration.version)
                    }
                    Some(_) => {}
                }
            }
            status.unknown = status
                .applied
                .iter()
                .copied()
                .filter(|v| !known.contains(v))
                .collect();
            Ok(status)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PoolSettings;

    /// A database the previous release migrated (analytics version 1) gets
    /// `player_ratings.login_key` filled in, and its players are found by any
    /// case of their login.
    #[tokio::test]
    async fn existing_players_get_their_login_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("analytics.db").display());
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        let set = MigrationSet::Analytics;
        set.migrator_up_to(Backend::Sqlite, 1)
            .run(db.pool())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO player_ratings (login, mu, sigma, score, battles, wins, pvp_battles, \
             pvp_wins, kills, deaths, damage_dealt, damage_taken, updated_at) \
             VALUES ('Hero_01', 25, 8, 1, 3, 1, 3, 1, 0, 0, 0, 0, 0)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        assert_eq!(db.migration_status(set).await.unwrap().pending, [2]);
        db.migrate(set).await.unwrap();
        for asked in ["Hero_01", "HERO_01", "hero_01"] {
            let found = db.battles().player(asked).await.unwrap().unwrap();
            assert_eq!((found.login.as_str(), found.battles), ("Hero_01", 3));
        }
        assert!(db.migration_status(set).await.unwrap().up_to_date());
    }
}
