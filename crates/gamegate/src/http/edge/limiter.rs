//! The per-client rate limiters of the edge (GCRA, by `governor`): one
//! [`Limiter`] per route group keyed by [`super::ClientKey`]'s address, and
//! [`SiteLimits`], one budget per site key.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The seconds until a refused request may go again, for `Retry-After`:
/// rounded up, at least 1 (`Retry-After: 0` invites a busy loop).
fn retry_after_secs(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> u64 {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// One route's per-client limiter, keyed by [`ClientKey`](super::ClientKey)'s address.
pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    pub(super) burst: u32,
    checks: AtomicU64,
}

/// Forgets idle clients every this many checks, so memory stays bounded.
const RETAIN_EVERY: u64 = 4096;

impl Limiter {
    /// `None` when `per_minute` is 0 (off).
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst_nz)),
            burst: burst_nz.get(),
            checks: AtomicU64::new(0),
        })
    }

    /// `Err(seconds to wait)` when `ip` is over its limit. `async`: a
    /// shared store (Redis) answers over the network.
    pub async fn check(&self, ip: IpAddr) -> Result<(), u64> {
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

/// The aggregate limit of each site key (`edge.site_key_per_minute`): what a
/// leaked key can do, whatever players it names.
pub struct SiteLimits {
    per_key: Vec<DefaultDirectRateLimiter>,
    pub(super) burst: u32,
}

impl SiteLimits {
    /// `None` when `per_minute` is 0 (off) or there is no key.
    pub fn new(per_minute: u32, burst: u32, keys: usize) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(rate).allow_burst(burst_nz);
        (keys > 0).then(|| Self {
            per_key: (0..keys).map(|_| RateLimiter::direct(quota)).collect(),
            burst: burst_nz.get(),
        })
    }

    /// `Err(seconds to wait)` when key `index` is over its limit; requests
    /// without a valid key pass (the key check refuses them).
    pub fn check(&self, index: Option<usize>) -> Result<(), u64> {
        let Some(limiter) = index.and_then(|i| self.per_key.get(i)) else {
            return Ok(());
        };
        limiter.check().map_err(retry_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_key_has_one_budget_for_all_its_players() {
        let limits = SiteLimits::new(60, 3, 2).unwrap();
        for _ in 0..3 {
            assert!(limits.check(Some(0)).is_ok());
        }
        assert!(limits.check(Some(0)).is_err());
        assert!(limits.check(Some(1)).is_ok(), "another key has its own");
        assert!(
            limits.check(None).is_ok(),
            "no key: the key check refuses it"
        );
        assert!(SiteLimits::new(0, 3, 2).is_none(), "0 per minute is off");
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
