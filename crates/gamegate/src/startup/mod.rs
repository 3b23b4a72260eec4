//! `Application::build`: one bootstrap shared by the binary and the tests,
//! for the all-in-one process and for each service of the split topology.
//!
//! The build is a list: the shared base (metrics, pools, certificates, the
//! access log, connection budgets), then each service of the mode
//! (`services`: its routes, background loops and shutdown steps), then the
//! listeners. [`Application::run_until_stopped`] runs what the list holds.

mod banner;
mod budget;
mod mode;
mod services;

pub use mode::Mode;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gamegate_gameserver::MockHandle;
use gamegate_store::{Database, MigrationSet, mask_url_password};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::metrics::Metrics;
use crate::config::Config;
use crate::http::access_log::{self, AccessLog};
use crate::http::edge::Edge;
use crate::http::server::{CertificateFiles, ConnectionLimits, Gate, RefusalReport};
use crate::http::{self, AdminState, Common};

use budget::Budget;
use services::{GameLink, Parts, Registration, Stage};

struct Listener {
    /// `public`, `admin`, `redirect`, or the service's name.
    role: &'static str,
    socket: TcpListener,
    /// Its routes and the front they are served behind.
    front: http::front::FrontParts,
    /// Served over TLS when certificates are configured (public and service
    /// listeners; the admin listener stays plain, on a private address).
    tls: bool,
    /// Its connection budget: the admin listener's own, or the one the
    /// public listeners share.
    gate: Arc<Gate>,
    /// Where the requests the HTTP library refused are reported (the jail
    /// only on the public listener of `all`, the one it guards).
    refusals: RefusalReport,
}

/// A process ready to serve: its bound listeners, the loops to run and the
/// steps of its shutdown.
pub struct Application {
    mode: Mode,
    listeners: Vec<Listener>,
    /// `accounts` first (every mode has it), then `analytics` where used.
    databases: Vec<(&'static str, Database)>,
    game: GameLink,
    background: Vec<(&'static str, services::Task)>,
    teardown: Vec<(&'static str, services::Task)>,
    /// TLS of the listeners marked `tls` (empty config: plain HTTP).
    tls: Tls,
    connection_limits: ConnectionLimits,
    banner: String,
    shutdown: CancellationToken,
}

/// Whether the listeners marked `tls` serve TLS, and with what.
enum Tls {
    Off,
    On(axum_server::tls_rustls::RustlsConfig),
}

async fn open(
    url: &str,
    settings: &gamegate_store::PoolSettings,
    set: MigrationSet,
) -> anyhow::Result<Database> {
    let db = Database::connect(url, settings)
        .await
        .with_context(|| format!("cannot open the database {}", mask_url_password(url)))?;
    db.migrate(set)
        .await
        .with_context(|| format!("cannot migrate {}", db.display_url()))?;
    Ok(db)
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

impl Application {
    /// The all-in-one process.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_mode(config, Mode::All).await
    }

    /// Builds the process of `mode`: opens and migrates its databases, binds
    /// its listeners and prepares (but does not start) its loops.
    ///
    /// # Errors
    /// A configuration that cannot run (no API key for `serve register`, an
    /// unreadable certificate, a database that cannot be opened or migrated,
    /// an address that cannot be bound), with a message naming the setting.
    pub async fn build_mode(config: Config, mode: Mode) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let mut parts = Parts::new(shutdown.clone());
        let metrics = Arc::new(Metrics::new());
        let common = Common {
            lang: config.lang(),
            metrics: metrics.clone(),
            rules: Arc::new(config.rules()?),
            body_limit: config.http.body_limit_bytes,
            request_timeout: config.request_timeout(),
            body_read_timeout: config.body_read_timeout(),
        };
        // First, so `serve register` without a key fails before touching anything.
        let edge = match mode.registers() {
            true => Some(Edge::new(&config, mode == Mode::All)?),
            false => None,
        };
        // Limits shared through Redis: count its fallbacks here, and (with a
        // jail) publish and receive bans there. (`serve register` applies no
        // rate limit: nginx's zones do.)
        let rate_store = edge
            .as_ref()
            .filter(|_| mode == Mode::All)
            .and_then(Edge::rate_store);
        if let Some(store) = &rate_store {
            store.attach_metrics(metrics.clone());
            tracing::info!(
                store = %store.settings().shown_url(),
                prefix = %store.settings().prefix,
                "rate limits shared through Redis"
            );
        }
        let certificates = match config.http.tls_cert_file.is_empty() {
            true => None,
            false => Some(
                CertificateFiles::load(&config.http.tls_cert_file, &config.http.tls_key_file)
                    .await?
                    .with_metrics(metrics.clone()),
            ),
        };
        let access_log = match AccessLog::start(
            access_log::Target::parse(&config.log.access_log),
            config.edge.trusted_proxies.clone(),
            metrics.clone(),
            config.log.access_log_buffer_bytes,
        )? {
            Some((log, writer)) => {
                // Bounded in case a connection task outlives the drain.
                let wait = std::time::Duration::from_secs(2);
                parts.at_shutdown(Stage::AccessLog, "access log", async move {
                    let _ = tokio::time::timeout(wait, writer.finished()).await;
                });
                Some(log)
            }
            None => None,
        };
        let budget = Budget::compute(&config, &metrics)?;

        let accounts = open(
            &config.database.url,
            &config.pool_settings(),
            MigrationSet::Accounts,
        )
        .await?;
        let mut databases = vec![("accounts", accounts.clone())];
        if mode.needs_analytics() {
            let analytics = open(
                &config.analytics.url,
                &config.analytics_pool_settings(),
                MigrationSet::Analytics,
            )
            .await?;
            databases.push(("analytics", analytics));
        }

        // The services of this mode, each adding its loops and shutdown steps.
        let game = GameLink::start(&config, mode, &mut parts).await?;
        let monitor = match game.addr() {
            Some(addr) => Some(services::game_monitor(&config, addr, &metrics, &mut parts).await?),
            None => None,
        };
        let status = match (mode, &monitor) {
            (Mode::All | Mode::Status, Some(monitor)) => {
                Some(services::status(&config, &accounts, monitor, &mut parts).await?)
            }
            _ => None,
        };
        let jail = match mode {
            Mode::All => {
                services::jail(&config, &common, &accounts, rate_store, &mut parts).await?
            }
            _ => None,
        };
        let registration = match game.addr().filter(|_| mode.registers()) {
            Some(addr) => {
                Some(Registration::build(&config, &accounts, addr, &metrics, &mut parts).await?)
            }
            None => None,
        };
        let stats = databases.get(1).map(|(_, analytics)| {
            services::stats(&config, mode, &common, analytics, &accounts, &mut parts)
        });

        let admin_auth = http::AdminAuth::new(
            &crate::config::expose_all(&config.admin.tokens),
            common.lang,
        );
        let admin = http::admin_routes(
            AdminState {
                common: common.clone(),
                service: mode.name(),
                databases: databases.clone(),
                game: registration.as_ref().map(|r| r.game.clone()),
                status: status.clone(),
                monitor,
                needs: mode.readiness_needs(),
            },
            &admin_auth,
        );
        let register = |edge: &Edge| match &registration {
            Some(r) => r.routes(&common, edge, mode),
            None => Router::new(),
        };
        // `/api/server/status`, and the seed's other paths of it where given.
        let status_at = |aliases: &[&str]| {
            status
                .clone()
                .map(|s| http::status_routes(s, aliases))
                .unwrap_or_default()
        };
        let stats_public = |limits: Option<&Edge>| {
            stats
                .as_ref()
                .map(|s| services::stats_public(s, &config, limits))
                .unwrap_or_default()
        };
        let stats_internal = || {
            stats
                .as_ref()
                .map(|s| services::stats_internal(s, &admin_auth))
                .unwrap_or_default()
        };

        // The demo page only in the all-in-one process, and only over plain
        // HTTP: its forwarder calls the public listener by IP, which a real
        // certificate would not name.
        let demo_site = mode == Mode::All && config.http.demo_site && certificates.is_none();
        if mode == Mode::All && config.http.demo_site && certificates.is_some() {
            tracing::info!("http.demo_site is ignored with TLS on (a dev page; see docs/SITE.md)");
        }
        let refusals = RefusalReport {
            lang: common.lang,
            metrics: metrics.clone(),
            access_log: access_log.clone(),
            jail: None,
            trusted: budget.trusted.clone(),
        };
        // A listener's front: request metrics, panic containment, body
        // deadlines (the public listener adds the edge's parts).
        let measured = |router: Router| http::front::FrontParts {
            router,
            common: Some(common.clone()),
            ..Default::default()
        };
        let listener = |role, socket, front, tls, gate: &Arc<Gate>| Listener {
            role,
            socket,
            front,
            tls,
            gate: gate.clone(),
            refusals: refusals.clone(),
        };
        let mut listeners = match mode {
            Mode::All => {
                let socket = bind(config.http.public_addr).await?;
                let edge = edge.as_ref().expect("all registers");
                let demo = match demo_site {
                    true => http::demo::demo_routes(
                        common.clone(),
                        http::demo::Forwarder::new(
                            socket.local_addr()?,
                            edge.key_for_own_forwarding(),
                            common.request_timeout,
                        )?,
                    ),
                    false => Router::new(),
                };
                // The jail around every route and the fallbacks (the demo
                // page's included: a banned browser gets nothing), before
                // every rate limit, key check and route; unknown paths limited
                // inside it (their 429s count). Who the client is is resolved
                // once, in the front, before routing (a valid site key may
                // name its player); CORS outermost in the front, so a browser
                // on an allowed site can read even a `banned` answer.
                let front = http::front::FrontParts {
                    router: http::finish_guarded(
                        register(edge)
                            .merge(edge.limit_status(status_at(&[])))
                            .merge(http::edge_routes())
                            .merge(http::openapi::routes())
                            .merge(stats_public(Some(edge)))
                            .merge(demo),
                        common.clone(),
                        Some(edge.route_checks(jail.clone())),
                    ),
                    common: Some(common.clone()),
                    edge: Some(edge.clone()),
                    cors: Some(edge.cors()),
                    ..Default::default()
                };
                let mut public = listener("public", socket, front, true, &budget.public);
                public.refusals.jail = jail.clone();
                vec![
                    public,
                    listener(
                        "admin",
                        bind(config.http.admin_addr).await?,
                        // The public statistics too: the dashboard reads them
                        // from its own origin.
                        measured(http::finish(
                            admin.merge(stats_internal()).merge(stats_public(None)),
                            common.clone(),
                        )),
                        false,
                        &budget.admin,
                    ),
                ]
            }
            Mode::Register => vec![listener(
                "register",
                bind(config.services.register_addr).await?,
                measured(http::finish(
                    register(edge.as_ref().expect("register registers")).merge(admin),
                    common.clone(),
                )),
                true,
                &budget.public,
            )],
            Mode::Status => vec![listener(
                "status",
                bind(config.services.status_addr).await?,
                // The seed's service path, and the edge's, so either proxy rule works.
                measured(http::finish(
                    status_at(&["/server/status"]).merge(admin),
                    common.clone(),
                )),
                true,
                &budget.public,
            )],
            Mode::Stats => {
                // No key to check here; the public statistics and unknown
                // paths are limited per client IP as on `gamegate all`.
                let limits = Edge::without_keys(&config)?;
                if let Some(store) = limits.rate_store() {
                    store.attach_metrics(metrics.clone());
                }
                vec![listener(
                    "stats",
                    bind(config.services.stats_addr).await?,
                    measured(http::finish_guarded(
                        stats_public(Some(&limits))
                            .merge(stats_internal())
                            .merge(admin),
                        common.clone(),
                        Some(limits.route_checks(None)),
                    )),
                    true,
                    &budget.public,
                )]
            }
        };
        if !config.http.redirect_http_addr.is_empty() {
            let https_port = listeners[0].socket.local_addr()?.port();
            let addr = config.http.redirect_http_addr.parse()?;
            listeners.push(listener(
                "redirect",
                bind(addr).await?,
                http::front::FrontParts {
                    router: http::server::redirect_to_https(https_port),
                    ..Default::default()
                },
                false,
                &budget.public,
            ));
        }
        if let Some(log) = &access_log {
            for l in &mut listeners {
                l.front.access_log = Some(log.clone());
            }
        }
        for (_, db) in &databases {
            let db = db.clone();
            parts.at_shutdown(
                Stage::Pools,
                "database pool",
                async move { db.close().await },
            );
        }

        let banner = banner::Facts {
            mode,
            listeners: listeners
                .iter()
                .map(|l| Ok((l.role, l.socket.local_addr()?, l.tls)))
                .collect::<std::io::Result<_>>()?,
            demo_site,
            game: game
                .addr()
                .zip(registration.as_ref())
                .map(|(addr, r)| (addr, matches!(game, GameLink::Mock(_)), r.game_summary())),
            databases: &databases,
            edge: edge.as_ref(),
            admin_tokens: config.admin.tokens.len(),
            connection_budget: &budget.words,
            jail: jail.as_deref(),
            telegram: registration
                .as_ref()
                .map(|r| r.registrar.telegram.summary()),
            certificates: certificates.as_ref(),
        }
        .render();
        let tls = match certificates {
            Some(certificates) => {
                let config_now = certificates.config.clone();
                let every = std::time::Duration::from_millis(config.http.tls_reload_interval_ms);
                parts.run("certificate reload", move |token| {
                    certificates.watch(every, token)
                });
                Tls::On(config_now)
            }
            None => Tls::Off,
        };

        Ok(Self {
            mode,
            listeners,
            databases,
            game,
            background: std::mem::take(&mut parts.background),
            teardown: parts.teardown(),
            tls,
            connection_limits: ConnectionLimits {
                header_read_timeout: config.header_read_timeout(),
                idle_timeout: config.idle_timeout(),
                stuck_timeout: config.request_timeout()
                    + config.body_read_timeout()
                    + config.idle_timeout(),
                drain: config.request_timeout() + std::time::Duration::from_secs(5),
                shutdown_delay: std::time::Duration::from_millis(config.http.shutdown_delay_ms),
                http2_cleartext: config.http.http2_cleartext,
            },
            banner,
            shutdown,
        })
    }

    fn addr_of(&self, role: &str) -> SocketAddr {
        self.listener_addr(role)
            .unwrap_or_else(|| panic!("this {} process has no {role} listener", self.mode.name()))
    }

    /// The address of the listener with this role (`public`, `admin`,
    /// `redirect`, or a service name), if this process has one.
    pub fn listener_addr(&self, role: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.role == role)
            .and_then(|l| l.socket.local_addr().ok())
    }

    /// The public listener of the all-in-one process.
    pub fn public_addr(&self) -> SocketAddr {
        self.addr_of("public")
    }

    /// The admin listener of the all-in-one process.
    pub fn admin_addr(&self) -> SocketAddr {
        self.addr_of("admin")
    }

    /// The single listener of a split service (`serve …`).
    pub fn service_addr(&self) -> SocketAddr {
        self.listeners[0]
            .socket
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The accounts database (every mode opens it).
    pub fn database(&self) -> &Database {
        &self.databases[0].1
    }

    /// The analytics database of `all` and `serve stats`.
    pub fn analytics_database(&self) -> Option<&Database> {
        self.databases.get(1).map(|(_, db)| db)
    }

    /// The in-process mock game server, when `game_server.embedded_mock` is on.
    pub fn mock(&self) -> Option<&MockHandle> {
        match &self.game {
            GameLink::Mock(mock) => Some(mock),
            _ => None,
        }
    }

    /// Cancelling this token shuts the application down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// What the operator sees on start: where everything is and a request to try.
    pub fn banner(&self) -> String {
        self.banner.clone()
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight
    /// requests finish, stops the background loops and runs the shutdown
    /// steps in order (sagas in flight, the mock, the pools, the access log).
    ///
    /// # Errors
    /// The first listener that failed (the others are shut down with it).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let tasks = TaskTracker::new();
        for (name, task) in self.background {
            tracing::debug!(task = name, "background loop started");
            tasks.spawn(task);
        }
        let shutdown = self.shutdown.clone();
        let limits = self.connection_limits;
        let servers: Vec<_> = self
            .listeners
            .into_iter()
            .map(|l| {
                let shutdown = shutdown.clone();
                let tls = match (&self.tls, l.tls) {
                    (Tls::On(config), true) => Some(config.clone()),
                    _ => None,
                };
                // Over TLS every answer asks browsers to stay on HTTPS.
                let front = http::front::Front::from(http::front::FrontParts {
                    hsts: tls.is_some(),
                    ..l.front
                });
                let listening = http::server::Listening {
                    role: l.role,
                    gate: l.gate,
                    refusals: l.refusals,
                };
                tokio::spawn(async move {
                    let result = http::server::serve(
                        l.socket,
                        front,
                        tls,
                        limits,
                        listening,
                        shutdown.clone(),
                    )
                    .await
                    .with_context(|| format!("{} listener", l.role));
                    // Whichever listener ends first (shutdown, or an error) ends the others.
                    shutdown.cancel();
                    result
                })
            })
            .collect();
        // Collect every outcome first: an early return here would skip the
        // draining below.
        let mut results = Vec::new();
        for server in servers {
            results.push(server.await.context("listener task").and_then(|r| r));
        }
        tasks.close();
        tasks.wait().await;
        for (name, step) in self.teardown {
            tracing::debug!(step = name, "shutdown step");
            step.await;
        }
        results.into_iter().collect()
    }
}
