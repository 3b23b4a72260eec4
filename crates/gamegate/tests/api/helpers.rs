//! `spawn_app`: the real application on random ports with a fresh database
//! per test, on SQLite always and on MariaDB/PostgreSQL when their URLs are set.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gamegate::Config;
use gamegate::startup::Application;
use gamegate_gameserver::MockHandle;
use gamegate_store::Database;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const MYSQL_ENV: &str = "GAMEGATE_TEST_MYSQL_URL";
pub const PG_ENV: &str = "GAMEGATE_TEST_PG_URL";

/// The API key of [`test_config`]; `TestApp::register` sends it.
pub const TEST_API_KEY: &str = "test-api-key-0123456789abcdef";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
    Postgres,
}

impl Backend {
    /// The server URL for a backend, or `None` (with a notice) when the
    /// machine has none configured. CI sets both and checks they answer.
    pub fn server_url(self) -> Option<String> {
        let var = match self {
            Backend::Sqlite => return Some(String::new()),
            Backend::Mysql => MYSQL_ENV,
            Backend::Postgres => PG_ENV,
        };
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(url),
            // CI must never skip a backend silently: there a missing URL fails.
            _ if std::env::var_os("CI").is_some() => {
                panic!("{var} is not set, but CI must run the {self:?} suite (see .ci/run)")
            }
            _ => {
                eprintln!("SKIPPED on {self:?}: {var} is not set (CI sets it; see .ci/run)");
                None
            }
        }
    }
}

/// Creates a fresh, empty database for one test and returns its URL.
pub async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> Option<String> {
    let server = backend.server_url()?;
    let name = format!("gg_test_{:016x}", rand::random::<u64>());
    let url = match backend {
        Backend::Sqlite => {
            return Some(format!(
                "sqlite://{}",
                dir.path().join("gamegate.db").display()
            ));
        }
        Backend::Mysql | Backend::Postgres => {
            let admin = sqlx_admin(&server).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create a test database on {backend:?}: {e}"));
            admin.close().await;
            replace_db_name(&server, &name)
        }
    };
    Some(url)
}

async fn sqlx_admin(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("test database server {url} is configured but unreachable: {e}"))
}

fn replace_db_name(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("test database URL parses");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub http: reqwest::Client,
    pub mock: MockHandle,
    pub db: Database,
    pub config: Config,
    pub shutdown: CancellationToken,
    pub running: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub dir: tempfile::TempDir,
}

/// The test configuration: random ports, an in-process mock game server,
/// cheap Argon2 parameters (the cost is measured by the benchmarks, not here)
/// and short timeouts so fault tests finish quickly.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.http.public_addr = "127.0.0.1:0".parse().unwrap();
    c.http.admin_addr = "127.0.0.1:0".parse().unwrap();
    // Tests stop hundreds of apps: no load balancer to wait for.
    c.http.shutdown_delay_ms = 0;
    c.game_server.addr = "127.0.0.1:0".into();
    c.game_server.embedded_mock = true;
    c.game_server.call_timeout_ms = 400;
    c.game_server.connect_timeout_ms = 300;
    c.password_hash.memory_kib = 1024;
    c.password_hash.iterations = 1;
    c.reconciler.interval_ms = 200;
    c.reconciler.grace_ms = 1_000;
    c.status.refresh_interval_ms = 100;
    c.database.max_connections = 8;
    c.log.level = "warn".into();
    c.log.access_log = "off".into();
    // Tests that want battles ingest their own (tests/api/stats.rs).
    c.analytics.seed_demo_history = false;
    // The edge policy is tested in edge.rs; elsewhere it must not get in the way.
    c.edge.api_keys = vec![TEST_API_KEY.into()];
    c.edge.register_per_minute = 1_000_000;
    c.edge.register_burst = 1_000_000;
    c.edge.status_per_minute = 1_000_000;
    c.edge.status_burst = 1_000_000;
    // Every public route limited: tested in limits.rs.
    c.edge.stats_per_minute = 1_000_000;
    c.edge.stats_burst = 1_000_000;
    c.edge.predict_per_minute = 1_000_000;
    c.edge.predict_burst = 1_000_000;
    c.edge.not_found_per_minute = 1_000_000;
    c.edge.not_found_burst = 1_000_000;
    c
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, &dir).await?;
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    tweak(&mut config);
    gamegate::telemetry::init(gamegate::config::LogFormat::Pretty, &config.log.level);

    let app = Application::build(config.clone())
        .await
        .expect("application builds");
    let addr = app.public_addr();
    let admin_addr = app.admin_addr();
    let mock = app.mock().expect("tests run the embedded mock").clone();
    let db = app.database().clone();
    let shutdown = app.shutdown_token();
    let running = tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        addr,
        admin_addr,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        mock,
        db,
        config,
        shutdown,
        running,
        dir,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin_addr, path)
    }

    pub async fn register(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/api/register"))
            .header("x-api-key", TEST_API_KEY)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn get_json(&self, url: String) -> (StatusCode, Value) {
        let response = self.http.get(url).send().await.expect("request sent");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Waits (bounded) until `check` holds, for effects of background tasks.
    pub async fn eventually<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while started.elapsed() < limit {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: not reached within {limit:?}");
    }

    /// Every login in the accounts database, lower-cased.
    pub async fn db_logins(&self) -> std::collections::BTreeSet<String> {
        let logins = self.db.accounts().logins().await.unwrap();
        logins.into_iter().map(|l| l.to_lowercase()).collect()
    }

    /// The admin listener's Prometheus text.
    pub async fn metrics_text(&self) -> String {
        let response = self
            .http
            .get(self.admin_url("/metrics"))
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.running.await.unwrap().unwrap();
    }

    /// Stops the app but keeps its data: the configuration for a second start
    /// on the same databases (on fresh ports), and the directory holding them
    /// (keep it alive until that start is done).
    pub async fn stop_keeping_data(self) -> (Config, tempfile::TempDir) {
        let mut config = self.config.clone();
        config.http.public_addr = "127.0.0.1:0".parse().unwrap();
        config.http.admin_addr = "127.0.0.1:0".parse().unwrap();
        self.shutdown.cancel();
        self.running.await.unwrap().unwrap();
        (config, self.dir)
    }
}

pub fn player(login: &str, telegram_id: i64) -> Value {
    serde_json::json!({"login": login, "password": "secret12", "gender": 0, "telegram_id": telegram_id})
}

/// Asserts the contract's error shape and returns the body.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, detail: &str) {
    assert_eq!(status.as_u16(), expected_status, "body: {body}");
    assert_eq!(body["ok"], false, "body: {body}");
    assert_eq!(body["detail"], detail, "body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message must be non-empty: {body}"
    );
}

/// One `#[tokio::test]` per listed `async fn name(backend: Backend)`, in a
/// module named after the backend.
#[macro_export]
macro_rules! backend_tests {
    ($module:ident => $backend:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Backend::$backend).await } )*
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
