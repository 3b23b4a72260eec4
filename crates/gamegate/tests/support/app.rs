//! The application in-process (`Application::build`, as `main` runs it) on
//! random ports with fresh databases: [`spawn_app`] for the per-backend API
//! suite, [`start`] for suites that bring their own configuration.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use gamegate::Config;
use gamegate::startup::{Application, Mode};
use gamegate_gameserver::MockHandle;
use gamegate_store::Database;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::backend::{Backend, fresh_database};

/// The API key of [`test_config`]; `TestApp::register` sends it.
pub const TEST_API_KEY: &str = "test-api-key-0123456789abcdef";

/// What every in-process start shares: both listeners and the embedded mock
/// game server on random loopback ports, cheap Argon2 parameters (the cost is
/// measured by the benchmarks, not here), warnings only, no access log.
pub fn local_config() -> Config {
    let mut c = Config::default();
    c.http.public_addr = "127.0.0.1:0".parse().unwrap();
    c.http.admin_addr = "127.0.0.1:0".parse().unwrap();
    c.game_server.addr = "127.0.0.1:0".into();
    c.game_server.embedded_mock = true;
    c.password_hash.memory_kib = 1024;
    c.password_hash.iterations = 1;
    c.log.level = "warn".into();
    c.log.access_log = "off".into();
    c
}

/// Both databases as SQLite files in `dir` (`gamegate.db`, `analytics.db`).
pub fn sqlite_in(c: &mut Config, dir: &Path) {
    c.database.url = format!("sqlite://{}", dir.join("gamegate.db").display());
    c.analytics.url = format!("sqlite://{}", dir.join("analytics.db").display());
}

/// Short game-server timeouts (400 ms a call, 300 ms to connect) so fault
/// tests finish quickly, and a reconciler pass every 200 ms with 1 s grace.
pub fn quick_timeouts(c: &mut Config) {
    c.game_server.call_timeout_ms = 400;
    c.game_server.connect_timeout_ms = 300;
    c.reconciler.interval_ms = 200;
    c.reconciler.grace_ms = 1_000;
}

/// The API suite's configuration: [`local_config`], [`quick_timeouts`], fast
/// background tasks, and an edge policy that stays out of the way (it is
/// tested in edge.rs and limits.rs).
pub fn test_config() -> Config {
    let mut c = local_config();
    quick_timeouts(&mut c);
    // Tests stop hundreds of apps: no load balancer to wait for.
    c.http.shutdown_delay_ms = 0;
    c.status.refresh_interval_ms = 100;
    c.database.max_connections = 8;
    // Tests that want battles ingest their own (tests/api/stats.rs).
    c.analytics.seed_demo_history = false;
    c.edge.api_keys = vec![TEST_API_KEY.into()];
    c.edge.register_per_minute = 1_000_000;
    c.edge.register_burst = 1_000_000;
    c.edge.status_per_minute = 1_000_000;
    c.edge.status_burst = 1_000_000;
    c.edge.stats_per_minute = 1_000_000;
    c.edge.stats_burst = 1_000_000;
    c.edge.predict_per_minute = 1_000_000;
    c.edge.predict_burst = 1_000_000;
    c.edge.not_found_per_minute = 1_000_000;
    c.edge.not_found_burst = 1_000_000;
    c
}

/// A running in-process application.
pub struct Started {
    /// Every listener by role (`public`, `admin`, `redirect`, or a service
    /// name: `register`, `status`, `stats`).
    pub listeners: Vec<(&'static str, SocketAddr)>,
    /// What the binary would print on start.
    pub banner: String,
    /// The accounts database (every mode has one).
    pub db: Database,
    /// The embedded mock game server, when the configuration runs one.
    pub mock: Option<MockHandle>,
    pub shutdown: CancellationToken,
    pub running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Started {
    /// The address of the listener with this role; panics without one.
    pub fn addr(&self, role: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(r, _)| *r == role)
            .unwrap_or_else(|| panic!("no {role} listener: {:?}", self.listeners))
            .1
    }

    /// The public listener of `gamegate all`.
    pub fn public(&self) -> SocketAddr {
        self.addr("public")
    }

    /// The admin listener of `gamegate all`.
    pub fn admin(&self) -> SocketAddr {
        self.addr("admin")
    }

    /// The single listener of a split service (`serve …`).
    pub fn service(&self) -> SocketAddr {
        self.listeners[0].1
    }

    /// Shuts it down gracefully; panics unless it stopped cleanly.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.running.await.unwrap().unwrap();
    }
}

/// Builds and runs `gamegate all` with `config`; it stops when `shutdown`
/// is cancelled.
pub async fn start(config: Config) -> Started {
    start_mode(config, Mode::All).await
}

/// Builds and runs the application in `mode` (`all` or one `serve` service).
pub async fn start_mode(config: Config, mode: Mode) -> Started {
    let app = Application::build_mode(config, mode)
        .await
        .expect("application builds");
    let roles = ["public", "admin", "redirect", "register", "status", "stats"];
    Started {
        listeners: roles
            .into_iter()
            .filter_map(|role| Some((role, app.listener_addr(role)?)))
            .collect(),
        banner: app.banner(),
        db: app.database().clone(),
        mock: app.mock().cloned(),
        shutdown: app.shutdown_token(),
        running: tokio::spawn(app.run_until_stopped()),
    }
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

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// [`test_config`] on a fresh database of `backend` (analytics on SQLite),
/// adjusted by `tweak`; `None` when the backend is skipped here.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, &dir).await?;
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    tweak(&mut config);
    gamegate::telemetry::init(gamegate::config::LogFormat::Pretty, &config.log.level);

    let started = start(config.clone()).await;
    Some(TestApp {
        addr: started.public(),
        admin_addr: started.admin(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        mock: started.mock.expect("tests run the embedded mock"),
        db: started.db,
        config,
        shutdown: started.shutdown,
        running: started.running,
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
