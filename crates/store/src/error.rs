use sqlx::error::DatabaseError;

/// A storage failure, classified by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH, mysql://USER:PASS@HOST/DB or postgres://USER:PASS@HOST/DB"
    )]
    /// The database URL's scheme is none of `sqlite`, `mysql`/`mariadb`,
    /// `postgres`/`postgresql`, or sqlx cannot parse the URL. Holds the URL with
    /// its password masked.
    UnsupportedUrl(String),
    /// The database cannot be reached right now (pool timeout, connection
    /// refused or dropped, lock wait); retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Concurrent writers kept conflicting (or another process held a lock)
    /// past the retries: nothing is wrong with the database and retrying
    /// later may succeed, so it is reported like [`StoreError::Unavailable`].
    #[error("database contended: {0}")]
    Contended(&'static str),
    /// A store operation did not finish within the operation timeout.
    #[error("database did not answer within {0:?}")]
    TimedOut(std::time::Duration),
    /// The database answered with an error that retrying will not fix.
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    /// Applying or checking the embedded migrations failed (a failed statement,
    /// or an applied migration that differs from this binary's).
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the failure is temporary ([`Unavailable`](Self::Unavailable) or
    /// [`TimedOut`](Self::TimedOut)): answered as `database_unavailable` (503),
    /// where a retry later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Contended(_) | StoreError::TimedOut(_)
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_connectivity(&err) || database_error(&err).is_some_and(is_transient) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Query(err)
        }
    }
}

pub(crate) fn database_error(err: &sqlx::Error) -> Option<&(dyn DatabaseError + 'static)> {
    match err {
        sqlx::Error::Database(db) => Some(db.as_ref()),
        _ => None,
    }
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    database_error(err).is_some_and(|e| e.is_unique_violation())
}

fn is_connectivity(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed
    )
}

/// Lock conflicts and server restarts that a fresh transaction normally gets
/// past. Codes are read per driver: SQLite's numeric result codes would
/// otherwise collide with PostgreSQL SQLSTATEs (42501, permission denied, is
/// 5 modulo 256 like SQLITE_BUSY).
pub(crate) fn is_transient(err: &(dyn DatabaseError + 'static)) -> bool {
    let code = err.code();
    let code = code.as_deref().unwrap_or("");
    if err
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // Primary result code in the low byte: SQLITE_BUSY (5), SQLITE_LOCKED (6).
        return code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    if err
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        // serialization failure, deadlock, lock not available, admin/crash
        // shutdown, cannot connect now
        return matches!(
            code,
            "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
        );
    }
    // MySQL/MariaDB: deadlock is SQLSTATE 40001; lock-wait timeout (1205)
    // reports the generic HY000, so it is recognised by its message.
    code == "40001"
        || err.message().contains("Lock wait timeout")
        || err.message().contains("Deadlock found")
}
