//! `[edge]`: the in-process edge policy (keys, client IP, limits, CORS, jail).

use anyhow::bail;
use gamegate_domain::ErrorCode;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::types;

/// The in-process edge policy (docs/EDGE.md): API keys on `POST /api/register`,
/// client IP behind trusted proxies, per-IP rate limits and CORS on the public
/// listener of `gamegate all`; the key check also on `serve register`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Valid `X-API-Key` values; several at once so a key can be rotated.
    /// Empty: `gamegate all` generates one and keeps it beside the accounts
    /// database; `serve register` refuses to start unless `keys_checked_upstream`.
    #[serde(with = "types::secrets")]
    pub api_keys: Vec<SecretString>,
    /// `serve register` only needs no key when an edge in front checks them.
    pub keys_checked_upstream: bool,
    /// CIDRs (or single addresses) of proxies whose `X-Forwarded-For` /
    /// `X-Real-IP` are believed. Empty: the socket peer is the client.
    /// A bare address is a /32 (or /128).
    #[serde(with = "types::trusted_proxies")]
    pub trusted_proxies: Vec<IpNet>,
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
    /// The `detail` codes that count as failures: client errors (4xx) only
    /// (`banned` excluded), checked at load.
    #[serde(with = "types::ban_on")]
    pub ban_on: Vec<ErrorCode>,
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
    /// A bare address is a /32 (or /128).
    #[serde(with = "types::ban_ignore")]
    pub ban_ignore: Vec<IpNet>,
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
    // Limits shared by replicas (docs/EDGE.md#the-redis-store).
    /// Where the rate limits keep their state: `memory` (each process its
    /// own) or `redis://[user:password@]host[:port][/db]` (shared by every
    /// process with the same store and prefix; bans are published there
    /// too). A secret: it may carry a password ([`RedisSettings`](super::RedisSettings)
    /// shows it masked).
    #[serde(with = "types::secret")]
    pub rate_limit_store: SecretString,
    /// Each call to the Redis store is cut after this many milliseconds
    /// (1–5000); the check then falls back to the in-process limiter.
    pub rate_limit_store_timeout_ms: u64,
    /// Prefix of every Redis key and channel, so several deployments (or
    /// tests) can share one Redis: `{prefix}:rl:{route}:{client}`,
    /// `{prefix}:bans`.
    pub rate_limit_store_prefix: String,
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
            ban_on: vec![
                ErrorCode::InvalidApiKey,
                ErrorCode::RateLimited,
                ErrorCode::WrongPassword,
            ],
            ban_threshold: 20,
            ban_window_secs: 300,
            ban_secs: 3_600,
            ban_sync_interval_ms: 5_000,
            site_key_per_minute: 0,
            site_key_burst: 100,
            ipv6_prefix: 64,
            ban_ignore: vec![
                "127.0.0.0/8".parse().expect("a CIDR"),
                "::1/128".parse().expect("a CIDR"),
            ],
            stats_per_minute: 60,
            stats_burst: 20,
            predict_per_minute: 30,
            predict_burst: 10,
            not_found_per_minute: 30,
            not_found_burst: 10,
            rate_limit_store: "memory".into(),
            rate_limit_store_timeout_ms: 100,
            rate_limit_store_prefix: "gamegate".into(),
        }
    }
}

impl EdgeConfig {
    fn validate_jail(&self) -> anyhow::Result<()> {
        if self.ban_enabled && self.ban_on.is_empty() {
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

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        self.validate_jail()?;
        if !(MIN_IPV6_PREFIX..=128).contains(&self.ipv6_prefix) {
            bail!(
                "edge.ipv6_prefix must be between {MIN_IPV6_PREFIX} and 128, got {}",
                self.ipv6_prefix
            );
        }
        for key in self.api_keys.iter().map(ExposeSecret::expose_secret) {
            if key.trim() != key || key.len() < 16 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                // Never the key itself in the message.
                bail!(
                    "edge.api_keys: every key must be at least 16 printable ASCII characters \
                     without spaces (one is {} characters)",
                    key.len()
                );
            }
        }
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
        super::RedisSettings::from_config(self)?;
        Ok(())
    }
}
