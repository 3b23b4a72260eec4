//! Configuration: defaults → TOML file → `GAMEGATE_*` environment variables
//! (`__` separates sections: `GAMEGATE_DATABASE__URL`) → `…_FILE` variants for
//! secrets. `gamegate all` runs with none of them.

//!
//! Every value is parsed and checked once, in [`Config::load`]: languages,
//! policies and formats are enums, networks are [`ipnet::IpNet`]s, ban codes
//! are [`gamegate_domain::ErrorCode`]s, secrets are [`SecretString`]s (`[REDACTED]` in
//! `Debug`). Durations keep their unit in the key's name (`…_ms`, `…_secs`,
//! `…_hours`); the accessors below turn them into [`Duration`]s.
//!
//! One file per group of sections, so no file grows past a few hundred lines.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use gamegate_domain::{AccountLimit, CaseFolding, GameAccountRules, Lang, RegistrationRules};
pub use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

mod admin;
mod database;
mod deploy;
mod edge;
mod game;
mod game_tls;
mod http;
mod log;
mod rate_limit_store;
mod telegram;
#[cfg(test)]
mod tests;
mod types;
mod wowcore;

pub use admin::AdminConfig;
use database::MAX_QUERY_TIMEOUT_MS;
pub use database::{AnalyticsConfig, DatabaseConfig};
pub use deploy::{BackupConfig, DeployConfig, MonitoringConfig, NginxConfig};
pub use edge::{EdgeConfig, MAX_BAN_THRESHOLD, MIN_IPV6_PREFIX};
pub use game::{
    ConnectorKind, DEV_GAME_SERVER_TOKEN, GameServerConfig, GameServerHttpConfig,
    MAX_IDEMPOTENCY_WINDOW_SECS, PasswordHashConfig, ReconcilerConfig, RegistrationConfig,
    StatusConfig,
};
pub use game_tls::GameServerTlsConfig;
pub use http::{HttpConfig, ServicesConfig};
use log::ACCESS_LOG_BUFFER_BYTES;
pub use log::LogConfig;
pub use rate_limit_store::RedisSettings;
pub use telegram::TelegramConfig;
pub use types::{ErasureKeep, FailPolicy, LogFormat, expose_all, networks};
pub use wowcore::{AuthDbConfig, SoapConfig};

/// Keys whose value may come from a file named by `GAMEGATE_<KEY>_FILE`
/// (Docker/Kubernetes secrets). Listed explicitly so an ordinary key that ends
/// in `_file` is never mistaken for one.
pub const SECRET_KEYS: &[&str] = &[
    "database.url",
    "analytics.url",
    "game_server.auth_token",
    "game_server.auth_db.url",
    "game_server.soap.password",
    "game_server.http.signing_secret",
    "edge.api_keys",
    "telegram.bot_token",
    "analytics.ingest_tokens",
    "admin.tokens",
    "registration.erasure_key",
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

/// The shortest `game_server.http.signing_secret` the load accepts;
/// `gamegate doctor` wants a strong one (32 characters, 128 bits).
pub const MIN_SIGNING_SECRET_CHARS: usize = 16;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Language of `message` in answers: `ru` or `en`.
    pub language: Lang,
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
            language: Lang::Ru,
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
        self.edge.validate()?;
        self.telegram.validate()?;
        self.game_server.tls.validate()?;
        self.game_server.validate()?;
        self.rules()?;
        self.registration.validate()?;
        self.validate_connector()?;
        gamegate_store::Backend::from_url(&self.database.url)?;
        gamegate_store::Backend::from_url(&self.analytics.url)?;
        let (call_key, call_ms) = self.game_server.call_timeout_key();
        if self.reconciler.grace_ms <= call_ms {
            bail!(
                "reconciler.grace_ms ({}) must exceed {call_key} ({call_ms}): \
                 a registration still waiting on the game server must not be settled under it",
                self.reconciler.grace_ms,
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
        if self.analytics.ingest_max_batch == 0
            || self.analytics.ingest_body_limit_bytes == 0
            || self.analytics.anomalies_refresh_secs == 0
        {
            bail!(
                "analytics.ingest_max_batch, analytics.ingest_body_limit_bytes and \
                 analytics.anomalies_refresh_secs must be positive"
            );
        }
        if self.analytics.anomaly_min_battles == 0
            || !(self.analytics.anomaly_min_expected.is_finite()
                && (0.0..=1_000_000.0).contains(&self.analytics.anomaly_min_expected))
        {
            bail!(
                "analytics.anomaly_min_battles must be at least 1 and                  analytics.anomaly_min_expected between 0 and 1000000"
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
        if !(1..=MAX_IDEMPOTENCY_WINDOW_SECS).contains(&self.registration.idempotency_window_secs) {
            bail!(
                "registration.idempotency_window_secs must be between 1 and \
                 {MAX_IDEMPOTENCY_WINDOW_SECS} (7 days), got {}",
                self.registration.idempotency_window_secs
            );
        }
        if self.status.down_after_polls == 0 {
            bail!("status.down_after_polls must be at least 1");
        }
        Ok(())
    }

    /// The settings of the connector `game_server.kind` names: for `http`, a
    /// usable `[game_server.http]` (a URL the connector can call, a signing
    /// secret of at least [`MIN_SIGNING_SECRET_CHARS`] characters, never
    /// shown).
    fn validate_connector(&self) -> anyhow::Result<()> {
        if self.game_server.kind != ConnectorKind::Http {
            return Ok(());
        }
        let http = &self.game_server.http;
        if http.url.trim().is_empty() {
            bail!(
                "game_server.kind = \"http\" needs game_server.http.url, the receiver's base URL \
                 (https://game.example/gamegate; docs/GAME_SERVER.md#http-connector)"
            );
        }
        gamegate_gameserver::http::parse_base_url(&http.url)
            .map_err(|e| anyhow::anyhow!("game_server.http.url: {e}"))?;
        if !http.ca_file.is_empty() {
            self.game_server_ca_pem()?;
        }
        let chars = http.signing_secret.expose_secret().chars().count();
        if chars < MIN_SIGNING_SECRET_CHARS {
            bail!(
                "game_server.http.signing_secret must be at least {MIN_SIGNING_SECRET_CHARS} \
                 characters (it has {chars}): set the receiver's secret, preferably through \
                 GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET_FILE (`gamegate keygen api-key` makes one)"
            );
        }
        Ok(())
    }

    /// `language`.
    pub fn lang(&self) -> Lang {
        self.language
    }

    /// The registration rules: `registration.login_charset` narrowed by the
    /// game's account rules (`[game_server.rules]`, or the connector's own).
    /// Errs, saying which rule, when the two leave nothing to register; the
    /// load checks this, so a loaded configuration never errs here.
    pub fn rules(&self) -> anyhow::Result<RegistrationRules> {
        self.registration
            .login_charset
            .restricted_by(&self.game_server.account_rules())
            .map_err(|e| anyhow::anyhow!("game_server.rules: {e}"))
    }

    /// `registration.account_limit`.
    pub fn account_limit(&self) -> AccountLimit {
        self.registration.account_limit
    }

    /// `registration.idempotency_window_secs`.
    pub fn idempotency_window(&self) -> Duration {
        Duration::from_secs(self.registration.idempotency_window_secs)
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

    /// The v1 client's settings for a game server at `addr`, TLS included
    /// (its files read here).
    ///
    /// # Errors
    /// A `[game_server.tls]` file that cannot be read or used, naming the
    /// setting.
    pub fn game_server_client(
        &self,
        addr: String,
    ) -> anyhow::Result<gamegate_gameserver::TcpGameServerConfig> {
        Ok(gamegate_gameserver::TcpGameServerConfig {
            tls: self.game_server.tls.link(&addr)?,
            addr,
            auth_token: self.game_server.auth_token.clone(),
            pool_size: self.game_server.pool_size,
            connect_timeout: ms(self.game_server.connect_timeout_ms),
            call_timeout: ms(self.game_server.call_timeout_ms),
            rules: self.game_server.account_rules(),
        })
    }

    /// The HTTP connector's settings (`kind = "http"`): `[game_server.http]`
    /// with the pool and timeouts of `[game_server]`.
    /// Errs when `game_server.http.ca_file` cannot be read or holds no
    /// certificate.
    pub fn game_server_http_client(
        &self,
    ) -> anyhow::Result<gamegate_gameserver::HttpGameServerConfig> {
        Ok(gamegate_gameserver::HttpGameServerConfig {
            url: self.game_server.http.url.clone(),
            signing_secret: self.game_server.http.signing_secret.clone(),
            pool_size: self.game_server.pool_size,
            connect_timeout: ms(self.game_server.connect_timeout_ms),
            call_timeout: ms(self.game_server.call_timeout_ms),
            rules: self.game_server.account_rules(),
            ca_pem: match self.game_server.http.ca_file.as_str() {
                "" => None,
                _ => Some(self.game_server_ca_pem()?),
            },
        })
    }

    /// The PEM text of `game_server.http.ca_file`, checked to hold at least
    /// one certificate.
    fn game_server_ca_pem(&self) -> anyhow::Result<Vec<u8>> {
        let path = &self.game_server.http.ca_file;
        let pem = std::fs::read(path)
            .with_context(|| format!("game_server.http.ca_file: cannot read {path}"))?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certificates) if !certificates.is_empty() => Ok(pem),
            _ => bail!("game_server.http.ca_file: {path} holds no PEM certificate"),
        }
    }

    /// Where the connector talks to, for the banner, `doctor` and logs:
    /// `game_server.addr` (v1) or `game_server.http.url` (http).
    pub fn game_server_target(&self) -> String {
        if let Some(target) = self.game_server.wow_target() {
            return target;
        }
        match self.game_server.kind {
            ConnectorKind::Http => self.game_server.http.url.trim().to_owned(),
            _ => self.game_server.addr.clone(),
        }
    }

    /// Whether `gamegate all` runs the built-in mock: `embedded_mock` on and
    /// the v1 connector (the mock speaks protocol v1 only; with `http` the
    /// key is ignored).
    pub fn runs_embedded_mock(&self) -> bool {
        self.game_server.embedded_mock && self.game_server.kind == ConnectorKind::V1
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
    /// and its shared-memory file), the game-server client and the status
    /// poll's own connection (and the embedded mock's side of them), and
    /// `http.descriptor_reserve`.
    pub fn descriptors_reserved(&self) -> u64 {
        let per_db_connection = |url: &str| match gamegate_store::Backend::from_url(url) {
            Ok(gamegate_store::Backend::Sqlite) => 3,
            _ => 1,
        };
        let pools = u64::from(self.database.max_connections)
            * per_db_connection(&self.database.url)
            + u64::from(self.analytics.max_connections) * per_db_connection(&self.analytics.url);
        // The connector and the status poll's own client of one connection
        // (with the embedded mock's side of each).
        let game =
            (self.game_server.connections() + 1) * if self.runs_embedded_mock() { 2 } else { 1 };
        pools + game + u64::from(self.http.descriptor_reserve)
    }

    pub fn request_timeout(&self) -> Duration {
        ms(self.http.request_timeout_ms)
    }

    pub fn status_refresh(&self) -> Duration {
        ms(self.status.refresh_interval_ms)
    }

    /// `status.down_after_polls` when `status.derive_from_game_server` is
    /// on: after that many failed polls in a row `server_status` answers 0.
    pub fn status_derivation(&self) -> Option<u32> {
        self.status
            .derive_from_game_server
            .then_some(self.status.down_after_polls)
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
    let mut out = keys_with_defaults();
    // Keys without a default (an `Option` left `None`) do not serialise; a
    // sample with each of them set names them too.
    for key in keys_of(&with_every_optional_key()) {
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// The keys that have a default value (every key a complete example shows).
fn keys_with_defaults() -> Vec<String> {
    keys_of(&Config::default())
}

/// The defaults with every optional key (no default) set to a sample value.
fn with_every_optional_key() -> Config {
    let mut config = Config::default();
    config.game_server.rules = GameAccountRules {
        login_min_chars: Some(1),
        login_max_chars: Some(1),
        login_charset: Some("a".into()),
        password_min_chars: Some(1),
        password_max_chars: Some(1),
        password_charset: Some("a".into()),
        case_folding: CaseFolding::default(),
    };
    config
}

fn keys_of(config: &Config) -> Vec<String> {
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
    let value = toml::Value::try_from(config).expect("configurations serialise");
    let mut out = Vec::new();
    walk("", &value, &mut out);
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
