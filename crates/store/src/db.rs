use std::str::FromStr;
use std::time::Duration;

use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Transaction};

use crate::error::StoreError;

/// Which SQL dialect a database speaks, chosen from its URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH` (or `sqlite:PATH`): one file (created on first start),
    /// WAL mode.
    Sqlite,
    /// `mysql://` or `mariadb://`: MySQL or MariaDB.
    Mysql,
    /// `postgres://` or `postgresql://`.
    Postgres,
}

impl Backend {
    /// The backend a database URL's scheme names (case-insensitive). Errs with
    /// [`StoreError::UnsupportedUrl`] (the URL's password masked) on any other
    /// scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "mysql" | "mariadb" => Ok(Backend::Mysql),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl(mask_url_password(url))),
        }
    }

    /// `"sqlite"`, `"mysql"` or `"postgres"`, for logs and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Postgres => "postgres",
        }
    }
}

/// Replaces the password of a database URL with `***` so the URL can be
/// logged or shown in an error.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        // Not a URL we can parse: show only the part before any '@' so a
        // malformed `user:pass@host` never leaks.
        Err(_) => match raw.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => raw.to_owned(),
        },
    }
}

/// Connection-pool limits. `acquire_timeout` bounds how long a request waits
/// for the database before answering `database_unavailable`.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens; default 10.
    pub max_connections: u32,
    /// Connections the pool keeps open when idle; default 0.
    pub min_connections: u32,
    /// Longest wait for a free connection before the operation fails as
    /// [`StoreError::Unavailable`]; default 3 s.
    pub acquire_timeout: Duration,
    /// How long SQLite waits for a write lock before reporting BUSY.
    pub sqlite_busy_timeout: Duration,
    /// Bound on one store operation (all its queries and retries): a
    /// connection that goes silent mid-query fails fast as unavailable
    /// instead of holding the request and a pool slot until TCP gives up.
    pub operation_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(3),
            sqlite_busy_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(8),
        }
    }
}

/// A pool to one database plus the dialect its queries are built in.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    operation_timeout: Duration,
    backend: Backend,
    display_url: String,
}

impl Database {
    /// Connects lazily-validated: the pool is created and one connection is
    /// opened so a wrong URL or password fails at start, not on first request.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        // SQLite by its absolute path: a relative one means nothing in a log
        // read elsewhere, or to a command run from another directory.
        let display_url = match sqlite_file(url) {
            Some(file) => format!(
                "sqlite://{}",
                std::path::absolute(&file).unwrap_or(file).display()
            ),
            None => mask_url_password(url),
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url),
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|_| StoreError::UnsupportedUrl(display_url.clone()))?;
        let busy_ms = settings.sqlite_busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            // A connection the server dropped is noticed before use instead of
            // failing the request that happens to get it.
            .test_before_acquire(true)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // No JIT compilation: every statement of the store is
                        // short, and on a table not yet analysed (after a bulk
                        // import) the planner's row estimates put cheap page
                        // reads over `jit_above_cost`, where compiling cost
                        // ~30 ms a statement for 1 ms of work (a rebuild of
                        // 1M battles: 146 s with JIT, 27 s without;
                        // docs/ANALYTICS.md#benchmarks). `jit` exists since
                        // PostgreSQL 11.
                        conn.execute("SET jit = off").await?;
                    }
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; busy_timeout
                        // makes writers queue instead of failing with SQLITE_BUSY.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {busy_ms}; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
                        );
                        conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::from)?;
        Ok(Self {
            pool,
            operation_timeout: settings.operation_timeout,
            backend,
            display_url,
        })
    }

    /// The same pool whose operations are bounded by `timeout` instead: a
    /// handle for queries that must answer sooner than the pool's default
    /// (the public statistics). Shares every connection with `self`.
    pub fn with_operation_timeout(&self, timeout: Duration) -> Self {
        Self {
            operation_timeout: timeout,
            ..self.clone()
        }
    }

    /// The bound on one store operation ([`PoolSettings::operation_timeout`]).
    pub(crate) fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// The dialect this database speaks.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password masked, for logs and banners.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// The underlying sqlx pool, for queries outside the aggregates (tests,
    /// migrations).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Connections currently open and idle, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// A cheap round trip for health checks.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    /// Closes the pool: waits for checked-out connections to come back, then
    /// closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs one store operation within the operation timeout. Dropping the
    /// future on timeout drops its connection or transaction, which sqlx
    /// rolls back or discards.
    pub(crate) async fn bounded<T, E: From<StoreError>>(
        &self,
        operation: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        tokio::time::timeout(self.operation_timeout, operation)
            .await
            .unwrap_or_else(|_| Err(StoreError::TimedOut(self.operation_timeout).into()))
    }

    /// Builds a statement in this database's dialect.
    pub(crate) fn build<S: SqlxBinder>(
        &self,
        stmt: &S,
    ) -> (sqlx::AssertSqlSafe<String>, SqlxValues) {
        let (sql, values) = match self.backend {
            Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
            Backend::Mysql => stmt.build_sqlx(MysqlQueryBuilder),
            Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
        };
        (sqlx::AssertSqlSafe(sql), values)
    }

    /// Runs a query and maps every row; the one read path of the store.
    pub(crate) async fn fetch_all<S: SqlxBinder, T>(
        &self,
        stmt: &S,
        row: impl FnMut(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let (sql, values) = self.build(stmt);
        let rows = sqlx::query_with(sql, values).fetch_all(&self.pool).await?;
        rows.iter()
            .map(row)
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Starts a transaction that is going to write. On SQLite it takes the
    /// write lock up front (`BEGIN IMMEDIATE`): a deferred transaction that
    /// reads and then writes fails with SQLITE_BUSY when another writer
    /// committed in between, without waiting for the busy timeout.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Mysql | Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
}

/// `sqlite://file.db` should create the file on first start, as the
/// all-in-one mode promises; sqlx only does that with `mode=rwc`.
/// The file a SQLite URL names (`sqlite://dir/x.db?mode=rw` → `dir/x.db`,
/// relative to the working directory as SQLite opens it); `None` for an
/// in-memory database or another backend.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.into())
}

fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url() {
        let file = |u: &str| sqlite_file(u).map(|p| p.display().to_string());
        assert_eq!(file("sqlite://gamegate.db").as_deref(), Some("gamegate.db"));
        assert_eq!(
            file("sqlite:///var/lib/g.db?mode=rw").as_deref(),
            Some("/var/lib/g.db")
        );
        assert_eq!(file("sqlite:x.db").as_deref(), Some("x.db"));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("mysql://u@h/db"), None);
    }

    #[test]
    fn backend_comes_from_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("mysql://u:p@h/db").unwrap(),
            Backend::Mysql
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("oracle://scott:tiger@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported database URL"), "{err}");
        assert!(!err.contains("tiger"), "{err}");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_url_password("mysql://game:s3cret@db:3306/game"),
            "mysql://game:***@db:3306/game"
        );
        assert_eq!(
            mask_url_password("sqlite://gamegate.db"),
            "sqlite://gamegate.db"
        );
        assert!(!mask_url_password("not a url:pw@host").contains("pw"));
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url_with_create("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_with_create("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
