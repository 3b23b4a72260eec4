//! The services of a process as a list: each states the routes it adds and
//! the background loops and shutdown steps it needs ([`Parts`]).
//!
//! | service  | routes                                             | background loops            |
//! |----------|----------------------------------------------------|-----------------------------|
//! | register | `POST /api/register` (key check, limits on `all`)  | the reconciler, game polls  |
//! | status   | `GET /api/server/status` (`/server/status` split)  | the status cache, game polls|
//! | stats    | public statistics, ingestion, reports, dashboard   | demo seeding, anomaly cache |
//! | edge     | the jail around the public listener                | ban sync, Redis ban bus     |
//! | demo     | `GET /` and its forwarder (`http.demo_site`)       | —                           |

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gamegate_gameserver::{GameServer, MockGameServer, MockHandle};
use gamegate_store::Database;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::connector::Probe;
use crate::app::game_monitor::GameMonitor;
use crate::app::hashing::PasswordHasher;
use crate::app::idempotency::Idempotency;
use crate::app::lifecycle::{AccountLifecycle, Erasure};
use crate::app::metrics::Metrics;
use crate::app::reconciler::Reconciler;
use crate::app::registration::Registrar;
use crate::app::status_cache::StatusCache;
use crate::app::telegram::Telegram;
use crate::config::Config;
use crate::http::edge::redis_store::{BAN_OUTBOX, RedisStore};
use crate::http::edge::{Edge, Jail, JailSettings};
use crate::http::{self, Common};

use super::Mode;

/// A future the process owns: a background loop, or one shutdown step.
pub(super) type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the services of one process add, in the order they were built.
pub(super) struct Parts {
    shutdown: CancellationToken,
    /// Loops that run until shutdown, each on its own task, with a name for
    /// the logs.
    pub background: Vec<(&'static str, Task)>,
    /// Run one after the other once every listener and loop has stopped,
    /// in the order of their [`Stage`].
    teardown: Vec<(Stage, &'static str, Task)>,
}

/// When a shutdown step runs: in this order, each stage after the one
/// before has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Stage {
    /// Sagas whose client went away finish while the game server and the
    /// pools are still up.
    Sagas,
    /// The in-process mock game server stops.
    GameServer,
    /// The database pools close.
    Pools,
    /// The access log writes what it holds (every router is gone by then).
    AccessLog,
}

impl Parts {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            background: Vec::new(),
            teardown: Vec::new(),
        }
    }

    /// Adds a loop that stops when the process shuts down.
    pub fn run<F>(&mut self, name: &'static str, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let token = self.shutdown.child_token();
        self.background.push((name, Box::pin(task(token))));
    }

    /// Adds a step of the shutdown (after the listeners and loops).
    pub fn at_shutdown(
        &mut self,
        stage: Stage,
        name: &'static str,
        step: impl Future<Output = ()> + Send + 'static,
    ) {
        self.teardown.push((stage, name, Box::pin(step)));
    }

    /// The shutdown steps in their order.
    pub fn teardown(&mut self) -> Vec<(&'static str, Task)> {
        let mut steps = std::mem::take(&mut self.teardown);
        steps.sort_by_key(|(stage, _, _)| *stage);
        steps
            .into_iter()
            .map(|(_, name, step)| (name, step))
            .collect()
    }
}

/// The game server a process talks to: to register, or to show its state
/// in the status answer.
pub enum GameLink {
    /// This process neither registers nor serves the status (`serve stats`).
    None,
    /// A game server elsewhere: `game_server.addr` (v1) or
    /// `game_server.http.url` (http).
    Remote(String),
    /// The in-process mock (`game_server.embedded_mock`, `gamegate all` only).
    Mock(MockHandle),
}

impl GameLink {
    /// Starts the mock when this process may host it; its own token, so it
    /// outlives the listeners and in-flight registrations can finish during
    /// a graceful shutdown.
    pub async fn start(config: &Config, mode: Mode, parts: &mut Parts) -> anyhow::Result<Self> {
        if mode == Mode::Stats {
            return Ok(GameLink::None);
        }
        // Only the all-in-one process may host the mock: split services talk
        // to a real (or separately run) game server.
        // The mock speaks protocol v1 only: with another connector
        // `embedded_mock` is ignored.
        if !(mode == Mode::All && config.runs_embedded_mock()) {
            return Ok(GameLink::Remote(config.game_server_target()));
        }
        if let Some(refusal) = config.game_server.embedded_mock_refusal() {
            anyhow::bail!(refusal);
        }
        let addr: SocketAddr = config
            .game_server
            .addr
            .parse()
            .context("game_server.addr must be IP:PORT when embedded_mock is on")?;
        let stop = CancellationToken::new();
        let handle = MockGameServer::start(
            addr,
            config.game_server.auth_token.expose_secret().to_owned(),
            stop.clone(),
        )
        .await
        .with_context(|| format!("cannot start the mock game server on {addr}"))?;
        let stopped = handle.clone();
        parts.at_shutdown(Stage::GameServer, "mock game server", async move {
            stop.cancel();
            stopped.stopped().await;
        });
        Ok(GameLink::Mock(handle))
    }

    /// Where the connector talks to: an address (v1) or a URL (http).
    pub fn addr(&self) -> Option<String> {
        match self {
            GameLink::None => None,
            GameLink::Remote(addr) => Some(addr.clone()),
            GameLink::Mock(mock) => Some(mock.local_addr().to_string()),
        }
    }
}

/// The registration service: the saga behind `POST /api/register` and the
/// reconciler that settles lost answers.
#[derive(Clone)]
pub struct Registration {
    pub registrar: Registrar,
    /// Deletions and password changes (`/api/accounts/…`).
    pub lifecycle: AccountLifecycle,
    pub game: Arc<dyn GameServer>,
    /// The `Idempotency-Key`s of `POST /api/register`.
    pub idempotency: Idempotency,
}

impl Registration {
    /// Builds the connector and probes the game server once (bounded by its
    /// timeouts): unreachable, the process starts anyway; an incompatible
    /// protocol version or a link that cannot be secured stops the start.
    pub async fn build(
        config: &Config,
        accounts: &Database,
        addr: String,
        metrics: &Arc<Metrics>,
        parts: &mut Parts,
    ) -> anyhow::Result<Self> {
        let game = crate::app::connector::build(config, addr.clone())?;
        match crate::app::connector::probe(game.as_ref()).await? {
            Probe::Answered => tracing::info!(%addr, "the game server answers"),
            Probe::Unanswered(reason) => tracing::warn!(
                %addr,
                %reason,
                "the game server does not answer yet; starting anyway (connections are made as registrations need them)"
            ),
        }
        let registrar = Registrar {
            db: accounts.clone(),
            game: game.clone(),
            hasher: PasswordHasher::new(&config.password_hash)?,
            limit: config.account_limit(),
            metrics: metrics.clone(),
            telegram: Arc::new(Telegram::new(&config.telegram, metrics.clone())?),
            tasks: TaskTracker::new(),
        };
        let erasure = Erasure {
            keep: config.registration.erasure_keep,
            key: config.registration.erasure_key.clone(),
        };
        let lifecycle = AccountLifecycle {
            db: accounts.clone(),
            game: game.clone(),
            hasher: registrar.hasher.clone(),
            metrics: metrics.clone(),
            erasure: erasure.clone(),
            grace: config.reconciler_grace(),
            tasks: registrar.tasks.clone(),
        };
        let reconciler = Reconciler {
            db: accounts.clone(),
            game: game.clone(),
            metrics: metrics.clone(),
            interval: config.reconciler_interval(),
            grace: config.reconciler_grace(),
            batch_size: config.reconciler.batch_size,
            erasure,
        };
        parts.run("reconciler", |token| reconciler.run(token));
        let idempotency = Idempotency::new(
            accounts.clone(),
            config.idempotency_window(),
            config.request_timeout(),
        );
        let purge = idempotency.clone();
        parts.run("idempotency key purge", |token| purge.purge_loop(token));
        let sagas = registrar.tasks.clone();
        parts.at_shutdown(Stage::Sagas, "registrations in flight", async move {
            sagas.close();
            sagas.wait().await;
        });
        Ok(Self {
            registrar,
            game,
            idempotency,
            lifecycle,
        })
    }

    /// The connector's line in the banner: its capabilities, and the link
    /// the start-up probe established (TLS, announced version) when it did.
    pub fn game_summary(&self) -> String {
        let summary = self.game.capabilities().summary();
        match self.game.link_summary() {
            Some(link) => format!("{summary}; {link}"),
            None => summary,
        }
    }

    /// `POST /api/register` and the account routes (`DELETE
    /// /api/accounts/{login}`, `POST /api/accounts/{login}/password`) behind
    /// the key check; on the all-in-one edge the
    /// rate limits go outside it, so key guessing is limited too.
    pub fn routes(&self, common: &Common, edge: &Edge, mode: Mode) -> Router {
        let routes = edge.require_key(http::register_routes(
            common.clone(),
            self.registrar.clone(),
            self.idempotency.clone(),
            self.lifecycle.clone(),
        ));
        match mode {
            Mode::All => edge.limit_register(routes),
            _ => routes,
        }
    }
}

/// The game server's polls (`ping`, `online`) every
/// `status.refresh_interval_ms`, through a client of their own with one
/// connection; the first poll before the process serves.
pub async fn game_monitor(
    config: &Config,
    addr: String,
    metrics: &Arc<Metrics>,
    parts: &mut Parts,
) -> anyhow::Result<GameMonitor> {
    let mut own = config.clone();
    own.game_server.pool_size = 1;
    own.game_server.auth_db.pool_size = 1;
    let game = crate::app::connector::build(&own, addr)?;
    let call_timeout = std::time::Duration::from_millis(config.game_server.call_timeout_key().1);
    let monitor = GameMonitor::start(game, call_timeout, metrics.clone()).await;
    let (polls, every) = (monitor.clone(), config.status_refresh());
    parts.run("game server polls", move |token| polls.run(every, token));
    Ok(monitor)
}

/// The status service: the constants cache and its refresh loop, which
/// also shows what the game server's polls find.
pub async fn status(
    config: &Config,
    accounts: &Database,
    game: &GameMonitor,
    parts: &mut Parts,
) -> anyhow::Result<StatusCache> {
    let (cache, refresh) =
        StatusCache::load(accounts, game.subscribe(), config.status_derivation())
            .await
            .context("cannot read the constants table")?;
    let every = config.status_refresh();
    parts.run("status cache", move |token| refresh.run(every, token));
    Ok(cache)
}

/// The statistics service: its state and the anomaly cache's loop (after
/// seeding the demo history into an empty embedded database, `gamegate all`).
pub fn stats(
    config: &Config,
    mode: Mode,
    common: &Common,
    analytics: &Database,
    accounts: &Database,
    parts: &mut Parts,
) -> http::stats::StatsState {
    let state = http::stats::StatsState {
        common: common.clone(),
        analytics: analytics.clone(),
        accounts: Some(accounts.clone()),
        ingest: Arc::new(http::stats::IngestPolicy::from_config(config)),
        anomalies: Arc::new(crate::app::anomaly_cache::AnomalyCache::new(
            config.analytics.anomaly_evidence(),
        )),
    };
    if config.analytics.ingest_tokens.is_empty() {
        tracing::info!(
            "analytics.ingest_tokens is empty: POST /stats/battles refuses every request"
        );
    }
    // Only into the embedded (SQLite) database of the demo: a server
    // database is a real one.
    let seed = (mode == Mode::All
        && config.analytics.seed_demo_history
        && gamegate_store::sqlite_file(&config.analytics.url).is_some())
    .then(|| {
        (
            config.analytics.url.clone(),
            gamegate_store::PoolSettings {
                max_connections: 1,
                ..config.analytics_pool_settings()
            },
        )
    });
    let (cache, db) = (state.anomalies.clone(), analytics.clone());
    let every = std::time::Duration::from_secs(config.analytics.anomalies_refresh_secs);
    parts.run("anomaly cache", move |token| async move {
        if let Some((url, settings)) = seed {
            seed_demo_history(&url, &settings).await;
        }
        cache.run(db, every, token).await;
    });
    state
}

/// Seeds the demo's synthetic history through a pool of its own, closed
/// afterwards: the seeding's SQLite page caches and buffers would otherwise
/// stay with the serving pool's idle connections (+18 MiB idle RSS measured).
async fn seed_demo_history(url: &str, settings: &gamegate_store::PoolSettings) {
    let seeded = match Database::connect(url, settings).await {
        Ok(seed_db) => {
            let seeded = crate::app::battle_import::seed_if_empty(&seed_db, 200, 5_000).await;
            seed_db.close().await;
            seeded
        }
        Err(e) => Err(e.into()),
    };
    match seeded {
        Ok(true) => tracing::info!(
            "seeded 5000 synthetic battles of 200 players into the empty analytics database \
             (negative ids; `gamegate battles purge-demo` removes them)"
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot seed the analytics database"),
    }
}

/// The statistics anyone may read, bounded by `analytics.query_timeout_ms`;
/// on a public listener each route set behind its own per-IP limit.
pub fn stats_public(
    state: &http::stats::StatsState,
    config: &Config,
    limits: Option<&Edge>,
) -> Router {
    let mut s = state.clone();
    let timeout = config.stats_query_timeout();
    s.analytics = s.analytics.with_operation_timeout(timeout);
    // `registered` of /stats/players asks the accounts database too.
    s.accounts = s.accounts.map(|a| a.with_operation_timeout(timeout));
    let summaries = http::stats::public_stats_routes(s.clone());
    let predict = http::stats::predict_routes(s);
    match limits {
        Some(edge) => edge
            .limit_stats(summaries)
            .merge(edge.limit_predict(predict)),
        None => summaries.merge(predict),
    }
}

/// The internal statistics routes: ingestion (its own token) and the
/// operator routes (dashboard, accounts reports, anomalies) behind
/// `admin.tokens`.
pub fn stats_internal(state: &http::stats::StatsState, admin_auth: &http::AdminAuth) -> Router {
    http::stats::ingest_routes(state.clone()).merge(
        admin_auth.protect(
            http::stats::admin_stats_routes(state.clone())
                .merge(http::dashboard::dashboard_routes(state.clone())),
        ),
    )
}

/// The ban jail of the all-in-one process's public listener: its bans are
/// in the accounts database, read before serving, and kept in sync; with a
/// Redis store (`edge.rate_limit_store`) its bans are also published to the
/// other replicas, and theirs received, at once.
pub async fn jail(
    config: &Config,
    common: &Common,
    accounts: &Database,
    rate_store: Option<Arc<RedisStore>>,
    parts: &mut Parts,
) -> anyhow::Result<Option<Arc<Jail>>> {
    let Some(settings) = JailSettings::from_config(&config.edge)? else {
        return Ok(None);
    };
    let jail = Jail::restore(
        settings,
        common.lang,
        accounts.clone(),
        common.metrics.clone(),
    )
    .await
    .context("cannot read the bans table")?;
    let sync = jail.clone();
    parts.run("ban sync", move |token| sync.run_sync(token));
    if let Some(store) = rate_store {
        let (outbox, pending) = tokio::sync::mpsc::channel(BAN_OUTBOX);
        jail.publish_bans_to(outbox);
        let bus = jail.clone();
        parts.run("ban bus", move |token| {
            store.run_ban_bus(bus, pending, token)
        });
    }
    Ok(Some(jail))
}
