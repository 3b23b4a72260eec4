//! `[database]` (accounts) and `[analytics]` (battles and statistics).

use serde::{Deserialize, Serialize};

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
    /// Secret. Bearer tokens the game server sends with `POST /stats/battles`
    /// (`Authorization: Bearer <token>`). Empty: ingestion over HTTP is refused.
    #[serde(with = "super::types::secrets")]
    pub ingest_tokens: Vec<secrecy::SecretString>,
    /// Most battles one `POST /stats/battles` may carry.
    pub ingest_max_batch: usize,
    /// Body limit of `POST /stats/battles` (the other routes keep
    /// `http.body_limit_bytes`).
    pub ingest_body_limit_bytes: usize,
    /// How often `/ml/anomalies` is recomputed over every stored battle (it is
    /// also recomputed soon after an HTTP ingestion stored new battles).
    pub anomalies_refresh_secs: u64,
    /// Fewest battles behind an anomaly flag (the run of PvP battles for
    /// improbable wins, the damage-scored battles for a damage outlier);
    /// `/ml/anomalies?min_battles=` can raise it, not lower it.
    pub anomaly_min_battles: u32,
    /// Fewest wins and fewest losses the ratings must have expected over a
    /// run of wins before it can be flagged as improbable.
    pub anomaly_min_expected: f64,
    /// `gamegate all` only: seed a small synthetic history (200 players, 5000
    /// battles) into an analytics database with no battles, so the
    /// statistics are not empty on a first start.
    pub seed_demo_history: bool,
    /// Refuse a battle naming a login with no account in the accounts
    /// database (`registration`'s players, any state, looked up
    /// case-insensitively): `POST /stats/battles` answers it `invalid` with
    /// `unknown_player`, `battles import` reports its line. Off: battles of
    /// any login the registration's rule accepts are stored.
    pub require_registered_players: bool,
    // Every public route limited: statistics queries bounded in time.
    /// Longest a public statistics query (`/stats/summary`,
    /// `/stats/leaderboard`, `/stats/players/{login}`, `/ml/predict`) may
    /// take, waiting for a connection included; past it the answer is
    /// `503 request_timeout` with `Retry-After`.
    pub query_timeout_ms: u64,
}

impl AnalyticsConfig {
    /// The anomaly detector's evidence rules from `anomaly_min_battles` and
    /// `anomaly_min_expected` (the significance level is the detector's).
    pub fn anomaly_evidence(&self) -> gamegate_analytics::anomalies::Evidence {
        gamegate_analytics::anomalies::Evidence {
            min_battles: self.anomaly_min_battles,
            min_expected: self.anomaly_min_expected,
            ..Default::default()
        }
    }
}

/// Upper bound of `analytics.query_timeout_ms` (a minute).
pub(super) const MAX_QUERY_TIMEOUT_MS: u64 = 60_000;

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://gamegate-analytics.db".into(),
            max_connections: 5,
            ingest_tokens: Vec::new(),
            ingest_max_batch: 1_000,
            ingest_body_limit_bytes: 8 * 1024 * 1024,
            anomalies_refresh_secs: 300,
            anomaly_min_battles: 30,
            anomaly_min_expected: 5.0,
            seed_demo_history: true,
            require_registered_players: false,
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
            .field(
                "require_registered_players",
                &self.require_registered_players,
            )
            .finish_non_exhaustive()
    }
}
