//! The backends a suite runs on: SQLite always, MariaDB/MySQL and PostgreSQL
//! when their server URLs are set. Under `CI` a missing URL fails the test;
//! elsewhere the test says `SKIPPED …` and returns.

use std::time::Duration;

/// The store's own list of backends: a test runs on exactly what the store
/// speaks, and the per-backend test modules (`sqlite`, `mysql`, `postgres`)
/// are named after [`Backend::name`].
pub use gamegate_store::Backend;

/// MariaDB/MySQL server for the per-backend suites, e.g. `mysql://root@127.0.0.1:3306/test`.
pub const MYSQL_ENV: &str = "GAMEGATE_TEST_MYSQL_URL";
/// PostgreSQL server for the per-backend suites, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub const PG_ENV: &str = "GAMEGATE_TEST_PG_URL";

/// The server URL of a backend (empty for SQLite, which needs none), or
/// `None` with a `SKIPPED on …` notice when the machine has none configured.
/// Under `CI` a missing URL panics: CI must never skip a backend silently
/// (`.ci/run` sets both and checks they answer).
pub fn server_url(backend: Backend) -> Option<String> {
    let var = match backend {
        Backend::Sqlite => return Some(String::new()),
        Backend::Mysql => MYSQL_ENV,
        Backend::Postgres => PG_ENV,
    };
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{var} is not set, but CI must run the {backend:?} suite (see .ci/run)")
        }
        _ => {
            eprintln!("SKIPPED on {backend:?}: {var} is not set (CI sets it; see .ci/run)");
            None
        }
    }
}

/// Creates a fresh, empty database for one test and returns its URL: a
/// SQLite file in `dir`, or a `gg_test_<random>` database on the server
/// (`.ci/run` drops those left by earlier runs). `None` as [`server_url`].
pub async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> Option<String> {
    let server = server_url(backend)?;
    if backend == Backend::Sqlite {
        return Some(format!(
            "sqlite://{}",
            dir.path().join("gamegate.db").display()
        ));
    }
    let name = format!("gg_test_{:016x}", rand::random::<u64>());
    let admin = admin_pool(&server).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database on {backend:?}: {e}"));
    admin.close().await;
    let mut url = url::Url::parse(&server).expect("test database URL parses");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// One connection to the server (5 s to connect), for `CREATE DATABASE`.
async fn admin_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("test database server {url} is configured but unreachable: {e}"))
}

/// One `#[tokio::test]` per listed `async fn name(backend: Backend)`, in a
/// module named after the backend (CI counts the tests of each by that name).
#[macro_export]
macro_rules! backend_tests {
    ($module:ident => $backend:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::support::Backend::$backend).await } )*
        }
    };
}

/// The tests on MariaDB/MySQL and PostgreSQL.
#[macro_export]
macro_rules! on_server_backends {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(mysql => Mysql: $($name),*);
        $crate::backend_tests!(postgres => Postgres: $($name),*);
    };
}

/// The tests on SQLite, MariaDB/MySQL and PostgreSQL.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(sqlite => Sqlite: $($name),*);
        $crate::on_server_backends!($($name),*);
    };
}
