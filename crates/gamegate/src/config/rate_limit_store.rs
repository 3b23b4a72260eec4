//! `edge.rate_limit_store`: `memory`, or a Redis store shared by the
//! replicas (docs/EDGE.md#the-redis-store), validated once at load into
//! [`RedisSettings`].

use std::time::Duration;

use anyhow::{anyhow, bail};
use secrecy::ExposeSecret;

use super::EdgeConfig;

/// The longest `edge.rate_limit_store_timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 5_000;
/// The longest `edge.rate_limit_store_prefix`.
pub const MAX_PREFIX_LEN: usize = 64;

/// A validated `redis://` store: URL (secret: may carry a password), key
/// prefix, per-call timeout. `Debug` masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// The URL as configured; read through [`RedisSettings::url`].
    url: String,
    /// `edge.rate_limit_store_prefix`.
    pub prefix: String,
    /// `edge.rate_limit_store_timeout_ms`.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.shown_url())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisSettings {
    /// `Ok(None)` for `memory`; the Redis settings for a `redis://` URL;
    /// an error naming the setting (never the password) for anything else.
    pub fn from_config(edge: &EdgeConfig) -> anyhow::Result<Option<Self>> {
        let raw = edge.rate_limit_store.expose_secret().trim();
        if raw == "memory" {
            return Ok(None);
        }
        let shown = shown_url(raw);
        let bad = || {
            anyhow!(
                "edge.rate_limit_store must be \"memory\" or redis://[user:password@]host[:port][/db], got {shown:?}"
            )
        };
        let url = url::Url::parse(raw).map_err(|_| bad())?;
        match url.scheme() {
            "redis" => {}
            "rediss" => bail!(
                "edge.rate_limit_store: TLS to Redis (rediss://) is not supported; \
                 reach Redis over a private network (got {shown:?})"
            ),
            _ => return Err(bad()),
        }
        if url.host_str().is_none_or(str::is_empty) || url.query().is_some() {
            return Err(bad());
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u16>().is_err() {
            bail!("edge.rate_limit_store: the database of {shown:?} must be a number");
        }
        // The client's own parser too (it reads what it will use); its
        // error is not shown, as it could quote the URL.
        redis::Client::open(raw).map_err(|_| bad())?;
        let timeout_ms = edge.rate_limit_store_timeout_ms;
        if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            bail!(
                "edge.rate_limit_store_timeout_ms must be between 1 and {MAX_TIMEOUT_MS}, got {timeout_ms}"
            );
        }
        let prefix = &edge.rate_limit_store_prefix;
        if prefix.is_empty()
            || prefix.len() > MAX_PREFIX_LEN
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
        {
            bail!(
                "edge.rate_limit_store_prefix must be 1 to {MAX_PREFIX_LEN} characters of \
                 A-Z a-z 0-9 _ - . :, got {prefix:?}"
            );
        }
        Ok(Some(Self {
            url: raw.to_owned(),
            prefix: prefix.clone(),
            timeout: Duration::from_millis(timeout_ms),
        }))
    }

    /// The URL with its password masked (`redis://user:***@host:6379/0`).
    pub fn shown_url(&self) -> String {
        shown_url(&self.url)
    }

    /// The pub/sub channel of bans.
    pub fn ban_channel(&self) -> String {
        format!("{}:bans", self.prefix)
    }

    /// The URL itself, password included: only for the Redis client.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// A store URL as it may be shown: scheme, host, port and database; any
/// user information (user name or password: either may be a secret) as
/// `***`, and no query (the client reads passwords there too). A value that
/// does not parse as a URL is not shown at all.
fn shown_url(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw) else {
        return "(not a URL; not shown)".into();
    };
    let secret = !url.username().is_empty() || url.password().is_some();
    let mut shown = format!("{}://", url.scheme());
    if secret {
        shown += "***@";
    }
    if let Some(host) = url.host_str() {
        shown += host;
    }
    if let Some(port) = url.port() {
        shown += &format!(":{port}");
    }
    shown + url.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(store: &str) -> EdgeConfig {
        EdgeConfig {
            rate_limit_store: store.into(),
            ..EdgeConfig::default()
        }
    }

    #[test]
    fn the_store_setting_is_memory_or_a_redis_url() {
        assert_eq!(RedisSettings::from_config(&edge("memory")).unwrap(), None);
        let s = RedisSettings::from_config(&edge("redis://127.0.0.1:6379/2"))
            .unwrap()
            .unwrap();
        assert_eq!(s.prefix, "gamegate");
        assert_eq!(s.timeout, Duration::from_millis(100));
        assert_eq!(s.ban_channel(), "gamegate:bans");
        assert!(RedisSettings::from_config(&edge("redis://localhost")).is_ok());
        for bad in [
            "",
            "memcached",
            "http://127.0.0.1:6379",
            "redis://",
            "redis://h:6379/zero",
            "redis://h:6379/0?x=1",
            "redis://h:99999",
        ] {
            let e = RedisSettings::from_config(&edge(bad)).unwrap_err();
            assert!(
                e.to_string().contains("edge.rate_limit_store"),
                "{bad:?}: {e}"
            );
        }
        let e = RedisSettings::from_config(&edge("rediss://h:6379")).unwrap_err();
        assert!(e.to_string().contains("TLS"), "{e}");
        let mut c = edge("redis://h");
        c.rate_limit_store_timeout_ms = 0;
        assert!(RedisSettings::from_config(&c).is_err());
        c.rate_limit_store_timeout_ms = 5_001;
        assert!(RedisSettings::from_config(&c).is_err());
        c.rate_limit_store_timeout_ms = 5_000;
        for prefix in ["", "a b", "a{b}", &"x".repeat(65)] {
            c.rate_limit_store_prefix = prefix.into();
            assert!(RedisSettings::from_config(&c).is_err(), "{prefix:?}");
        }
        c.rate_limit_store_prefix = "prod-eu.1:gg_".into();
        assert!(RedisSettings::from_config(&c).is_ok());
    }

    #[test]
    fn the_password_of_the_store_never_shows() {
        let secret = "s3cr3t-pa55word";
        let c = edge(&format!("redis://gamegate:{secret}@10.0.0.5:6379/1"));
        let s = RedisSettings::from_config(&c).unwrap().unwrap();
        assert_eq!(s.shown_url(), "redis://***@10.0.0.5:6379/1");
        assert!(!format!("{s:?}").contains(secret));
        assert!(!format!("{c:?}").contains(secret), "{c:?}");
        // A user name alone, or a password in the query, is not shown either.
        for (url, shown) in [
            (
                format!("redis://{secret}@10.0.0.5:6379/0"),
                "redis://***@10.0.0.5:6379/0",
            ),
            (
                format!("redis://10.0.0.5:6379/0?password={secret}"),
                "redis://10.0.0.5:6379/0",
            ),
        ] {
            assert_eq!(super::shown_url(&url), shown);
        }
        // An invalid URL's error does not quote the password either.
        for bad in [
            format!("redis+unix:///x?pass={secret}"),
            format!("unix:///x?pass={secret}"),
            format!("redis://u:p@h:6379/0?password={secret}"),
            format!("redis://u:{secret}@h:6379/db"),
            format!("redis://u:{secret}@h:6379/0?x"),
            format!("rediss://u:{secret}@h:6379"),
            format!("redis://u:{secret}@:6379"),
        ] {
            let e = RedisSettings::from_config(&edge(&bad)).unwrap_err();
            assert!(!format!("{e:#}").contains(secret), "{e:#}");
        }
    }
}
