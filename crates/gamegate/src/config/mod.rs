//! Configuration: defaults → TOML file → `GAMEGATE_*` environment variables
//! (`__` separates sections: `GAMEGATE_DATABASE__URL`) → `…_FILE` variants for
//! secrets. `gamegate all` runs with none of them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use gamegate_domain::{AccountLimit, ErrorCode, Lang, RegistrationRules};
use serde::{Deserialize, Serialize};

/// Keys whose value may come from a file named by `GAMEGATE_<KEY>_FILE`
/// (Docker/Kubernetes secrets). Listed explicitly so an ordinary key that ends
/// in `_file` is never mistaken for one.
pub const SECRET_KEYS: &[&str] = &[
    "database.url",
    "analytics.url",
    "game_server.auth_token",
    "edge.api_keys",
    "telegram.bot_token",
    "analytics.ingest_tokens",
    "admin.tokens",
];

/// List keys: in an environment variable they are comma-separated
/// (`GAMEGATE_EDGE__API_KEYS=k1,k2`), in a `…_FILE` one item per line. Parsed
/// here rather than by the config crate, whose list parsing needs
/// `try_parsing`, which would turn number-like secrets into numbers.
const LIST_KEYS: &[&str] = &[
    "edge.api_keys",
    "edge.trusted_proxies",
    "edge.cors_allowed_origins",
    "nginx.listen_https",
    "nginx.listen_http",
    "nginx.register_upstreams",
    "nginx.status_upstreams",
    "edge.ban_on",
    "analytics.ingest_tokens",
    "edge.ban_ignore",
    "admin.tokens",
    "nginx.stats_upstreams",
];

const ENV_PREFIX: &str = "GAMEGATE_";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Language of `message` in answers: `ru` or `en`.
    pub language: String,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub analytics: AnalyticsConfig,
    pub services: ServicesConfig,
    pub registration: RegistrationConfig,
    pub password_hash: PasswordHashConfig,
    pub game_server: GameServerConfig,
    pub reconciler: ReconcilerConfig,
    pub status: StatusConfig,
    pub log: LogConfig,
    pub edge: EdgeConfig,
    pub nginx: NginxConfig,
    pub telegram: TelegramConfig,
    pub deploy: DeployConfig,
    pub backup: BackupConfig,
    // Monitoring: thresholds of `gamegate render prometheus-rules`.
    pub monitoring: MonitoringConfig,
    // Operator authentication: the admin routes behind a token.
    pub admin: AdminConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            language: "ru".into(),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            analytics: AnalyticsConfig::default(),
            services: ServicesConfig::default(),
            registration: RegistrationConfig::default(),
            password_hash: PasswordHashConfig::default(),
            game_server: GameServerConfig::default(),
            reconciler: ReconcilerConfig::default(),
            status: StatusConfig::default(),
            log: LogConfig::default(),
            edge: EdgeConfig::default(),
            nginx: NginxConfig::default(),
            telegram: TelegramConfig::default(),
            deploy: DeployConfig::default(),
            backup: BackupConfig::default(),
            monitoring: MonitoringConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub public_addr: SocketAddr,
    /// Health details and metrics; keep it on loopback or a private network.
    pub admin_addr: SocketAddr,
    pub body_limit_bytes: usize,
    /// A backstop for a request that somehow outlives every inner timeout.
    pub request_timeout_ms: u64,
    /// A client must send a request's headers within this (slow-client
    /// protection: a connection that trickles bytes is closed).
    pub header_read_timeout_ms: u64,
    /// PEM certificate chain and private key; both set turns TLS on for the
    /// public listener (and the split service listeners). Empty: plain HTTP.
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// How often the certificate files are checked for a change (certbot
    /// renewals); a changed pair is loaded without dropping connections.
    pub tls_reload_interval_ms: u64,
    /// A plain-HTTP listener that redirects to HTTPS (e.g. `0.0.0.0:80`);
    /// empty: none. Only with TLS on.
    pub redirect_http_addr: String,
    /// The example registration page (docs/SITE.md) at `/` of the public
    /// listener of `gamegate all`, with TLS off: a dev aid, so on by default
    /// for the one-command start; the split services never serve it.
    pub demo_site: bool,
    // Connection caps and timeouts (docs/EDGE.md "Connections").
    /// Open connections at once on the public listeners (the API listener
    /// and the HTTP→HTTPS redirect together). 0: as many as the descriptor
    /// budget allows (the soft `RLIMIT_NOFILE`, raised to the hard limit at
    /// start, less `descriptor_reserve`, the database pools, the game-server
    /// client and `admin_max_connections`); a larger value is lowered to that.
    pub max_connections: u32,
    /// Open connections at once from one client address (an IPv6 client by
    /// its /64) on each listener; more are closed as soon as they are
    /// accepted. Trusted proxies (`edge.trusted_proxies`) count only toward
    /// the total: every client behind them shares their address.
    pub max_connections_per_ip: u32,
    /// Open connections at once on the admin listener, a budget of its own so
    /// a flood of the public port cannot lock the operator out.
    pub admin_max_connections: u32,
    /// A keep-alive connection with no request in progress (HTTP/1) or no
    /// open stream (HTTP/2) is closed after this.
    pub idle_timeout_ms: u64,
    /// A request body must have arrived completely within this from the end
    /// of its headers; a body still arriving gets `503 request_timeout` and
    /// the connection is closed. Every route that reads a body.
    pub body_read_timeout_ms: u64,
    /// HTTP/2 over plain TCP ("h2c", prior knowledge) on listeners without
    /// TLS. Off: such listeners speak HTTP/1 only. Over TLS, HTTP/2 is
    /// always offered through ALPN.
    pub http2_cleartext: bool,
    /// Descriptors kept free beyond the database pools and the game-server
    /// client (log files, the listeners, DNS, the Bot API, SQLite's journal
    /// files): connection caps are computed so these stay available.
    pub descriptor_reserve: u32,
    // Rolling restarts (docs/UPGRADING.md).
    /// On SIGTERM/Ctrl-C, how long the listeners still accept and serve new
    /// connections before they close and in-flight requests drain: time for
    /// a load balancer to take this replica out, so no connection is reset in
    /// the listen backlog. 0: close at once. At most 60 000.
    pub shutdown_delay_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_addr: ([127, 0, 0, 1], 8000).into(),
            admin_addr: ([127, 0, 0, 1], 9000).into(),
            body_limit_bytes: 16 * 1024,
            request_timeout_ms: 20_000,
            header_read_timeout_ms: 10_000,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_reload_interval_ms: 30_000,
            redirect_http_addr: String::new(),
            demo_site: true,
            max_connections: 0,
            max_connections_per_ip: 64,
            admin_max_connections: 32,
            idle_timeout_ms: 30_000,
            body_read_timeout_ms: 15_000,
            http2_cleartext: false,
            descriptor_reserve: 64,
            shutdown_delay_ms: 1_000,
        }
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH`, `mysql://USER:PASS@HOST:3306/DB` or `postgres://USER:PASS@HOST/DB`.
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a connection before `database_unavailable`.
    pub acquire_timeout_ms: u64,
    pub sqlite_busy_timeout_ms: u64,
    /// Bound on one database operation (a reservation with its retries, a
    /// confirmation, a read); past it the request answers `database_unavailable`.
    pub operation_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://gamegate.db".into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout_ms: 3_000,
            sqlite_busy_timeout_ms: 5_000,
            operation_timeout_ms: 8_000,
        }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &gamegate_store::mask_url_password(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .finish_non_exhaustive()
    }
}

/// The battle-log / statistics database (PostgreSQL in production).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// `sqlite://PATH` or `postgres://USER:PASS@HOST/DB` (MySQL also works).
    pub url: String,
    pub max_connections: u32,
    /// Bearer tokens the game server sends with `POST /stats/battles`
    /// (`Authorization: Bearer <token>`). Empty: ingestion over HTTP is refused.
    pub ingest_tokens: Vec<String>,
    /// Most battles one `POST /stats/battles` may carry.
    pub ingest_max_batch: usize,
    /// Body limit of `POST /stats/battles` (the other routes keep
    /// `http.body_limit_bytes`).
    pub ingest_body_limit_bytes: usize,
    /// How often `/ml/anomalies` is recomputed over every stored battle (it is
    /// also recomputed soon after an HTTP ingestion stored new battles).
    pub anomalies_refresh_secs: u64,
    /// `gamegate all` only: seed a small synthetic history (200 players, 5000
    /// battles) into an analytics database with no battles, so the
    /// statistics are not empty on a first start.
    pub seed_demo_history: bool,
    // Every public route limited: statistics queries bounded in time.
    /// Longest a public statistics query (`/stats/summary`,
    /// `/stats/leaderboard`, `/stats/players/{login}`, `/ml/predict`) may
    /// take, waiting for a connection included; past it the answer is
    /// `503 request_timeout` with `Retry-After`.
    pub query_timeout_ms: u64,
}

/// Upper bound of `analytics.query_timeout_ms` (a minute).
const MAX_QUERY_TIMEOUT_MS: u64 = 60_000;

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://gamegate-analytics.db".into(),
            max_connections: 5,
            ingest_tokens: Vec::new(),
            ingest_max_batch: 1_000,
            ingest_body_limit_bytes: 8 * 1024 * 1024,
            anomalies_refresh_secs: 300,
            seed_demo_history: true,
            query_timeout_ms: 3_000,
        }
    }
}

impl std::fmt::Debug for AnalyticsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsConfig")
            .field("url", &gamegate_store::mask_url_password(&self.url))
            .field("max_connections", &self.max_connections)
            .field("ingest_tokens", &self.ingest_tokens.len())
            .field("ingest_max_batch", &self.ingest_max_batch)
            .field("query_timeout_ms", &self.query_timeout_ms)
            .finish_non_exhaustive()
    }
}

/// Listen addresses of the split topology (`gamegate serve …`), the seed's
/// ports. Each service also answers `/internal/health` and `/metrics` there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    pub register_addr: SocketAddr,
    pub status_addr: SocketAddr,
    pub stats_addr: SocketAddr,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            register_addr: ([127, 0, 0, 1], 8080).into(),
            status_addr: ([127, 0, 0, 1], 8081).into(),
            stats_addr: ([127, 0, 0, 1], 8084).into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Maximum game accounts per Telegram id.
    pub account_limit: u32,
    /// A regex character-class body for logins.
    pub login_charset: String,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            account_limit: AccountLimit::DEFAULT.get(),
            login_charset: RegistrationRules::DEFAULT_LOGIN_CHARSET.into(),
        }
    }
}

/// Argon2id parameters; defaults are OWASP's minimum (19 MiB, t=2, p=1).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub max_concurrent: usize,
}

impl Default for PasswordHashConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

/// The game-server token `gamegate all` and the mock ship with: fine on one
/// machine, refused by `gamegate doctor` for production.
pub const DEV_GAME_SERVER_TOKEN: &str = "gamegate-dev-token";

#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameServerConfig {
    /// `host:port` of the game server (protocol v1).
    pub addr: String,
    pub auth_token: String,
    pub pool_size: usize,
    pub connect_timeout_ms: u64,
    pub call_timeout_ms: u64,
    /// `gamegate all` only: run the mock game server in-process on `addr`.
    pub embedded_mock: bool,
}

impl Default for GameServerConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:5190".into(),
            auth_token: DEV_GAME_SERVER_TOKEN.into(),
            pool_size: 8,
            connect_timeout_ms: 1_000,
            call_timeout_ms: 3_000,
            embedded_mock: true,
        }
    }
}

impl std::fmt::Debug for GameServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameServerConfig")
            .field("addr", &self.addr)
            .field("auth_token", &"***")
            .field("pool_size", &self.pool_size)
            .field("call_timeout_ms", &self.call_timeout_ms)
            .field("embedded_mock", &self.embedded_mock)
            .finish_non_exhaustive()
    }
}

/// Settles registrations whose game-server answer was lost.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcilerConfig {
    pub interval_ms: u64,
    /// A pending row is only settled once it is this old; must exceed the
    /// longest time the game server may still act on a register command.
    pub grace_ms: u64,
    pub batch_size: u64,
}

impl Default for ReconcilerConfig {
    fn default() -> Self {
        Self {
            interval_ms: 5_000,
            grace_ms: 30_000,
            batch_size: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// How often the constants are re-read; the endpoint never waits on the database.
    pub refresh_interval_ms: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            refresh_interval_ms: 2_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `gamegate=debug,info`. `RUST_LOG` wins.
    pub level: String,
    /// The access log (docs/EDGE.md#access-log): `stdout`, `off`, or a file
    /// path (appended to; reopened on SIGHUP for logrotate).
    pub access_log: String,
    // Every public route limited: the access log sheds noise first.
    /// Bytes of access-log lines buffered between two writes (every 100 ms).
    /// When the writer falls behind, routine lines (2xx, 3xx, 404) may fill
    /// half of it, other errors three quarters, and the lines fail2ban reads
    /// (4xx/5xx on `/api/`) all of it (docs/EDGE.md#access-log).
    pub access_log_buffer_bytes: usize,
}

/// Bounds of `log.access_log_buffer_bytes`: 4 KiB to 256 MiB.
const ACCESS_LOG_BUFFER_BYTES: std::ops::RangeInclusive<usize> = 4096..=256 * 1024 * 1024;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "pretty".into(),
            level: "info".into(),
            access_log: "stdout".into(),
            access_log_buffer_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The in-process edge policy (docs/EDGE.md): API keys on `POST /api/register`,
/// client IP behind trusted proxies, per-IP rate limits and CORS on the public
/// listener of `gamegate all`; the key check also on `serve register`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Valid `X-API-Key` values; several at once so a key can be rotated.
    /// Empty: `gamegate all` generates one and keeps it beside the accounts
    /// database; `serve register` refuses to start unless `keys_checked_upstream`.
    pub api_keys: Vec<String>,
    /// `serve register` only needs no key when an edge in front checks them.
    pub keys_checked_upstream: bool,
    /// CIDRs (or single addresses) of proxies whose `X-Forwarded-For` /
    /// `X-Real-IP` are believed. Empty: the socket peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Per client IP and minute; 0 turns the limit off.
    pub register_per_minute: u32,
    pub register_burst: u32,
    pub status_per_minute: u32,
    pub status_burst: u32,
    /// Origins allowed to call the API from a browser; `*` allows any (the
    /// dev default). Production lists the site's origin.
    pub cors_allowed_origins: Vec<String>,
    /// The ban jail of `gamegate all` (docs/CONFIGURATION.md#ban-jail): a
    /// client IP that collects `ban_threshold` counted failures within
    /// `ban_window_secs` is refused with `403 banned` for `ban_secs`.
    pub ban_enabled: bool,
    /// The `detail` codes that count as failures: client errors (4xx) only.
    pub ban_on: Vec<String>,
    pub ban_threshold: u32,
    pub ban_window_secs: u64,
    pub ban_secs: u64,
    /// How often bans are re-read from the database, so bans of other
    /// processes and of `gamegate ban add|remove` take effect here.
    pub ban_sync_interval_ms: u64,
    // The site as a consumer; networks, not addresses (docs/EDGE.md).
    /// Requests that carry a valid `X-API-Key` — a site speaking for its
    /// players through `X-Player-IP` — per key and minute, all players
    /// together: a bound on what a leaked key can do. 0 turns it off.
    pub site_key_per_minute: u32,
    pub site_key_burst: u32,
    /// IPv6 clients are limited and banned by this network prefix (bits),
    /// since any IPv6 client owns a whole /64; IPv4 clients by their address.
    /// 128 keys IPv6 clients by address. Between 32 and 128.
    pub ipv6_prefix: u8,
    /// CIDRs (or single addresses) the jail never bans, like fail2ban's
    /// `ignoreip`; running bans that cover them are not enforced either.
    pub ban_ignore: Vec<String>,
    // Every public route limited (docs/EDGE.md#limits-of-every-public-route).
    /// Per client IP and minute on the public statistics (`GET /stats/summary`,
    /// `/stats/leaderboard`, `/stats/players/{login}`: one budget for all) of
    /// the public listener and of `serve stats`; 0 turns the limit off.
    pub stats_per_minute: u32,
    pub stats_burst: u32,
    /// Per client IP and minute on `GET /ml/predict`; 0 turns it off.
    pub predict_per_minute: u32,
    pub predict_burst: u32,
    /// Per client IP and minute on unknown paths (`404 not_found`), so a
    /// scanner's flood is answered with cheap 429s; 0 turns it off.
    pub not_found_per_minute: u32,
    pub not_found_burst: u32,
}

/// The shortest `edge.ipv6_prefix`: a /32 is a whole provider's allocation.
pub const MIN_IPV6_PREFIX: u8 = 32;

/// Bounds of the jail settings: the sliding window keeps up to
/// `ban_threshold` timestamps per tracked IP, so the threshold bounds memory.
pub const MAX_BAN_THRESHOLD: u32 = 1_000;
const MAX_BAN_WINDOW_SECS: u64 = 7 * 86_400;
const MAX_BAN_SECS: u64 = 366 * 86_400;
const MIN_BAN_SYNC_INTERVAL_MS: u64 = 100;

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            keys_checked_upstream: false,
            trusted_proxies: Vec::new(),
            register_per_minute: 10,
            register_burst: 5,
            status_per_minute: 30,
            status_burst: 10,
            cors_allowed_origins: vec!["*".into()],
            ban_enabled: true,
            ban_on: vec!["invalid_api_key".into(), "rate_limited".into()],
            ban_threshold: 20,
            ban_window_secs: 300,
            ban_secs: 3_600,
            ban_sync_interval_ms: 5_000,
            site_key_per_minute: 0,
            site_key_burst: 100,
            ipv6_prefix: 64,
            ban_ignore: vec!["127.0.0.0/8".into(), "::1".into()],
            stats_per_minute: 60,
            stats_burst: 20,
            predict_per_minute: 30,
            predict_burst: 10,
            not_found_per_minute: 30,
            not_found_burst: 10,
        }
    }
}

impl std::fmt::Debug for EdgeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeConfig")
            .field(
                "api_keys",
                &format_args!("[{} key(s), ***]", self.api_keys.len()),
            )
            .field("keys_checked_upstream", &self.keys_checked_upstream)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("register_per_minute", &self.register_per_minute)
            .field("register_burst", &self.register_burst)
            .field("status_per_minute", &self.status_per_minute)
            .field("status_burst", &self.status_burst)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("ban_enabled", &self.ban_enabled)
            .field("ban_on", &self.ban_on)
            .field("ban_threshold", &self.ban_threshold)
            .field("ban_window_secs", &self.ban_window_secs)
            .field("ban_secs", &self.ban_secs)
            .field("ban_sync_interval_ms", &self.ban_sync_interval_ms)
            .field("site_key_per_minute", &self.site_key_per_minute)
            .field("site_key_burst", &self.site_key_burst)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("ban_ignore", &self.ban_ignore)
            .field("stats_per_minute", &self.stats_per_minute)
            .field("stats_burst", &self.stats_burst)
            .field("predict_per_minute", &self.predict_per_minute)
            .field("predict_burst", &self.predict_burst)
            .field("not_found_per_minute", &self.not_found_per_minute)
            .field("not_found_burst", &self.not_found_burst)
            .finish()
    }
}

/// The public nginx in front (`gamegate render nginx`, docs/EDGE.md). Only the
/// renderer reads it; the edge policy itself (keys, limits, CORS, trusted
/// proxies) comes from `[edge]`, so both edges enforce one configuration.
/// Values are checked when rendering, where they are put into nginx syntax.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NginxConfig {
    pub server_name: String,
    /// `listen` of the TLS server: a port or `IP:PORT` (`[::]:443` for IPv6).
    pub listen_https: Vec<String>,
    /// `listen` of the server that redirects plain HTTP to HTTPS; empty: none.
    pub listen_http: Vec<String>,
    /// Empty: Let's Encrypt's `/etc/letsencrypt/live/<server_name>/fullchain.pem`.
    pub tls_certificate: String,
    /// Empty: Let's Encrypt's `/etc/letsencrypt/live/<server_name>/privkey.pem`.
    pub tls_certificate_key: String,
    /// `HOST:PORT` of the registration upstream; several for replicas. The
    /// seed's nginx reaches Traefik over WireGuard at 10.8.0.2:1010.
    pub register_upstreams: Vec<String>,
    /// `HOST:PORT` of the status upstream; several for replicas.
    pub status_upstreams: Vec<String>,
    /// In the `gamegate` log format, read by the fail2ban filter.
    pub access_log: String,
    pub error_log: String,
    /// Served at `/.well-known/acme-challenge/` on the HTTP server so certbot
    /// `--webroot` renewals work through the redirect.
    pub acme_webroot: String,
    // Statistics in the production topology, TLS graded (docs/EDGE.md#nginx-in-front).
    /// `HOST:PORT` of the statistics upstream (`serve stats`, or Traefik in
    /// front of it); nginx sends it only `GET /stats/players/{login}`,
    /// `/stats/leaderboard`, `/stats/summary` and `/ml/predict`.
    pub stats_upstreams: Vec<String>,
    /// OCSP stapling (`ssl_stapling`, `ssl_stapling_verify`): `"auto"` (on
    /// for Let's Encrypt's files, i.e. `tls_certificate` empty; off for a
    /// certificate of your own), `"on"` or `"off"`. nginx ignores it, with a
    /// warning, for a certificate that names no OCSP responder.
    pub ocsp_stapling: String,
    /// CA certificates nginx verifies OCSP answers with
    /// (`ssl_trusted_certificate`). Empty: Let's Encrypt's `chain.pem` when
    /// `tls_certificate` is empty, else `tls_certificate` itself (a full chain).
    pub tls_trusted_certificate: String,
}

impl Default for NginxConfig {
    fn default() -> Self {
        Self {
            server_name: "api.example.com".into(),
            listen_https: vec!["443".into(), "[::]:443".into()],
            listen_http: vec!["80".into(), "[::]:80".into()],
            tls_certificate: String::new(),
            tls_certificate_key: String::new(),
            register_upstreams: vec!["10.8.0.2:1010".into()],
            status_upstreams: vec!["10.8.0.2:1010".into()],
            access_log: "/var/log/nginx/gamegate-access.log".into(),
            error_log: "/var/log/nginx/gamegate-error.log".into(),
            acme_webroot: "/var/www/letsencrypt".into(),
            stats_upstreams: vec!["10.8.0.2:1010".into()],
            ocsp_stapling: "auto".into(),
            tls_trusted_certificate: String::new(),
        }
    }
}

/// The WG_CLIENT side of the seed's topology (`gamegate render compose|traefik|
/// systemd|logrotate|wireguard`, docs/PRODUCTION_SETUP.md). Only the renderers
/// read it; values are checked when rendering, where they enter file syntax.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeployConfig {
    /// The gamegate image the compose file runs (`docker build -t … .`).
    pub image: String,
    pub traefik_image: String,
    pub mariadb_image: String,
    pub postgres_image: String,
    /// Registration instances behind Traefik (the seed's `replicas: 3`).
    pub register_replicas: u32,
    /// Traefik's entrypoint port on the WG_CLIENT: nginx's upstream
    /// (`nginx.register_upstreams = ["10.8.0.2:1010"]`).
    pub traefik_port: u16,
    /// `deploy.resources.limits` of each gamegate container.
    pub service_cpus: String,
    pub service_memory: String,
    /// … of MariaDB and PostgreSQL.
    pub database_cpus: String,
    pub database_memory: String,
    /// Database and user names the compose databases are created with; the
    /// URLs in the secret files must name the same.
    pub mariadb_database: String,
    pub postgres_database: String,
    pub database_user: String,
    /// The compose network; the services trust it as their proxy (Traefik).
    pub compose_subnet: String,
    /// WireGuard: the HOST_SERVER's and the WG_CLIENT's tunnel addresses.
    pub wg_host_address: String,
    pub wg_client_address: String,
    /// Prefix length of the tunnel network (`10.8.0.0/24`).
    pub wg_prefix_len: u8,
    pub wg_listen_port: u16,
    /// The HOST_SERVER's public name or IP the WG_CLIENT dials; empty:
    /// `nginx.server_name` (the seed points it at the HOST_SERVER).
    pub wg_endpoint_host: String,
    /// systemd units (`gamegate render systemd`).
    pub binary_path: String,
    pub config_path: String,
    /// Secrets as `GAMEGATE_…` variables, mode 0600, read by systemd as root.
    pub environment_file: String,
    pub state_dir: String,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            image: "gamegate:latest".into(),
            traefik_image: "traefik:v3.3".into(),
            mariadb_image: "mariadb:11".into(),
            postgres_image: "postgres:17".into(),
            register_replicas: 3,
            traefik_port: 1010,
            service_cpus: "1.0".into(),
            service_memory: "512M".into(),
            database_cpus: "2.0".into(),
            database_memory: "2G".into(),
            mariadb_database: "gamegate".into(),
            postgres_database: "gamegate_analytics".into(),
            database_user: "gamegate".into(),
            compose_subnet: "172.30.0.0/24".into(),
            wg_host_address: "10.8.0.1".into(),
            wg_client_address: "10.8.0.2".into(),
            wg_prefix_len: 24,
            wg_listen_port: 51820,
            wg_endpoint_host: String::new(),
            binary_path: "/usr/local/bin/gamegate".into(),
            config_path: "/etc/gamegate/gamegate.toml".into(),
            environment_file: "/etc/gamegate/gamegate.env".into(),
            state_dir: "/var/lib/gamegate".into(),
        }
    }
}

/// `gamegate backup` and the backup item of `gamegate doctor`
/// (docs/PRODUCTION_SETUP.md#backups).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Where `gamegate backup` (SQLite) and the documented mysqldump/pg_dump
    /// recipes write `gamegate-accounts-*` and `gamegate-analytics-*` files.
    /// Empty: backups are not configured (doctor says so).
    pub dir: String,
    /// Newest backups kept per database after each `gamegate backup`; 0 keeps all.
    pub keep: u32,
    /// `gamegate doctor` fails when the newest backup is older than this.
    pub max_age_hours: u64,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: String::new(),
            keep: 14,
            max_age_hours: 26,
        }
    }
}

/// Read only by `gamegate render prometheus-rules`: the alert thresholds
/// (docs/PRODUCTION_SETUP.md#monitoring). The `for:` durations are fixed in
/// the rules and documented there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// The `job` label Prometheus gives the gamegate targets (its
    /// `scrape_configs` entry): `GamegateTargetDown` watches `up{job=…}`.
    pub job: String,
    /// `GamegateRegistrationErrorsHigh`: share of registrations, over 5
    /// minutes, that failed on gamegate's side (game server, database,
    /// Telegram unavailable, internal error), as a fraction in (0, 1].
    pub registration_error_ratio: f64,
    /// `GamegateHttp5xxHigh`: share of HTTP answers with a 5xx status over
    /// 5 minutes, as a fraction in (0, 1].
    pub http_5xx_ratio: f64,
    /// `GamegatePendingRegistrationsGrowing`: the reconciler's backlog
    /// (`gamegate_registrations_pending`) above this and not shrinking.
    pub pending_registrations: u32,
    /// `GamegateCertificateExpiring`: days before the certificate of
    /// gamegate's own TLS listener expires.
    pub certificate_expiry_days: u32,
    /// `GamegateBanSpike`: bans issued by one process within 10 minutes.
    pub bans_per_10m: u32,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            job: "gamegate".into(),
            registration_error_ratio: 0.05,
            http_5xx_ratio: 0.05,
            pending_registrations: 10,
            certificate_expiry_days: 14,
            bans_per_10m: 20,
        }
    }
}

impl MonitoringConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let label_char = |c: char| c.is_ascii_alphanumeric() || "_.:/-".contains(c);
        if self.job.is_empty() || !self.job.chars().all(label_char) {
            bail!(
                "monitoring.job = {:?} must be a Prometheus job name (letters, digits, _ . : / -)",
                self.job
            );
        }
        for (key, ratio) in [
            ("registration_error_ratio", self.registration_error_ratio),
            ("http_5xx_ratio", self.http_5xx_ratio),
        ] {
            // 1 itself would be an alert that can never fire (`> 1`).
            if !(ratio > 0.0 && ratio < 1.0) {
                bail!(
                    "monitoring.{key} must be a fraction between 0 and 1 (exclusive), got {ratio}"
                );
            }
        }
        if self.pending_registrations == 0 || self.bans_per_10m == 0 {
            bail!("monitoring.pending_registrations and monitoring.bans_per_10m must be above 0");
        }
        if !(1..=365).contains(&self.certificate_expiry_days) {
            bail!(
                "monitoring.certificate_expiry_days must be between 1 and 365, got {}",
                self.certificate_expiry_days
            );
        }
        Ok(())
    }
}

/// Who may open the operator routes: the dashboard (`/admin/dashboard` and
/// its files), the accounts reports (`/stats/registrations`,
/// `/stats/top-telegram`), `/ml/anomalies`, `/stats/ratings/histogram` and
/// `/metrics` — on the admin listener of `gamegate all` and on every
/// `serve …` listener (docs/CONFIGURATION.md#admin).
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Operator tokens, each at least 16 printable ASCII characters
    /// (`gamegate keygen api-key` makes one). A request presents one as
    /// `Authorization: Bearer <token>` or as the password of HTTP Basic
    /// (any user name, so a browser can open the dashboard). Empty: the
    /// operator routes are open, as on a loopback-only admin listener.
    /// Secret: prefer `GAMEGATE_ADMIN__TOKENS_FILE` (one token a line).
    pub tokens: Vec<String>,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field(
                "tokens",
                &format_args!("[{} token(s), ***]", self.tokens.len()),
            )
            .finish()
    }
}

impl AdminConfig {
    fn validate(&self) -> anyhow::Result<()> {
        for token in &self.tokens {
            if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                // Never the token itself in the message.
                bail!(
                    "admin.tokens: every token must be at least 16 printable ASCII characters \
                     without spaces (one is {} characters)",
                    token.len()
                );
            }
        }
        Ok(())
    }
}

/// The Telegram gate (docs/TELEGRAM.md): group membership via the Bot API's
/// `getChatMember`, and verification of `telegram_auth`. Membership is checked
/// when both `bot_token` and `chat_id` are set.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot's token from @BotFather. Secret: it is part of every Bot API
    /// URL, so it is never logged; prefer `GAMEGATE_TELEGRAM__BOT_TOKEN_FILE`.
    pub bot_token: String,
    /// The project's group: a numeric id (`-1001234567890`) or `@public_name`.
    pub chat_id: String,
    /// The Bot API's address; tests point it at a fake.
    pub api_base: String,
    /// Bound on one `getChatMember` call, connection included.
    pub call_timeout_ms: u64,
    /// How long a "member" answer is reused.
    pub member_cache_secs: u64,
    /// How long a "not a member" answer is reused (short: a user who just
    /// joined should not wait long).
    pub non_member_cache_secs: u64,
    /// When Telegram cannot answer: `closed` refuses with 503
    /// `telegram_unavailable`; `open` lets the registration through (logged).
    pub fail_policy: String,
    /// Require a verified `telegram_auth` (Login Widget or Mini App) whose
    /// `id` is the `telegram_id`. Needs `bot_token`.
    pub require_auth: bool,
    /// Oldest `auth_date` accepted, in seconds.
    pub auth_max_age_secs: u64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            bot_token: String::new(),
            chat_id: String::new(),
            api_base: "https://api.telegram.org".into(),
            call_timeout_ms: 3_000,
            member_cache_secs: 600,
            non_member_cache_secs: 15,
            fail_policy: "closed".into(),
            require_auth: false,
            auth_max_age_secs: 86_400,
        }
    }
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field(
                "bot_token",
                &if self.bot_token.is_empty() { "" } else { "***" },
            )
            .field("chat_id", &self.chat_id)
            .field("api_base", &self.api_base)
            .field("call_timeout_ms", &self.call_timeout_ms)
            .field("member_cache_secs", &self.member_cache_secs)
            .field("non_member_cache_secs", &self.non_member_cache_secs)
            .field("fail_policy", &self.fail_policy)
            .field("require_auth", &self.require_auth)
            .field("auth_max_age_secs", &self.auth_max_age_secs)
            .finish()
    }
}

impl TelegramConfig {
    /// Membership is checked when the bot and the group are both known.
    pub fn membership_on(&self) -> bool {
        !self.bot_token.is_empty() && !self.chat_id.is_empty()
    }

    pub fn fail_open(&self) -> bool {
        self.fail_policy == "open"
    }

    fn validate(&self) -> anyhow::Result<()> {
        let token_ok = self.bot_token.is_empty()
            || (self.bot_token.len() <= 128
                && self
                    .bot_token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b)));
        if !token_ok {
            // Never the token itself in the message.
            bail!(
                "telegram.bot_token does not look like a bot token (digits:letters, from @BotFather)"
            );
        }
        if !self.chat_id.is_empty()
            && self.chat_id.parse::<i64>().is_err()
            && !(self.chat_id.starts_with('@')
                && self.chat_id.len() > 1
                && self.chat_id[1..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            bail!(
                "telegram.chat_id must be a numeric id like -1001234567890 or @public_name, got {:?}",
                self.chat_id
            );
        }
        if !self.chat_id.is_empty() && self.bot_token.is_empty() {
            bail!(
                "telegram.chat_id is set but telegram.bot_token is not: the membership check needs the bot"
            );
        }
        if self.require_auth && self.bot_token.is_empty() {
            bail!("telegram.require_auth needs telegram.bot_token (the signature is keyed by it)");
        }
        if !matches!(self.fail_policy.as_str(), "closed" | "open") {
            bail!(
                "telegram.fail_policy must be \"closed\" or \"open\", got {:?}",
                self.fail_policy
            );
        }
        url::Url::parse(&self.api_base)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .with_context(|| {
                format!(
                    "telegram.api_base {:?} is not an http(s) URL",
                    self.api_base
                )
            })?;
        if self.call_timeout_ms == 0 || self.auth_max_age_secs == 0 {
            bail!("telegram.call_timeout_ms and telegram.auth_max_age_secs must be above 0");
        }
        Ok(())
    }
}

impl EdgeConfig {
    /// `trusted_proxies` parsed; a bare address is a /32 (or /128).
    pub fn trusted_proxy_nets(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        nets("edge.trusted_proxies", &self.trusted_proxies)
    }

    /// `ban_ignore` parsed; a bare address is a /32 (or /128).
    pub fn ban_ignore_nets(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        nets("edge.ban_ignore", &self.ban_ignore)
    }

    /// `ban_on` as error codes. Only client errors may count: counting our own
    /// failures (5xx) would ban every client during an outage, and `banned`
    /// itself would keep a ban alive forever.
    pub fn ban_on_codes(&self) -> anyhow::Result<Vec<ErrorCode>> {
        self.ban_on
            .iter()
            .map(|name| {
                let code = ErrorCode::from_code(name.trim()).ok_or_else(|| {
                    anyhow::anyhow!(
                        "edge.ban_on: {name:?} is not an error code; use codes from docs/API.md \
                         such as invalid_api_key, rate_limited, validation_error"
                    )
                })?;
                if code == ErrorCode::Banned || !(400..500).contains(&code.http_status()) {
                    bail!(
                        "edge.ban_on: {name:?} cannot be counted; only client errors (4xx) \
                         other than banned are failures of the client"
                    );
                }
                Ok(code)
            })
            .collect()
    }

    fn validate_jail(&self) -> anyhow::Result<()> {
        let codes = self.ban_on_codes()?;
        if self.ban_enabled && codes.is_empty() {
            bail!("edge.ban_on is empty; set edge.ban_enabled = false to turn the ban jail off");
        }
        if !(1..=MAX_BAN_THRESHOLD).contains(&self.ban_threshold) {
            bail!(
                "edge.ban_threshold must be between 1 and {MAX_BAN_THRESHOLD}, got {}",
                self.ban_threshold
            );
        }
        if !(1..=MAX_BAN_WINDOW_SECS).contains(&self.ban_window_secs) {
            bail!(
                "edge.ban_window_secs must be between 1 and {MAX_BAN_WINDOW_SECS} (7 days), got {}",
                self.ban_window_secs
            );
        }
        if !(1..=MAX_BAN_SECS).contains(&self.ban_secs) {
            bail!(
                "edge.ban_secs must be between 1 and {MAX_BAN_SECS} (366 days), got {}",
                self.ban_secs
            );
        }
        if self.ban_sync_interval_ms < MIN_BAN_SYNC_INTERVAL_MS {
            bail!(
                "edge.ban_sync_interval_ms must be at least {MIN_BAN_SYNC_INTERVAL_MS}, got {}",
                self.ban_sync_interval_ms
            );
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.validate_jail()?;
        self.ban_ignore_nets()?;
        if !(MIN_IPV6_PREFIX..=128).contains(&self.ipv6_prefix) {
            bail!(
                "edge.ipv6_prefix must be between {MIN_IPV6_PREFIX} and 128, got {}",
                self.ipv6_prefix
            );
        }
        for key in &self.api_keys {
            if key.trim() != key || key.len() < 16 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                // Never the key itself in the message.
                bail!(
                    "edge.api_keys: every key must be at least 16 printable ASCII characters \
                     without spaces (one is {} characters)",
                    key.len()
                );
            }
        }
        self.trusted_proxy_nets()?;
        for (name, per_minute, burst) in [
            ("register", self.register_per_minute, self.register_burst),
            ("status", self.status_per_minute, self.status_burst),
            ("site_key", self.site_key_per_minute, self.site_key_burst),
            ("stats", self.stats_per_minute, self.stats_burst),
            ("predict", self.predict_per_minute, self.predict_burst),
            ("not_found", self.not_found_per_minute, self.not_found_burst),
        ] {
            if per_minute > 0 && burst == 0 {
                bail!("edge.{name}_burst must be at least 1 when edge.{name}_per_minute is set");
            }
        }
        for origin in &self.cors_allowed_origins {
            if origin != "*" && axum::http::HeaderValue::from_str(origin).is_err() {
                bail!("edge.cors_allowed_origins: {origin:?} is not a valid origin");
            }
        }
        Ok(())
    }
}

/// CIDRs or bare addresses (a /32 or /128) of the list `what`.
fn nets(what: &str, list: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("{what}: {s:?} is not a CIDR or an IP address"))
        })
        .collect()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl Config {
    /// Loads the file (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<(Self, Vec<String>)> {
        Self::load_from(file, std::env::vars())
    }

    /// Loads from an explicit environment, so tests do not touch the process's.
    /// Returns the config and the names of `GAMEGATE_*` variables that matched
    /// no key (reported as warnings by the caller: the file is strict, the
    /// environment may carry variables meant for other tools).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        match file {
            None => Self::from_sources(None, env),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                Self::from_sources(Some((&text, &path.display().to_string())), env)
            }
        }
    }

    /// [`Config::load_from`] on the file's text: pure apart from the
    /// `GAMEGATE_*_FILE` secrets it reads, so the fuzz target can feed it
    /// arbitrary text (fuzz/fuzz_targets/config_parse.rs).
    pub fn from_toml_str(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        Self::from_sources(Some((text, "(text)")), env)
    }

    /// `file`: the TOML text and where it came from, for error messages.
    fn from_sources(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let mut builder = config::Config::builder();
        if let Some((text, origin)) = file {
            check_file_keys(text).with_context(|| format!("in config file {origin}"))?;
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }

        let mut plain = HashMap::new();
        let mut unknown_env = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if rest == "CONFIG" || rest.starts_with("TEST_") {
                continue; // the CLI's --config and the test suites' own variables
            }
            let key = rest.to_ascii_lowercase().replace("__", ".");
            if let Some(secret) = key
                .strip_suffix("_file")
                .filter(|k| SECRET_KEYS.contains(k))
            {
                let content = std::fs::read_to_string(&value)
                    .with_context(|| format!("cannot read {name} (file {value})"))?;
                builder = if LIST_KEYS.contains(&secret) {
                    builder.set_override(secret, split_list(&content, '\n'))?
                } else {
                    builder
                        .set_override(secret, content.trim_end_matches(['\n', '\r']).to_owned())?
                };
                continue;
            }
            if LIST_KEYS.contains(&key.as_str()) {
                builder = builder.set_override(key, split_list(&value, ','))?;
                continue;
            }
            if !is_known_key(&key) {
                unknown_env.push(name);
                continue;
            }
            plain.insert(name, value);
        }
        builder = builder.add_source(
            config::Environment::with_prefix("GAMEGATE")
                .prefix_separator("_")
                .separator("__")
                // No eager parsing: "00123" as a token must stay "00123"; the
                // config crate still converts strings for numeric/bool fields.
                .try_parsing(false)
                .source(Some(plain)),
        );

        let merged = builder
            .build()
            .context("cannot assemble the configuration")?;
        let config: Config = merged.try_deserialize().context("invalid configuration")?;
        config.validate()?;
        Ok((config, unknown_env))
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.lang()?;
        self.edge.validate()?;
        self.telegram.validate()?;
        self.rules()?;
        self.account_limit()?;
        gamegate_store::Backend::from_url(&self.database.url)?;
        gamegate_store::Backend::from_url(&self.analytics.url)?;
        if self.reconciler.grace_ms <= self.game_server.call_timeout_ms {
            bail!(
                "reconciler.grace_ms ({}) must exceed game_server.call_timeout_ms ({}): \
                 a registration still waiting on the game server must not be settled under it",
                self.reconciler.grace_ms,
                self.game_server.call_timeout_ms
            );
        }
        if self.database.operation_timeout_ms >= self.http.request_timeout_ms {
            bail!(
                "database.operation_timeout_ms ({}) must be below http.request_timeout_ms ({}) \
                 so a slow database answers database_unavailable, not request_timeout",
                self.database.operation_timeout_ms,
                self.http.request_timeout_ms
            );
        }
        if self.http.tls_cert_file.is_empty() != self.http.tls_key_file.is_empty() {
            bail!("http.tls_cert_file and http.tls_key_file must be set together (or neither)");
        }
        if !self.http.redirect_http_addr.is_empty() {
            if self.http.tls_cert_file.is_empty() {
                bail!(
                    "http.redirect_http_addr redirects to HTTPS, so it needs TLS on (http.tls_cert_file)"
                );
            }
            self.http
                .redirect_http_addr
                .parse::<std::net::SocketAddr>()
                .with_context(|| {
                    format!(
                        "http.redirect_http_addr {:?} is not an address like 0.0.0.0:80",
                        self.http.redirect_http_addr
                    )
                })?;
        }
        if self.http.header_read_timeout_ms == 0 || self.http.tls_reload_interval_ms == 0 {
            bail!("http.header_read_timeout_ms and http.tls_reload_interval_ms must be above 0");
        }
        if self.http.max_connections_per_ip == 0
            || self.http.admin_max_connections == 0
            || self.http.idle_timeout_ms == 0
            || self.http.body_read_timeout_ms == 0
        {
            bail!(
                "http.max_connections_per_ip, http.admin_max_connections, http.idle_timeout_ms \
                 and http.body_read_timeout_ms must be above 0"
            );
        }
        if self.http.shutdown_delay_ms > 60_000 {
            bail!(
                "http.shutdown_delay_ms must be at most 60000, got {}",
                self.http.shutdown_delay_ms
            );
        }
        if self.backup.max_age_hours == 0 {
            bail!("backup.max_age_hours must be above 0");
        }
        self.monitoring.validate()?;
        self.admin.validate()?;
        if self.log.access_log.trim().is_empty() {
            bail!("log.access_log must be \"stdout\", \"off\" or a file path");
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            bail!(
                "log.format must be \"pretty\" or \"json\", got {:?}",
                self.log.format
            );
        }
        if self.analytics.ingest_max_batch == 0
            || self.analytics.ingest_body_limit_bytes == 0
            || self.analytics.anomalies_refresh_secs == 0
        {
            bail!(
                "analytics.ingest_max_batch, analytics.ingest_body_limit_bytes and \
                 analytics.anomalies_refresh_secs must be positive"
            );
        }
        if !ACCESS_LOG_BUFFER_BYTES.contains(&self.log.access_log_buffer_bytes) {
            bail!(
                "log.access_log_buffer_bytes must be between {} and {}, got {}",
                ACCESS_LOG_BUFFER_BYTES.start(),
                ACCESS_LOG_BUFFER_BYTES.end(),
                self.log.access_log_buffer_bytes
            );
        }
        if !(1..=MAX_QUERY_TIMEOUT_MS).contains(&self.analytics.query_timeout_ms) {
            bail!(
                "analytics.query_timeout_ms must be between 1 and {MAX_QUERY_TIMEOUT_MS}, got {}",
                self.analytics.query_timeout_ms
            );
        }
        if self.http.body_limit_bytes == 0
            || self.status.refresh_interval_ms == 0
            || self.reconciler.interval_ms == 0
        {
            bail!(
                "http.body_limit_bytes, status.refresh_interval_ms and reconciler.interval_ms must be positive"
            );
        }
        Ok(())
    }

    pub fn lang(&self) -> anyhow::Result<Lang> {
        self.language.parse().map_err(anyhow::Error::msg)
    }

    pub fn rules(&self) -> anyhow::Result<RegistrationRules> {
        RegistrationRules::with_login_charset(&self.registration.login_charset)
            .map_err(anyhow::Error::msg)
    }

    pub fn account_limit(&self) -> anyhow::Result<AccountLimit> {
        AccountLimit::new(self.registration.account_limit).map_err(anyhow::Error::msg)
    }

    pub fn pool_settings(&self) -> gamegate_store::PoolSettings {
        gamegate_store::PoolSettings {
            max_connections: self.database.max_connections,
            min_connections: self.database.min_connections,
            acquire_timeout: ms(self.database.acquire_timeout_ms),
            sqlite_busy_timeout: ms(self.database.sqlite_busy_timeout_ms),
            operation_timeout: ms(self.database.operation_timeout_ms),
        }
    }

    /// `analytics.query_timeout_ms`.
    pub fn stats_query_timeout(&self) -> Duration {
        ms(self.analytics.query_timeout_ms)
    }

    pub fn analytics_pool_settings(&self) -> gamegate_store::PoolSettings {
        gamegate_store::PoolSettings {
            max_connections: self.analytics.max_connections,
            ..self.pool_settings()
        }
    }

    pub fn game_server_client(&self, addr: String) -> gamegate_gameserver::TcpGameServerConfig {
        gamegate_gameserver::TcpGameServerConfig {
            addr,
            auth_token: self.game_server.auth_token.clone(),
            pool_size: self.game_server.pool_size,
            connect_timeout: ms(self.game_server.connect_timeout_ms),
            call_timeout: ms(self.game_server.call_timeout_ms),
        }
    }

    pub fn header_read_timeout(&self) -> Duration {
        ms(self.http.header_read_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        ms(self.http.idle_timeout_ms)
    }

    pub fn body_read_timeout(&self) -> Duration {
        ms(self.http.body_read_timeout_ms)
    }

    /// Descriptors the process needs besides its client connections: the
    /// database pools (an SQLite connection holds the database, its journal
    /// and its shared-memory file), the game-server client (and the embedded
    /// mock's side of it), and `http.descriptor_reserve`.
    pub fn descriptors_reserved(&self) -> u64 {
        let per_db_connection = |url: &str| match gamegate_store::Backend::from_url(url) {
            Ok(gamegate_store::Backend::Sqlite) => 3,
            _ => 1,
        };
        let pools = u64::from(self.database.max_connections)
            * per_db_connection(&self.database.url)
            + u64::from(self.analytics.max_connections) * per_db_connection(&self.analytics.url);
        let game =
            self.game_server.pool_size as u64 * if self.game_server.embedded_mock { 2 } else { 1 };
        pools + game + u64::from(self.http.descriptor_reserve)
    }

    pub fn request_timeout(&self) -> Duration {
        ms(self.http.request_timeout_ms)
    }

    pub fn status_refresh(&self) -> Duration {
        ms(self.status.refresh_interval_ms)
    }

    pub fn reconciler_interval(&self) -> Duration {
        ms(self.reconciler.interval_ms)
    }

    pub fn reconciler_grace(&self) -> Duration {
        ms(self.reconciler.grace_ms)
    }
}

/// Items of a list value: trimmed, empty ones dropped.
fn split_list(value: &str, separator: char) -> Vec<String> {
    value
        .split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every dotted key the config accepts, derived from the defaults so it can
/// never drift from the structs. Computed once: every environment variable
/// and every file key is looked up here.
fn known_keys() -> &'static [String] {
    static KEYS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(derive_known_keys);
    &KEYS
}

fn derive_known_keys() -> Vec<String> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(table) = value {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, v, out);
                out.push(key);
            }
        }
    }
    let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
    let mut out = Vec::new();
    walk("", &defaults, &mut out);
    out
}

fn is_known_key(key: &str) -> bool {
    known_keys().iter().any(|k| k == key)
}

/// Rejects unknown keys in the file with their full dotted path, so a typo
/// (`acount_limit`) fails the start instead of silently using a default.
fn check_file_keys(text: &str) -> anyhow::Result<()> {
    let value: toml::Value = toml::from_str(text).context("not valid TOML")?;
    let mut unknown = Vec::new();
    fn walk(prefix: &str, value: &toml::Value, known: &[String], out: &mut Vec<String>) {
        if let toml::Value::Table(table) = value {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if !known.contains(&key) {
                    out.push(key);
                } else {
                    walk(&key, v, known, out);
                }
            }
        }
    }
    walk("", &value, known_keys(), &mut unknown);
    unknown.sort();
    if !unknown.is_empty() {
        bail!("unknown configuration keys: {}", unknown.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    /// docs/CONFIGURATION.md promises its production example lists every
    /// key: it must load as it stands and name each key the code knows.
    #[test]
    fn the_documented_production_example_is_complete_and_valid() {
        let doc = include_str!("../../../../docs/CONFIGURATION.md");
        let example = doc
            .split("## Example: production")
            .nth(1)
            .and_then(|rest| rest.split("```toml\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("docs/CONFIGURATION.md has a TOML production example");
        let f = file(example);
        let (_, unknown) =
            Config::load_from(Some(f.path()), env(&[])).expect("the documented example loads");
        assert!(unknown.is_empty(), "{unknown:?}");
        let table: toml::Table = example.parse().unwrap();
        let mut documented = Vec::new();
        for (section, value) in &table {
            match value.as_table() {
                Some(keys) => documented.extend(keys.keys().map(|k| format!("{section}.{k}"))),
                None => documented.push(section.clone()),
            }
        }
        let missing: Vec<_> = known_keys()
            .iter()
            .filter(|k| {
                // Section names themselves are not keys.
                !documented.contains(k)
                    && !known_keys().iter().any(|o| o.starts_with(&format!("{k}.")))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "keys missing from the documented example: {missing:?}"
        );
    }

    #[test]
    fn monitoring_thresholds_are_validated() {
        let (c, _) = Config::load_from(
            Some(file("[monitoring]\njob = \"gg-prod\"\nbans_per_10m = 3\n").path()),
            env(&[("GAMEGATE_MONITORING__HTTP_5XX_RATIO", "0.25")]),
        )
        .unwrap();
        assert_eq!(
            (c.monitoring.job.as_str(), c.monitoring.bans_per_10m),
            ("gg-prod", 3)
        );
        assert_eq!(c.monitoring.http_5xx_ratio, 0.25);
        for (toml, error) in [
            ("job = \"a\\\"b\"", "monitoring.job"),
            ("job = \"\"", "monitoring.job"),
            ("http_5xx_ratio = 1.0", "monitoring.http_5xx_ratio"),
            (
                "registration_error_ratio = 0.0",
                "monitoring.registration_error_ratio",
            ),
            (
                "pending_registrations = 0",
                "monitoring.pending_registrations",
            ),
            ("bans_per_10m = 0", "monitoring.bans_per_10m"),
            (
                "certificate_expiry_days = 0",
                "monitoring.certificate_expiry_days",
            ),
            (
                "certificate_expiry_days = 366",
                "monitoring.certificate_expiry_days",
            ),
        ] {
            let f = file(&format!("[monitoring]\n{toml}\n"));
            let e = Config::load_from(Some(f.path()), env(&[])).unwrap_err();
            assert!(format!("{e:#}").contains(error), "{toml}: {e:#}");
        }
    }

    #[test]
    fn no_config_at_all_gives_the_all_in_one_defaults() {
        let (c, unknown) = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.http.public_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(c.http.admin_addr.to_string(), "127.0.0.1:9000");
        assert_eq!(c.database.url, "sqlite://gamegate.db");
        assert_eq!(c.game_server.addr, "127.0.0.1:5190");
        assert_eq!(c.registration.account_limit, 5);
        assert_eq!(c.http.body_limit_bytes, 16 * 1024);
        assert!(unknown.is_empty());
    }

    #[test]
    fn the_file_sets_keys_and_the_environment_overrides_them() {
        let f = file(
            "language = \"en\"\n[registration]\naccount_limit = 3\n[http]\npublic_addr = \"0.0.0.0:8080\"\n",
        );
        let (c, _) = Config::load_from(
            Some(f.path()),
            env(&[
                ("GAMEGATE_REGISTRATION__ACCOUNT_LIMIT", "7"),
                ("GAMEGATE_GAME_SERVER__CALL_TIMEOUT_MS", "1500"),
                ("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.language, "en");
        assert_eq!(c.registration.account_limit, 7);
        assert_eq!(c.http.public_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.game_server.call_timeout_ms, 1500);
        assert!(!c.game_server.embedded_mock);
    }

    #[test]
    fn number_like_secrets_stay_strings() {
        let (c, _) =
            Config::load_from(None, env(&[("GAMEGATE_GAME_SERVER__AUTH_TOKEN", "00123")])).unwrap();
        assert_eq!(c.game_server.auth_token, "00123");
    }

    #[test]
    fn unknown_keys_in_the_file_fail_with_their_paths() {
        let f = file("[registration]\nacount_limit = 3\n[nonsense]\nx = 1\n");
        let err = format!(
            "{:#}",
            Config::load_from(Some(f.path()), env(&[])).unwrap_err()
        );
        assert!(err.contains("registration.acount_limit"), "{err}");
        assert!(err.contains("nonsense"), "{err}");
    }

    #[test]
    fn unknown_environment_variables_are_reported_not_fatal() {
        let (_, unknown) = Config::load_from(
            None,
            env(&[
                ("GAMEGATE_DATABSE__URL", "x"),
                ("GAMEGATE_TEST_MYSQL_URL", "y"),
            ]),
        )
        .unwrap();
        assert_eq!(unknown, vec!["GAMEGATE_DATABSE__URL".to_string()]);
    }

    #[test]
    fn secrets_can_come_from_files() {
        let token = file("from-a-file\n");
        let url = file("mysql://game:pw@db/game\n");
        let (c, _) = Config::load_from(
            None,
            env(&[
                (
                    "GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE",
                    token.path().to_str().unwrap(),
                ),
                ("GAMEGATE_DATABASE__URL_FILE", url.path().to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(c.game_server.auth_token, "from-a-file");
        assert_eq!(c.database.url, "mysql://game:pw@db/game");
        // Debug output masks both.
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("from-a-file") && !shown.contains(":pw@"),
            "{shown}"
        );
    }

    #[test]
    fn api_keys_come_from_a_list_variable_or_a_file_and_are_masked() {
        let (c, unknown) = Config::load_from(
            None,
            env(&[
                (
                    "GAMEGATE_EDGE__API_KEYS",
                    "0123456789abcdef01, key-two-is-long-enough ",
                ),
                ("GAMEGATE_EDGE__TRUSTED_PROXIES", "10.0.0.0/8,::1"),
                ("GAMEGATE_EDGE__REGISTER_PER_MINUTE", "0"),
            ]),
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            c.edge.api_keys,
            vec!["0123456789abcdef01", "key-two-is-long-enough"]
        );
        assert_eq!(c.edge.trusted_proxy_nets().unwrap().len(), 2);
        assert_eq!(c.edge.register_per_minute, 0);
        assert_eq!(c.edge.cors_allowed_origins, vec!["*"]);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("0123456789abcdef01") && !shown.contains("key-two"),
            "{shown}"
        );

        let keys = file("first-key-from-file-1\n\nsecond-key-from-file-2\n");
        let (c, _) = Config::load_from(
            None,
            env(&[(
                "GAMEGATE_EDGE__API_KEYS_FILE",
                keys.path().to_str().unwrap(),
            )]),
        )
        .unwrap();
        assert_eq!(
            c.edge.api_keys,
            vec!["first-key-from-file-1", "second-key-from-file-2"]
        );

        let f = file(
            "[edge]\napi_keys = [\"a-key-from-the-toml-file\"]\ncors_allowed_origins = [\"https://game.example\"]\n",
        );
        let (c, _) = Config::load_from(Some(f.path()), env(&[])).unwrap();
        assert_eq!(c.edge.api_keys, vec!["a-key-from-the-toml-file"]);
        assert_eq!(c.edge.cors_allowed_origins, vec!["https://game.example"]);
    }

    #[test]
    fn the_ban_jail_is_on_by_default_and_its_codes_come_from_a_list_variable() {
        let (c, _) = Config::load_from(None, env(&[])).unwrap();
        assert!(c.edge.ban_enabled);
        assert_eq!(
            c.edge.ban_on_codes().unwrap(),
            vec![ErrorCode::InvalidApiKey, ErrorCode::RateLimited]
        );
        assert_eq!(
            (
                c.edge.ban_threshold,
                c.edge.ban_window_secs,
                c.edge.ban_secs,
                c.edge.ban_sync_interval_ms
            ),
            (20, 300, 3_600, 5_000)
        );
        let (c, unknown) = Config::load_from(
            None,
            env(&[
                ("GAMEGATE_EDGE__BAN_ON", "invalid_api_key, validation_error"),
                ("GAMEGATE_EDGE__BAN_THRESHOLD", "3"),
            ]),
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            c.edge.ban_on_codes().unwrap(),
            vec![ErrorCode::InvalidApiKey, ErrorCode::ValidationError]
        );
        assert_eq!(c.edge.ban_threshold, 3);
        // Off: an empty list is fine then.
        Config::load_from(
            None,
            env(&[
                ("GAMEGATE_EDGE__BAN_ENABLED", "false"),
                ("GAMEGATE_EDGE__BAN_ON", ""),
            ]),
        )
        .unwrap();
    }

    #[test]
    fn invalid_values_fail_at_start_with_a_reason() {
        for (key, value, needle) in [
            ("GAMEGATE_LANGUAGE", "de", "unknown language"),
            (
                "GAMEGATE_DATABASE__URL",
                "oracle://x",
                "unsupported database URL",
            ),
            ("GAMEGATE_REGISTRATION__ACCOUNT_LIMIT", "0", "account limit"),
            ("GAMEGATE_RECONCILER__GRACE_MS", "100", "grace_ms"),
            ("GAMEGATE_LOG__FORMAT", "xml", "log.format"),
            ("GAMEGATE_EDGE__API_KEYS", "short", "edge.api_keys"),
            (
                "GAMEGATE_EDGE__TRUSTED_PROXIES",
                "10.0.0.0/33",
                "trusted_proxies",
            ),
            ("GAMEGATE_EDGE__REGISTER_BURST", "0", "register_burst"),
            (
                "GAMEGATE_EDGE__BAN_ON",
                "invalid_api_key,nope",
                "\"nope\" is not an error code",
            ),
            (
                "GAMEGATE_EDGE__BAN_ON",
                "database_unavailable",
                "only client errors",
            ),
            ("GAMEGATE_EDGE__BAN_ON", "banned", "only client errors"),
            ("GAMEGATE_EDGE__BAN_ON", "", "edge.ban_on is empty"),
            ("GAMEGATE_EDGE__BAN_THRESHOLD", "0", "edge.ban_threshold"),
            ("GAMEGATE_EDGE__BAN_THRESHOLD", "1001", "edge.ban_threshold"),
            ("GAMEGATE_EDGE__IPV6_PREFIX", "31", "edge.ipv6_prefix"),
            ("GAMEGATE_EDGE__IPV6_PREFIX", "129", "edge.ipv6_prefix"),
            (
                "GAMEGATE_EDGE__BAN_IGNORE",
                "127.0.0.1,nope",
                "edge.ban_ignore",
            ),
            (
                "GAMEGATE_EDGE__BAN_WINDOW_SECS",
                "0",
                "edge.ban_window_secs",
            ),
            ("GAMEGATE_EDGE__BAN_SECS", "0", "edge.ban_secs"),
            (
                "GAMEGATE_EDGE__BAN_SYNC_INTERVAL_MS",
                "10",
                "edge.ban_sync_interval_ms",
            ),
            // Every public route limited.
            ("GAMEGATE_EDGE__STATS_BURST", "0", "edge.stats_burst"),
            ("GAMEGATE_EDGE__PREDICT_BURST", "0", "edge.predict_burst"),
            (
                "GAMEGATE_EDGE__NOT_FOUND_BURST",
                "0",
                "edge.not_found_burst",
            ),
            (
                "GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS",
                "0",
                "analytics.query_timeout_ms",
            ),
            (
                "GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS",
                "60001",
                "analytics.query_timeout_ms",
            ),
            (
                "GAMEGATE_LOG__ACCESS_LOG_BUFFER_BYTES",
                "4095",
                "log.access_log_buffer_bytes",
            ),
        ] {
            let err = format!(
                "{:#}",
                Config::load_from(None, env(&[(key, value)])).unwrap_err()
            );
            assert!(err.contains(needle), "{key}={value}: {err}");
        }
    }

    #[test]
    fn every_public_route_has_its_limit_and_a_limit_can_be_turned_off() {
        let (c, unknown) = Config::load_from(
            None,
            env(&[
                ("GAMEGATE_EDGE__STATS_PER_MINUTE", "120"),
                ("GAMEGATE_EDGE__STATS_BURST", "7"),
                ("GAMEGATE_EDGE__PREDICT_PER_MINUTE", "0"),
                ("GAMEGATE_EDGE__PREDICT_BURST", "0"),
                ("GAMEGATE_EDGE__NOT_FOUND_PER_MINUTE", "5"),
                ("GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS", "750"),
                ("GAMEGATE_LOG__ACCESS_LOG_BUFFER_BYTES", "65536"),
            ]),
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!((c.edge.stats_per_minute, c.edge.stats_burst), (120, 7));
        assert_eq!((c.edge.predict_per_minute, c.edge.predict_burst), (0, 0));
        assert_eq!(
            (c.edge.not_found_per_minute, c.edge.not_found_burst),
            (5, 10)
        );
        assert_eq!(c.stats_query_timeout(), Duration::from_millis(750));
        assert_eq!(c.log.access_log_buffer_bytes, 65_536);
        let defaults = Config::default();
        assert_eq!(
            (
                defaults.edge.stats_per_minute,
                defaults.edge.predict_per_minute
            ),
            (60, 30)
        );
        assert_eq!(defaults.edge.not_found_per_minute, 30);
        assert_eq!(defaults.analytics.query_timeout_ms, 3_000);
    }

    #[test]
    fn admin_tokens_come_from_a_list_variable_or_a_file_are_checked_and_masked() {
        assert!(Config::default().admin.tokens.is_empty(), "open by default");
        let (c, unknown) = Config::load_from(
            None,
            env(&[(
                "GAMEGATE_ADMIN__TOKENS",
                "operator-token-one-0001,operator-token-two-0002",
            )]),
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            c.admin.tokens,
            vec!["operator-token-one-0001", "operator-token-two-0002"]
        );
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("operator-token") && shown.contains("2 token(s)"),
            "{shown}"
        );

        let tokens = file("token-from-a-secret-file\n");
        let (c, _) = Config::load_from(
            None,
            env(&[(
                "GAMEGATE_ADMIN__TOKENS_FILE",
                tokens.path().to_str().unwrap(),
            )]),
        )
        .unwrap();
        assert_eq!(c.admin.tokens, vec!["token-from-a-secret-file"]);

        let f = file("[admin]\ntokens = [\"a-token-from-the-toml-file\"]\n");
        let (c, _) = Config::load_from(Some(f.path()), env(&[])).unwrap();
        assert_eq!(c.admin.tokens, vec!["a-token-from-the-toml-file"]);

        for bad in [
            "short-token",
            "a token with spaces in it",
            "tab\tin-the-token-here",
        ] {
            let f = file(&format!("[admin]\ntokens = [{bad:?}]\n"));
            let e = format!(
                "{:#}",
                Config::load_from(Some(f.path()), env(&[])).unwrap_err()
            );
            assert!(e.contains("admin.tokens"), "{e}");
            assert!(!e.contains(bad), "the token is never shown: {e}");
        }
    }
}
