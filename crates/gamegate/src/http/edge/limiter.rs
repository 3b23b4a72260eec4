//! The per-client rate limiters of the edge (GCRA): one [`Limiter`] per
//! route group keyed by [`super::ClientKey`]'s address, and [`SiteLimits`],
//! one budget per site key.
//!
//! A [`Limiter`] keeps its state in process (`governor`), or — with
//! `edge.rate_limit_store = "redis://…"` — in Redis, shared by every
//! replica ([`RedisStore`]); its in-process limiter then answers only while
//! Redis does not (docs/EDGE.md#the-redis-store). [`SiteLimits`] uses the
//! same store, keyed by a fingerprint of each site key (never the key).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::redis_store::RedisStore;
use crate::config::{EdgeConfig, RedisSettings};

/// The seconds until a refused request may go again, for `Retry-After`:
/// rounded up, at least 1 (`Retry-After: 0` invites a busy loop).
fn retry_after_secs(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> u64 {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Where the limiters of one [`super::Edge`] keep their state
/// (`edge.rate_limit_store`).
#[derive(Debug, Clone)]
pub enum RateStore {
    /// Each process its own (`memory`).
    Memory,
    /// Shared through Redis, with the in-process limiter as the fallback.
    Redis(Arc<RedisStore>),
}

impl RateStore {
    /// From `edge.rate_limit_store` (validated; connects on first use).
    pub fn from_config(edge: &EdgeConfig) -> anyhow::Result<Self> {
        Ok(match RedisSettings::from_config(edge)? {
            None => Self::Memory,
            Some(settings) => Self::Redis(Arc::new(RedisStore::new(settings)?)),
        })
    }
}

/// One route's per-client limiter, keyed by [`ClientKey`](super::ClientKey)'s address.
pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    pub(super) burst: u32,
    checks: AtomicU64,
    shared: Option<Shared>,
}

/// A limiter's budget in the Redis store.
struct Shared {
    store: Arc<RedisStore>,
    /// The route group in the key (`register`, `status`, …).
    route: &'static str,
    /// `60 s / per_minute`, in microseconds.
    interval_us: u64,
}

/// Forgets idle clients every this many checks, so memory stays bounded.
const RETAIN_EVERY: u64 = 4096;

impl Limiter {
    /// An in-process limiter of `per_minute` requests per client and
    /// minute with `burst`; `None` when `per_minute` is 0 (off).
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst_nz)),
            burst: burst_nz.get(),
            checks: AtomicU64::new(0),
            shared: None,
        })
    }

    /// [`Limiter::new`] keeping its state in `store`, under the route group
    /// `route` (part of the Redis key: `{prefix}:rl:{route}:{client}`).
    pub fn with_store(
        store: &RateStore,
        route: &'static str,
        per_minute: u32,
        burst: u32,
    ) -> Option<Self> {
        let mut limiter = Self::new(per_minute, burst)?;
        if let RateStore::Redis(store) = store {
            limiter.shared = Some(Shared {
                store: store.clone(),
                route,
                interval_us: (60_000_000 / u64::from(per_minute)).max(1),
            });
        }
        Some(limiter)
    }

    /// The Redis store this limiter shares its budget through, if any.
    pub fn store(&self) -> Option<&Arc<RedisStore>> {
        self.shared.as_ref().map(|s| &s.store)
    }

    /// `Err(seconds to wait)` when `ip` is over its limit. `async`: a
    /// shared store (Redis) answers over the network; when it does not
    /// answer (down, late, failing), the in-process limiter does.
    pub async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if let Some(shared) = &self.shared
            && let Some(answer) = shared
                .store
                .check(shared.route, ip, shared.interval_us, self.burst)
                .await
        {
            return answer;
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&ip).map_err(retry_after_secs)
    }

    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

impl super::Edge {
    /// The Redis store of this edge's limiters (`None` with the `memory`
    /// store, or when every limit is off), for the metrics and the ban bus.
    pub fn rate_store(&self) -> Option<Arc<RedisStore>> {
        [
            &self.register_limit,
            &self.status_limit,
            &self.stats_limit,
            &self.predict_limit,
            &self.not_found_limit,
        ]
        .into_iter()
        .flatten()
        .find_map(|limiter| limiter.store().cloned())
    }
}

/// The aggregate limit of each site key (`edge.site_key_per_minute`): what a
/// leaked key can do, whatever players it names.
pub struct SiteLimits {
    per_key: Vec<DefaultDirectRateLimiter>,
    pub(super) burst: u32,
    /// With a Redis store: the store, the emission interval (µs) and each
    /// key's fingerprint, so every replica counts one budget per key.
    shared: Option<SharedSites>,
}

struct SharedSites {
    store: Arc<RedisStore>,
    interval_us: u64,
    fingerprints: Vec<String>,
}

/// A site key as it is named in Redis: the first 16 hex digits of its
/// SHA-256, so the store never holds a key and replicas with the same keys
/// in any order agree.
fn fingerprint(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl SiteLimits {
    /// `None` when `per_minute` is 0 (off) or there is no key.
    pub fn new(per_minute: u32, burst: u32, keys: &[String], store: &RateStore) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(rate).allow_burst(burst_nz);
        let shared = match store {
            RateStore::Memory => None,
            RateStore::Redis(store) => Some(SharedSites {
                store: store.clone(),
                interval_us: (60_000_000 / u64::from(per_minute)).max(1),
                fingerprints: keys.iter().map(|k| fingerprint(k)).collect(),
            }),
        };
        (!keys.is_empty()).then(|| Self {
            per_key: keys.iter().map(|_| RateLimiter::direct(quota)).collect(),
            burst: burst_nz.get(),
            shared,
        })
    }

    /// `Err(seconds to wait)` when key `index` is over its limit; requests
    /// without a valid key pass (the key check refuses them). With a Redis
    /// store the budget is shared by every replica; while Redis does not
    /// answer, this process's own budget answers.
    pub async fn check(&self, index: Option<usize>) -> Result<(), u64> {
        let Some((i, limiter)) = index.and_then(|i| self.per_key.get(i).map(|l| (i, l))) else {
            return Ok(());
        };
        if let Some(shared) = &self.shared
            && let Some(answer) = shared
                .store
                .check(
                    "site",
                    &shared.fingerprints[i],
                    shared.interval_us,
                    self.burst,
                )
                .await
        {
            return answer;
        }
        limiter.check().map_err(retry_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_site_key_has_one_budget_for_all_its_players() {
        let keys = [
            "first-key-0123456".to_owned(),
            "second-key-012345".to_owned(),
        ];
        let limits = SiteLimits::new(60, 3, &keys, &RateStore::Memory).unwrap();
        for _ in 0..3 {
            assert!(limits.check(Some(0)).await.is_ok());
        }
        assert!(limits.check(Some(0)).await.is_err());
        assert!(
            limits.check(Some(1)).await.is_ok(),
            "another key has its own"
        );
        assert!(
            limits.check(None).await.is_ok(),
            "no key: the key check refuses it"
        );
        assert!(
            SiteLimits::new(0, 3, &keys, &RateStore::Memory).is_none(),
            "0 per minute is off"
        );
        assert!(SiteLimits::new(60, 3, &[], &RateStore::Memory).is_none());
        assert_eq!(fingerprint(&keys[0]).len(), 16);
        assert_ne!(fingerprint(&keys[0]), fingerprint(&keys[1]));
        assert!(!fingerprint(&keys[0]).contains("key"));
    }

    #[tokio::test]
    async fn the_limiter_allows_the_burst_then_asks_to_wait() {
        let limiter = Limiter::new(60, 3).unwrap();
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).await.is_ok());
        }
        let wait = limiter.check(a).await.unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert!(
            limiter.check(b).await.is_ok(),
            "another client has its own budget"
        );
        assert_eq!(limiter.tracked(), 2);
        assert!(Limiter::new(0, 5).is_none(), "0 per minute is off");
    }
}
