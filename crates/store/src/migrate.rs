use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::db::{Backend, Database};
use crate::error::StoreError;

/// A group of embedded migrations with its own version table, so the accounts
/// and analytics schemas can share one database or live in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationSet {
    Accounts,
}

type Files = &'static [(i64, &'static str, &'static str)];

impl MigrationSet {
    fn table(self) -> &'static str {
        match self {
            MigrationSet::Accounts => "_gamegate_migrations_accounts",
        }
    }

    fn files(self, backend: Backend) -> Files {
        match (self, backend) {
            (MigrationSet::Accounts, Backend::Sqlite) => &[(
                1,
                "accounts",
                include_str!("../migrations/accounts/sqlite/0001_accounts.sql"),
            )],
            (MigrationSet::Accounts, Backend::Mysql) => &[(
                1,
                "accounts",
                include_str!("../migrations/accounts/mysql/0001_accounts.sql"),
            )],
            (MigrationSet::Accounts, Backend::Postgres) => &[(
                1,
                "accounts",
                include_str!("../migrations/accounts/postgres/0001_accounts.sql"),
            )],
        }
    }

    fn migrator(self, backend: Backend) -> Migrator {
        let migrations = self
            .files(backend)
            .iter()
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
    pub async fn migrate(&self, set: MigrationSet) -> Result<(), StoreError> {
        set.migrator(self.backend()).run(self.pool()).await?;
        Ok(())
    }
}
