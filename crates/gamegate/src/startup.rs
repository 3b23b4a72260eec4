//! `Application::build`: one bootstrap shared by the binary and the tests,
//! for the all-in-one process and for each service of the split topology.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gamegate_gameserver::{GameServer, MockGameServer, MockHandle, TcpGameServer};
use gamegate_store::{Database, MigrationSet, mask_url_password};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::edge::{Edge, Jail, JailSettings};
use crate::hashing::PasswordHasher;
use crate::http::access_log::{self, AccessLog};
use crate::http::server::{CertificateFiles, ConnectionLimits};
use crate::http::{self, AdminState, Common};
use crate::metrics::Metrics;
use crate::reconciler::Reconciler;
use crate::registration::Registrar;
use crate::status_cache::StatusCache;
use crate::telegram::Telegram;

/// What one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything: public listener (edge routes) + admin listener, optional
    /// in-process mock game server.
    All,
    /// `serve register` (API_Father): `POST /api/register` + health + metrics.
    Register,
    /// `serve status` (API_1): `GET /server/status` + health + metrics.
    Status,
    /// `serve stats` (API_4): battle ingestion, statistics and reports.
    Stats,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::All => "all",
            Mode::Register => "register",
            Mode::Status => "status",
            Mode::Stats => "stats",
        }
    }

    /// `serve stats` reads the accounts database for the registration reports
    /// (`/stats/registrations`, `/stats/top-telegram`).
    fn needs_accounts(self) -> bool {
        matches!(
            self,
            Mode::All | Mode::Register | Mode::Status | Mode::Stats
        )
    }

    fn needs_analytics(self) -> bool {
        matches!(self, Mode::All | Mode::Stats)
    }

    fn registers(self) -> bool {
        matches!(self, Mode::All | Mode::Register)
    }
}

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
    gate: Arc<http::server::Gate>,
}

pub struct Application {
    mode: Mode,
    listeners: Vec<Listener>,
    accounts: Option<Database>,
    analytics: Option<Database>,
    mock: Option<MockHandle>,
    mock_shutdown: CancellationToken,
    game_addr: Option<String>,
    status: Option<StatusCache>,
    status_refresh: std::time::Duration,
    reconciler: Option<Reconciler>,
    registrar: Option<Registrar>,
    edge: Option<Edge>,
    certificates: Option<CertificateFiles>,
    tls_reload_interval: std::time::Duration,
    connection_limits: ConnectionLimits,
    /// Where requests the HTTP library refused are reported (the jail only
    /// on the public listener of `all`, the one it guards).
    refusals: http::server::RefusalReport,
    /// The connection budget, in words for the banner.
    connection_budget: String,
    access_log: Option<access_log::Writer>,
    jail: Option<Arc<Jail>>,
    demo_site: bool,
    /// The anomaly cache to keep fresh, with its refresh interval.
    anomalies: Option<(Arc<http::stats::AnomalyCache>, std::time::Duration)>,
    /// `gamegate all`: seed a synthetic history into an empty analytics
    /// database, through its own one-connection pool (URL and settings).
    seed_demo_history: Option<(String, gamegate_store::PoolSettings)>,
    shutdown: CancellationToken,
    /// How many operator tokens guard the admin routes (`admin.tokens`).
    admin_tokens: usize,
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

    pub async fn build_mode(config: Config, mode: Mode) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let mock_shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        let common = Common {
            lang: config.lang()?,
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
        let certificates = match config.http.tls_cert_file.is_empty() {
            true => None,
            false => Some(
                CertificateFiles::load(&config.http.tls_cert_file, &config.http.tls_key_file)
                    .await?
                    .with_metrics(metrics.clone()),
            ),
        };
        let (access_log, access_log_writer) = match AccessLog::start(
            access_log::Target::parse(&config.log.access_log),
            config.edge.trusted_proxy_nets()?,
            metrics.clone(),
            config.log.access_log_buffer_bytes,
        )? {
            Some((log, writer)) => (Some(log), Some(writer)),
            None => (None, None),
        };

        // The descriptor budget: the soft limit raised to the hard one, and
        // the connection caps computed so the reserve stays free.
        let descriptors = crate::descriptors::raise_limit();
        let reserved = config.descriptors_reserved();
        let budget = crate::descriptors::budget(
            descriptors.soft,
            reserved,
            config.http.max_connections,
            config.http.admin_max_connections,
            config.http.max_connections_per_ip,
        );
        tracing::info!(
            descriptors = descriptors.soft,
            raised_from = descriptors.raised_from,
            reserved,
            public_max_connections = budget.public,
            admin_max_connections = budget.admin,
            max_connections_per_ip = budget.per_ip,
            "connection budget"
        );
        if config.http.max_connections > budget.public {
            tracing::warn!(
                configured = config.http.max_connections,
                allowed = budget.public,
                "http.max_connections lowered to what the descriptor limit allows"
            );
        }
        let trusted = Arc::new(config.edge.trusted_proxy_nets()?);
        let public_gate = Arc::new(
            http::server::Gate::new(
                budget.public,
                budget.per_ip,
                trusted.clone(),
                metrics.clone(),
            )
            .with_ipv6_prefix(config.edge.ipv6_prefix),
        );
        let admin_gate = Arc::new(
            http::server::Gate::new(
                budget.admin,
                budget.per_ip,
                trusted.clone(),
                metrics.clone(),
            )
            .with_ipv6_prefix(config.edge.ipv6_prefix),
        );

        let accounts = match mode.needs_accounts() {
            true => Some(
                open(
                    &config.database.url,
                    &config.pool_settings(),
                    MigrationSet::Accounts,
                )
                .await?,
            ),
            false => None,
        };
        let analytics = match mode.needs_analytics() {
            true => Some(
                open(
                    &config.analytics.url,
                    &config.analytics_pool_settings(),
                    MigrationSet::Analytics,
                )
                .await?,
            ),
            false => None,
        };
        let status = match (&accounts, matches!(mode, Mode::All | Mode::Status)) {
            (Some(db), true) => Some(
                StatusCache::load(db)
                    .await
                    .context("cannot read the constants table")?,
            ),
            _ => None,
        };

        // The ban jail guards the public listener of the all-in-one process;
        // its bans are in the accounts database, read before serving.
        let jail = match (mode, &accounts, JailSettings::from_config(&config.edge)?) {
            (Mode::All, Some(db), Some(settings)) => Some(
                Jail::restore(settings, common.lang, db.clone(), metrics.clone())
                    .await
                    .context("cannot read the bans table")?,
            ),
            _ => None,
        };

        // Only the all-in-one process may host the mock: split services talk to
        // a real (or separately run) game server.
        let mock = if mode == Mode::All && config.game_server.embedded_mock {
            let addr: SocketAddr = config
                .game_server
                .addr
                .parse()
                .context("game_server.addr must be IP:PORT when embedded_mock is on")?;
            // Its own token: it must outlive the HTTP listeners so in-flight
            // registrations can finish during a graceful shutdown.
            let handle = MockGameServer::start(
                addr,
                config.game_server.auth_token.clone(),
                mock_shutdown.clone(),
            )
            .await
            .with_context(|| format!("cannot start the mock game server on {addr}"))?;
            Some(handle)
        } else {
            None
        };

        let (mut game, mut game_addr, mut registrar, mut reconciler) = (None, None, None, None);
        if let (true, Some(db)) = (mode.registers(), &accounts) {
            let addr = mock.as_ref().map_or_else(
                || config.game_server.addr.clone(),
                |m| m.local_addr().to_string(),
            );
            let client: Arc<dyn GameServer> =
                Arc::new(TcpGameServer::new(config.game_server_client(addr.clone())));
            registrar = Some(Registrar {
                db: db.clone(),
                game: client.clone(),
                hasher: PasswordHasher::new(&config.password_hash)?,
                limit: config.account_limit()?,
                metrics: metrics.clone(),
                telegram: Arc::new(Telegram::new(&config.telegram, metrics.clone())?),
                tasks: TaskTracker::new(),
            });
            reconciler = Some(Reconciler {
                db: db.clone(),
                game: client.clone(),
                metrics: metrics.clone(),
                interval: config.reconciler_interval(),
                grace: config.reconciler_grace(),
                batch_size: config.reconciler.batch_size,
            });
            game = Some(client);
            game_addr = Some(addr);
        }

        let stats = analytics.clone().map(|db| http::stats::StatsState {
            common: common.clone(),
            analytics: db,
            accounts: accounts.clone(),
            ingest: Arc::new(http::stats::IngestPolicy::from_config(&config)),
            anomalies: Arc::new(http::stats::AnomalyCache::default()),
        });
        if stats.is_some() && config.analytics.ingest_tokens.is_empty() {
            tracing::info!(
                "analytics.ingest_tokens is empty: POST /stats/battles refuses every request"
            );
        }
        // Public: statistics any site may show. Internal (admin listener of
        // `all`, the service's own listener of `serve stats`): ingestion and
        // the accounts reports.
        // Their queries bounded by `analytics.query_timeout_ms`; on a public
        // listener each route set behind its own per-IP limit.
        let query_timeout = config.stats_query_timeout();
        let stats_public = |limits: Option<&Edge>| {
            stats
                .clone()
                .map(|mut s| {
                    s.analytics = s.analytics.with_operation_timeout(query_timeout);
                    let summaries = http::stats::public_stats_routes(s.clone());
                    let predict = http::stats::predict_routes(s);
                    match limits {
                        Some(edge) => edge
                            .limit_stats(summaries)
                            .merge(edge.limit_predict(predict)),
                        None => summaries.merge(predict),
                    }
                })
                .unwrap_or_default()
        };
        // The operator routes (dashboard, accounts reports, anomalies,
        // /metrics) behind `admin.tokens` when set; ingestion has its own token.
        let admin_auth = http::AdminAuth::new(&config.admin.tokens, common.lang);
        let stats_internal = || {
            stats
                .clone()
                .map(|s| {
                    http::stats::ingest_routes(s.clone()).merge(
                        admin_auth.protect(
                            http::stats::admin_stats_routes(s.clone())
                                .merge(http::dashboard::dashboard_routes(s)),
                        ),
                    )
                })
                .unwrap_or_default()
        };
        let admin = http::admin_routes(
            AdminState {
                common: common.clone(),
                service: mode.name(),
                databases: [("accounts", &accounts), ("analytics", &analytics)]
                    .into_iter()
                    .filter_map(|(role, db)| db.clone().map(|db| (role, db)))
                    .collect(),
                game: game.clone(),
                status: status.clone(),
            },
            &admin_auth,
        );
        // The key check on every process that registers; rate limits (outside
        // it, so key guessing is limited too) only on the all-in-one edge.
        let register = || match (registrar.clone(), &edge) {
            (Some(r), Some(edge)) => {
                let routes = edge.require_key(http::register_routes(common.clone(), r));
                match mode {
                    Mode::All => edge.limit_register(routes),
                    _ => routes,
                }
            }
            _ => Router::new(),
        };
        let status_at = |paths: &[&str]| {
            status
                .clone()
                .map(|s| http::status_routes(s, paths))
                .unwrap_or_default()
        };

        // The demo page only in the all-in-one process, and only over plain
        // HTTP: its forwarder calls the public listener by IP, which a real
        // certificate would not name.
        let demo_site = mode == Mode::All && config.http.demo_site && certificates.is_none();
        if mode == Mode::All && config.http.demo_site && certificates.is_some() {
            tracing::info!("http.demo_site is ignored with TLS on (a dev page; see docs/SITE.md)");
        }
        // A listener's front: request metrics, panic containment, body deadlines.
        let measured = |router: Router| http::front::FrontParts {
            router,
            common: Some(common.clone()),
            ..Default::default()
        };
        let listeners = match mode {
            Mode::All => vec![
                {
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
                    Listener {
                        role: "public",
                        socket,
                        front: http::front::FrontParts {
                            // The jail around every route and the fallbacks
                            // (the demo page's included: a banned browser gets
                            // nothing), before every rate limit, key check and
                            // route; unknown paths limited inside it (their
                            // 429s count). Who the client is is resolved once,
                            // in the front, before routing (a valid site key
                            // may name its player); CORS outermost in the
                            // front, so a browser on an allowed site can read
                            // even a `banned` answer.
                            router: http::finish_guarded(
                                register()
                                    .merge(edge.limit_status(status_at(&["/api/server/status"])))
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
                        },
                        tls: true,
                        gate: public_gate.clone(),
                    }
                },
                Listener {
                    role: "admin",
                    gate: admin_gate.clone(),
                    socket: bind(config.http.admin_addr).await?,
                    // The public statistics too: the dashboard reads them from its own origin.
                    front: measured(http::finish(
                        admin.merge(stats_internal()).merge(stats_public(None)),
                        common.clone(),
                    )),
                    tls: false,
                },
            ],
            Mode::Register => vec![Listener {
                role: "register",
                gate: public_gate.clone(),
                socket: bind(config.services.register_addr).await?,
                front: measured(http::finish(register().merge(admin), common.clone())),
                tls: true,
            }],
            Mode::Status => vec![Listener {
                role: "status",
                gate: public_gate.clone(),
                socket: bind(config.services.status_addr).await?,
                // The seed's service path, and the edge's, so either proxy rule works.
                front: measured(http::finish(
                    status_at(&["/server/status", "/api/server/status"]).merge(admin),
                    common.clone(),
                )),
                tls: true,
            }],
            Mode::Stats => {
                // No key to check here; the public statistics and unknown
                // paths are limited per client IP as on `gamegate all`.
                let limits = Edge::without_keys(&config)?;
                vec![Listener {
                    role: "stats",
                    gate: public_gate.clone(),
                    socket: bind(config.services.stats_addr).await?,
                    front: measured(http::finish_guarded(
                        stats_public(Some(&limits))
                            .merge(stats_internal())
                            .merge(admin),
                        common.clone(),
                        Some(limits.route_checks(None)),
                    )),
                    tls: true,
                }]
            }
        };
        let mut listeners = listeners;
        if !config.http.redirect_http_addr.is_empty() {
            let https_port = listeners[0].socket.local_addr()?.port();
            let addr = config.http.redirect_http_addr.parse()?;
            listeners.push(Listener {
                role: "redirect",
                socket: bind(addr).await?,
                front: http::front::FrontParts {
                    router: http::server::redirect_to_https(https_port),
                    ..Default::default()
                },
                tls: false,
                gate: public_gate.clone(),
            });
        }
        if let Some(log) = &access_log {
            for l in &mut listeners {
                l.front.access_log = Some(log.clone());
            }
        }

        Ok(Self {
            mode,
            listeners,
            accounts,
            analytics,
            mock,
            mock_shutdown,
            game_addr,
            status,
            status_refresh: config.status_refresh(),
            reconciler,
            registrar,
            edge,
            certificates,
            tls_reload_interval: std::time::Duration::from_millis(
                config.http.tls_reload_interval_ms,
            ),
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
            connection_budget: format!(
                "{} public ({} per address), {} admin; {} descriptors, {} reserved",
                budget.public, budget.per_ip, budget.admin, descriptors.soft, reserved
            ),
            refusals: http::server::RefusalReport {
                lang: common.lang,
                metrics: metrics.clone(),
                access_log: access_log.clone(),
                jail: jail.clone(),
                trusted,
            },
            access_log: access_log_writer,
            jail,
            demo_site,
            anomalies: stats.as_ref().map(|s| {
                (
                    s.anomalies.clone(),
                    std::time::Duration::from_secs(config.analytics.anomalies_refresh_secs),
                )
            }),
            // Only into the embedded (SQLite) database of the demo: a server
            // database is a real one.
            seed_demo_history: (mode == Mode::All
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
            }),
            shutdown,
            admin_tokens: config.admin.tokens.len(),
        })
    }

    fn addr_of(&self, role: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|l| l.role == role)
            .and_then(|l| l.socket.local_addr().ok())
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

    /// The accounts database, for modes that use it.
    pub fn database(&self) -> &Database {
        self.accounts
            .as_ref()
            .expect("this mode has an accounts database")
    }

    pub fn analytics_database(&self) -> Option<&Database> {
        self.analytics.as_ref()
    }

    /// The in-process mock game server, when `game_server.embedded_mock` is on.
    pub fn mock(&self) -> Option<&MockHandle> {
        self.mock.as_ref()
    }

    /// Cancelling this token shuts the application down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// What the operator sees on start: where everything is and a request to try.
    pub fn banner(&self) -> String {
        let mut out = format!(
            "gamegate {} — {}\n",
            env!("CARGO_PKG_VERSION"),
            self.mode.name()
        );
        for l in &self.listeners {
            let addr = l.socket.local_addr().expect("bound");
            let routes = match l.role {
                "public" if self.demo_site => {
                    "POST /api/register · GET /api/server/status · GET /health · GET /stats/… · GET / (demo)"
                }
                "public" => {
                    "POST /api/register · GET /api/server/status · GET /health · GET /stats/…"
                }
                "admin" => {
                    "GET /internal/health · GET /metrics · POST /stats/battles · GET /stats/registrations · GET /admin/dashboard"
                }
                "register" => "POST /api/register · GET /internal/health · GET /metrics",
                "status" => "GET /server/status · GET /internal/health · GET /metrics",
                "stats" => {
                    "POST /stats/battles · GET /stats/… · GET /internal/health · GET /metrics"
                }
                _ => "GET /internal/health · GET /metrics",
            };
            let scheme = match l.tls && self.certificates.is_some() {
                true => "https",
                false => "http",
            };
            out += &format!("  {:<9} {scheme}://{addr}   {routes}\n", l.role);
        }
        if let Some(game) = &self.game_addr {
            let kind = if self.mock.is_some() {
                " (built-in mock)"
            } else {
                ""
            };
            out += &format!("  {:<9} {game}{kind}\n", "game");
        }
        for (role, db) in [("database", &self.accounts), ("analytics", &self.analytics)] {
            if let Some(db) = db {
                out += &format!("  {role:<9} {}\n", db.display_url());
            }
        }
        let key = self.edge.as_ref().map(|edge| match edge.key_source() {
            crate::edge::KeySource::File(path) => {
                let key = edge.generated_key().unwrap_or_default();
                out += &format!(
                    "  {:<9} {key}   (generated, kept in {})\n",
                    "api key",
                    path.display()
                );
                format!("'X-API-Key: {key}'")
            }
            crate::edge::KeySource::Configured => {
                out += &format!("  {:<9} from edge.api_keys\n", "api key");
                "\"X-API-Key: $GAMEGATE_API_KEY\"".to_owned()
            }
            crate::edge::KeySource::Upstream => {
                out += &format!(
                    "  {:<9} checked upstream (edge.keys_checked_upstream)\n",
                    "api key"
                );
                String::new()
            }
        });
        if self.admin_tokens > 0 {
            out += &format!(
                "  {:<9} /metrics, /admin/dashboard and the reports want one of {} token(s) of \
                 admin.tokens (Bearer, or Basic with the token as password)\n",
                "operator", self.admin_tokens
            );
        }
        out += &format!("  {:<9} {}\n", "conns", self.connection_budget);
        if let Some(jail) = &self.jail {
            out += &format!("  {:<9} {}\n", "ban jail", jail.describe());
            out += &running_bans(jail);
        }
        if let Some(registrar) = &self.registrar {
            out += &format!("  {:<9} {}\n", "telegram", registrar.telegram.summary());
        }
        if self.demo_site {
            out += &format!(
                "  {:<9} http://{}/   example registration page (http.demo_site; docs/SITE.md)\n",
                "demo",
                self.public_addr()
            );
        }
        if self.mode == Mode::All {
            let public = self.public_addr();
            let key_header = match key.as_deref() {
                Some("") | None => String::new(),
                Some(header) => format!(" -H {header}"),
            };
            // Over TLS: the certificate's own name, resolved to this listener,
            // so curl verifies the certificate as a client on the internet would.
            let (base, resolve, note) = match &self.certificates {
                None => (format!("http://{public}"), String::new(), String::new()),
                Some(certs) => {
                    let name = certs.first_name().unwrap_or_else(|| "localhost".into());
                    let ip = match public.ip() {
                        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
                        ip => ip.to_string(),
                    };
                    let port = public.port();
                    (
                        format!("https://{name}:{port}"),
                        format!(" --resolve {name}:{port}:{ip}"),
                        format!(
                            "  (a certificate no public CA signed: add --cacert {})\n",
                            certs.cert_path().display()
                        ),
                    )
                }
            };
            out += &format!(
                "Try it:\n  curl -s{resolve} -X POST {base}/api/register{key_header} -H 'Content-Type: application/json' \
                 -d '{{\"login\":\"Hero_01\",\"password\":\"secret12\",\"gender\":0,\"telegram_id\":123456789}}'\n  \
                 curl -s{resolve} {base}/api/server/status\n{note}"
            );
        }
        out + "Ctrl-C stops it gracefully."
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight
    /// requests finish and stops the background tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let tasks = TaskTracker::new();
        let shutdown = self.shutdown.clone();
        if let (Some(status), Some(db)) = (&self.status, &self.accounts) {
            tasks.spawn(status.clone().run(
                db.clone(),
                self.status_refresh,
                shutdown.child_token(),
            ));
        }
        if let (Some((cache, interval)), Some(db)) = (self.anomalies.clone(), &self.analytics) {
            let (db, seed, token) = (
                db.clone(),
                self.seed_demo_history.clone(),
                shutdown.child_token(),
            );
            tasks.spawn(async move {
                if let Some((url, settings)) = seed {
                    // A pool of its own, closed afterwards: the seeding's SQLite
                    // page caches and buffers would otherwise stay with the
                    // serving pool's idle connections (+18 MiB idle RSS measured).
                    let seeded = match Database::connect(&url, &settings).await {
                        Ok(seed_db) => {
                            let seeded =
                                crate::battles_cmd::seed_if_empty(&seed_db, 200, 5_000).await;
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
                cache.run(db, interval, token).await;
            });
        }
        if let Some(reconciler) = self.reconciler {
            tasks.spawn(reconciler.run(shutdown.child_token()));
        }
        let tls = self.certificates.as_ref().map(|c| c.config.clone());
        if let Some(certificates) = self.certificates {
            tasks.spawn(certificates.watch(self.tls_reload_interval, shutdown.child_token()));
        }
        let limits = self.connection_limits;
        if let Some(jail) = &self.jail {
            tasks.spawn(jail.clone().run_sync(shutdown.child_token()));
        }

        let servers: Vec<_> = self
            .listeners
            .into_iter()
            .map(|l| {
                let shutdown = shutdown.clone();
                let tls = tls.clone().filter(|_| l.tls);
                // Over TLS every answer asks browsers to stay on HTTPS.
                let front = http::front::Front::from(http::front::FrontParts {
                    hsts: tls.is_some(),
                    ..l.front
                });
                let listening = http::server::Listening {
                    role: l.role,
                    gate: l.gate,
                    refusals: http::server::RefusalReport {
                        jail: self.refusals.jail.clone().filter(|_| l.role == "public"),
                        ..self.refusals.clone()
                    },
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
        // Sagas whose client went away may still be running: let them finish
        // while the game server and the pool are still up.
        if let Some(registrar) = &self.registrar {
            registrar.tasks.close();
            registrar.tasks.wait().await;
        }
        self.mock_shutdown.cancel();
        if let Some(mock) = &self.mock {
            mock.stopped().await;
        }
        for db in self.accounts.iter().chain(self.analytics.iter()) {
            db.close().await;
        }
        if let Some(writer) = self.access_log {
            // Every router is gone by now, so the writer drains and ends;
            // bounded in case a connection task outlives the drain.
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), writer.finished()).await;
        }
        results.into_iter().collect()
    }
}

/// The banner's lines on running bans: the longest few, and how to list and
/// lift them. Empty when none is running.
fn running_bans(jail: &Jail) -> String {
    const SHOWN: usize = 5;
    let count = jail.running_count();
    let bans = jail.running_bans(SHOWN);
    if bans.is_empty() {
        return String::new();
    }
    let now = crate::registration::unix_now();
    let mut out = String::new();
    for (net, until) in &bans {
        let net = gamegate_store::bans::canonical_net(*net);
        out += &format!(
            "  {:<9} banned: {net} for {} more s\n",
            "",
            (until - now).max(1)
        );
    }
    if count > bans.len() {
        out += &format!("  {:<9} … and {} more\n", "", count - bans.len());
    }
    out += &format!(
        "  {:<9} list: gamegate ban list · lift: gamegate ban remove <address or network>\n",
        ""
    );
    out
}
