//! The ban jail (API.md §4, fail2ban built in): failures of a client IP are
//! counted in a sliding window; one over the threshold gets the IP banned, and
//! a banned IP gets `403 banned` with `Retry-After` on every public route.
//!
//! * The check runs on every request, so it is one read lock and one hash
//!   lookup, and reads no clock unless the address is in the ban list.
//! * Failures are counted per client as the rate limiter keys it
//!   ([`ClientKey`]: an IPv4 address, an IPv6 /`edge.ipv6_prefix`), for the
//!   client the edge judges ([`Client`]): the socket peer unless it is a
//!   trusted proxy, or the player a valid site key names. A spoofed
//!   `X-Forwarded-For` from anyone else changes nothing, so it can neither
//!   escape a ban nor get someone else banned.
//! * A ban covers that key's network: an IPv4 address, an IPv6 /64. Bans
//!   added by an operator may be any network (`gamegate ban add
//!   203.0.113.0/24`); the check looks the address up once per prefix length
//!   present in the ban list (one or two in practice).
//! * Addresses in `edge.ban_ignore` (loopback by default) are never banned,
//!   and a running ban that covers them is not enforced.
//! * Bans live in memory and in the `bans` table. A background task writes
//!   this process's new bans and re-reads the table every
//!   `edge.ban_sync_interval_ms`, so other processes' bans and
//!   `gamegate ban add|remove` take effect here, and bans survive a restart.
//!   A database that is down never fails a request: the ban holds in memory
//!   and is written when the database is back.
//! * With a Redis store (`edge.rate_limit_store`), a ban issued here is
//!   also published there at once, and bans published by other processes
//!   are enforced here at once ([`Jail::apply_remote_ban`],
//!   [`super::redis_store::RedisStore::run_ban_bus`]); the database sync
//!   stays the record and the path when Redis is down.
//! * Failures are counted by a bounded tracker ([`FailureWindows`]) whose
//!   eviction cannot be steered by forged addresses into forgetting a real
//!   offender cheaply, and never bans before the threshold.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use gamegate_domain::{ErrorCode, Lang};
use gamegate_store::{Database, StoreError};
use ipnet::IpNet;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::client_ip::{Client, ClientKey};
pub use super::failure_tracker::FailureWindows;
use crate::app::metrics::Metrics;
use crate::config::EdgeConfig;
use gamegate_store::unix_now;

/// At most this many bans are held (and read from the database) at once:
/// about 4 MiB. Far beyond what one game's edge sees; a warning says when
/// it is reached.
const MAX_BANS: usize = 100_000;

/// The failure windows keep at most this many timestamps in all (8 MiB), so
/// the number of IPs tracked at once is this divided by the threshold.
const FAILURE_TIMESTAMP_BUDGET: usize = 1_000_000;

/// At least this many IPs are tracked whatever the threshold.
const MIN_TRACKED_IPS: usize = 1_024;

/// How many clients the failure tracker holds for `threshold`: 50,000 at the
/// default 20, 1,024 at the highest threshold.
pub(super) fn tracker_capacity(threshold: usize) -> usize {
    (FAILURE_TIMESTAMP_BUDGET / threshold.max(1)).max(MIN_TRACKED_IPS)
}

/// Expired rows are deleted from the database at most this often; every
/// process does it, so it need not be frequent.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// What the jail counts and how long it bans, from `[edge]`.
#[derive(Debug, Clone)]
pub struct JailSettings {
    pub counted: Vec<ErrorCode>,
    pub threshold: u32,
    pub window_secs: u64,
    pub ban_secs: u64,
    pub sync_interval: Duration,
    /// `edge.ipv6_prefix`: how much of an IPv6 network a ban covers.
    pub ipv6_prefix: u8,
    /// `edge.ban_ignore`: never banned.
    pub ignore: Vec<IpNet>,
}

impl JailSettings {
    /// `None` when `edge.ban_enabled` is off.
    pub fn from_config(edge: &EdgeConfig) -> anyhow::Result<Option<Self>> {
        if !edge.ban_enabled {
            return Ok(None);
        }
        Ok(Some(Self {
            counted: edge.ban_on.clone(),
            threshold: edge.ban_threshold,
            window_secs: edge.ban_window_secs,
            ban_secs: edge.ban_secs,
            sync_interval: Duration::from_millis(edge.ban_sync_interval_ms),
            ipv6_prefix: edge.ipv6_prefix,
            ignore: edge.ban_ignore.clone(),
        }))
    }
}

/// The running bans, by network, and the prefix lengths present in them per
/// address family, so a lookup is one hash probe per length.
#[derive(Debug, Default)]
struct BanList {
    by_net: HashMap<IpNet, i64>,
    v4_lens: Vec<u8>,
    v6_lens: Vec<u8>,
}

impl BanList {
    fn len(&self) -> usize {
        self.by_net.len()
    }

    fn contains(&self, net: &IpNet) -> bool {
        self.by_net.contains_key(net)
    }

    /// Bans `net` until `until`, or longer if it already is.
    fn insert(&mut self, net: IpNet, until: i64) {
        let lens = match net {
            IpNet::V4(_) => &mut self.v4_lens,
            IpNet::V6(_) => &mut self.v6_lens,
        };
        if !lens.contains(&net.prefix_len()) {
            lens.push(net.prefix_len());
        }
        let entry = self.by_net.entry(net).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn remove(&mut self, net: &IpNet) -> bool {
        self.by_net.remove(net).is_some()
    }

    fn retain_running(&mut self, now: i64) {
        self.by_net.retain(|_, &mut until| until > now);
    }

    /// The end of the longest ban covering `ip`.
    fn until(&self, ip: IpAddr) -> Option<i64> {
        let lens = match ip {
            IpAddr::V4(_) => &self.v4_lens,
            IpAddr::V6(_) => &self.v6_lens,
        };
        lens.iter()
            .filter_map(|&len| {
                let net = IpNet::new(ip, len).ok()?.trunc();
                self.by_net.get(&net).copied()
            })
            .max()
    }

    /// Up to `limit` running bans, longest first.
    fn longest(&self, limit: usize) -> Vec<(IpNet, i64)> {
        let mut all: Vec<(IpNet, i64)> = self.by_net.iter().map(|(n, t)| (*n, *t)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(limit);
        all
    }
}

/// A ban issued here that is not in the database yet.
#[derive(Debug, Clone)]
struct UnwrittenBan {
    until: i64,
    issued_at: i64,
    reason: String,
}

/// A ban or its lifting, as processes tell each other through the Redis
/// store's ban channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanEvent {
    /// `net` is banned until `until` (Unix seconds).
    Ban { net: IpNet, until: i64 },
    /// The ban of `net` is lifted.
    Unban { net: IpNet },
}

/// The reason stored for a ban another process published.
const REMOTE_REASON: &str = "banned by another process (rate-limit store)";

/// The jail of one process. Cheap to share: the middleware and the sync task
/// hold the same `Arc`.
pub struct Jail {
    settings: JailSettings,
    pub(super) lang: Lang,
    db: Database,
    pub(super) metrics: Arc<Metrics>,
    /// Banned network → banned until (Unix seconds).
    bans: RwLock<BanList>,
    failures: Mutex<FailureWindows>,
    unwritten: Mutex<HashMap<IpNet, UnwrittenBan>>,
    /// Wakes the sync task to write a new ban at once.
    ban_issued: Notify,
    /// Where new bans are published (a Redis store's ban bus), if anywhere.
    bus: OnceLock<mpsc::Sender<BanEvent>>,
}

impl Jail {
    /// Builds the jail with the bans stored in `db` (a restart keeps them).
    pub async fn restore(
        settings: JailSettings,
        lang: Lang,
        db: Database,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let jail = Arc::new(Self {
            failures: Mutex::new(FailureWindows::new(
                settings.threshold,
                settings.window_secs,
            )),
            settings,
            lang,
            db,
            metrics,
            bans: RwLock::new(BanList::default()),
            unwritten: Mutex::new(HashMap::new()),
            ban_issued: Notify::new(),
            bus: OnceLock::new(),
        });
        jail.reload().await?;
        Ok(jail)
    }

    /// One line for the start-up banner.
    pub fn describe(&self) -> String {
        let counted: Vec<&str> = self.settings.counted.iter().map(|c| c.as_str()).collect();
        format!(
            "{} failures ({}) within {} s ban a client (IPv4 address, IPv6 /{}) for {} s; {} ban(s) running",
            self.settings.threshold,
            counted.join(", "),
            self.settings.window_secs,
            self.settings.ipv6_prefix,
            self.settings.ban_secs,
            read(&self.bans).len()
        )
    }

    /// Up to `limit` running bans, longest first: network and end (Unix
    /// seconds). For the start-up banner.
    pub fn running_bans(&self, limit: usize) -> Vec<(IpNet, i64)> {
        let now = unix_now();
        let mut bans = read(&self.bans).longest(limit);
        bans.retain(|&(_, until)| until > now);
        bans
    }

    /// How many bans are running (held in memory).
    pub fn running_count(&self) -> usize {
        read(&self.bans).len()
    }

    /// Whether `ip` is in `edge.ban_ignore`.
    pub fn ignores(&self, ip: IpAddr) -> bool {
        self.settings.ignore.iter().any(|net| net.contains(&ip))
    }

    /// Seconds left of the longest ban covering `ip` (at least 1), or `None`
    /// when none does or `ip` is in `edge.ban_ignore`.
    pub fn remaining_ban_secs(&self, ip: IpAddr) -> Option<u64> {
        let until = read(&self.bans).until(ip)?;
        if self.ignores(ip) {
            return None;
        }
        let left = until - unix_now();
        (left > 0).then(|| left.unsigned_abs())
    }

    /// Whether `code` counts as a failure.
    pub fn counts(&self, code: ErrorCode) -> bool {
        self.settings.counted.contains(&code)
    }

    /// [`Jail::record_failure`] for a bare address: a request that did not
    /// even parse carries no key and no header to believe.
    pub fn record_failure_of_address(&self, ip: IpAddr, code: ErrorCode) {
        let client = Client {
            ip,
            key: ClientKey::new(ip, self.settings.ipv6_prefix),
            site_key: None,
        };
        self.record_failure(&client, code);
    }

    /// Counts a failure of `client` by its key; bans the key's network when
    /// that crosses the threshold. Clients in `edge.ban_ignore` are not
    /// counted.
    pub fn record_failure(&self, client: &Client, code: ErrorCode) {
        if self.ignores(client.ip) {
            return;
        }
        let now = unix_now();
        if lock(&self.failures).record(client.key.0, now) {
            let reason = format!(
                "{} failures within {} s, the last {}",
                self.settings.threshold,
                self.settings.window_secs,
                code.as_str()
            );
            self.ban(self.network_of(client.key), now, reason);
        }
    }

    /// The network a ban of `key` covers.
    fn network_of(&self, key: ClientKey) -> IpNet {
        key.network(self.settings.ipv6_prefix)
    }

    /// Bans `net` from `now` for `ban_secs`: in memory at once, in the
    /// database by the sync task.
    fn ban(&self, net: IpNet, now: i64, reason: String) {
        let until = now.saturating_add(i64::try_from(self.settings.ban_secs).unwrap_or(i64::MAX));
        if !self.enforce(net, until, now) {
            tracing::error!(client = %net, max = MAX_BANS, "ban list full; not banned");
            return;
        }
        tracing::warn!(client = %net, banned_until = until, %reason, "client banned");
        self.metrics.jail_bans_issued.inc();
        if let Some(bus) = self.bus.get()
            && bus.try_send(BanEvent::Ban { net, until }).is_err()
        {
            tracing::warn!(client = %net, "ban not published: the outbox is full; other processes read it from the database");
        }
        self.hold_unwritten(net, until, now, reason);
        self.ban_issued.notify_one();
    }

    /// Puts `net` in the running bans until `until`, making room by
    /// forgetting expired bans first; `false` when the list is full
    /// ([`MAX_BANS`]) and `net` is not in it already.
    fn enforce(&self, net: IpNet, until: i64, now: i64) -> bool {
        let mut bans = write(&self.bans);
        if bans.len() >= MAX_BANS {
            bans.retain_running(now);
        }
        if bans.len() >= MAX_BANS && !bans.contains(&net) {
            return false;
        }
        bans.insert(net, until);
        self.metrics.jail_active_bans.set(bans.len() as i64);
        true
    }

    /// Publishes the bans issued here to `bus` from now on (the first call
    /// wins).
    pub fn publish_bans_to(&self, bus: mpsc::Sender<BanEvent>) {
        let _ = self.bus.set(bus);
    }

    /// Enforces a ban another process published (until Unix seconds
    /// `until`), and writes it to this process's database (a no-op when the
    /// processes share one) so a restart keeps it.
    pub fn apply_remote_ban(&self, net: IpNet, until: i64) {
        let now = unix_now();
        if until <= now {
            return;
        }
        if !self.enforce(net, until, now) {
            tracing::error!(client = %net, max = MAX_BANS, "ban list full; a published ban is not enforced");
            return;
        }
        tracing::info!(client = %net, banned_until = until, "client banned by another process");
        self.hold_unwritten(net, until, now, REMOTE_REASON.to_owned());
        self.ban_issued.notify_one();
    }

    /// Lifts the ban of `net` another process (`gamegate ban remove`)
    /// published: from memory at once, and from this process's database.
    pub async fn lift_remote_ban(&self, net: IpNet) {
        let removed = {
            let mut bans = write(&self.bans);
            let removed = bans.remove(&net);
            self.metrics.jail_active_bans.set(bans.len() as i64);
            removed
        };
        lock(&self.unwritten).remove(&net);
        if let Err(e) = self.db.bans().remove(net).await {
            tracing::debug!(error = %e, "cannot remove a lifted ban from the database");
        }
        if removed {
            tracing::info!(client = %net, "ban lifted by another process");
        }
    }

    /// Keeps a ban until the sync task has written it.
    fn hold_unwritten(&self, net: IpNet, until: i64, now: i64, reason: String) {
        {
            let mut unwritten = lock(&self.unwritten);
            // Bounded like the ban list; a ban that is not written still holds
            // here until it ends.
            if unwritten.len() < MAX_BANS || unwritten.contains_key(&net) {
                unwritten.insert(
                    net,
                    UnwrittenBan {
                        until,
                        issued_at: now,
                        reason,
                    },
                );
            }
        }
    }

    /// Writes this process's new bans and re-reads the table until
    /// `shutdown`; a last write on the way out.
    pub async fn run_sync(self: Arc<Self>, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.settings.sync_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate, and `restore` has just read the table.
        ticker.tick().await;
        let mut last_purge: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.write_new_bans().await;
                    break;
                }
                _ = self.ban_issued.notified() => self.write_new_bans().await,
                _ = ticker.tick() => {
                    self.write_new_bans().await;
                    if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                        match self.db.bans().purge_expired(unix_now()).await {
                            Ok(_) => last_purge = Some(Instant::now()),
                            Err(e) => tracing::debug!(error = %e, "cannot purge expired bans"),
                        }
                    }
                    if let Err(e) = self.reload().await {
                        tracing::warn!(error = %e, "cannot read bans from the database; keeping the ones in memory");
                        let now = unix_now();
                        let mut bans = write(&self.bans);
                        bans.retain_running(now);
                        self.metrics.jail_active_bans.set(bans.len() as i64);
                    }
                    let (evicted, capacity) = {
                        let mut failures = lock(&self.failures);
                        failures.prune_idle(unix_now());
                        (failures.take_evicted(), failures.capacity())
                    };
                    if evicted > 0 {
                        self.metrics.jail_tracker_evicted.inc_by(evicted);
                        tracing::warn!(
                            evicted,
                            capacity,
                            "failure tracker full: the least active clients were dropped to make room"
                        );
                    }
                }
            }
        }
    }

    /// Writes the bans issued here that the table does not have yet. Stops at
    /// the first error (the database is likely down); they are retried later.
    async fn write_new_bans(&self) {
        let pending: Vec<(IpNet, UnwrittenBan)> = lock(&self.unwritten)
            .iter()
            .map(|(net, ban)| (*net, ban.clone()))
            .collect();
        for (net, ban) in pending {
            match self
                .db
                .bans()
                .upsert(net, ban.until, &ban.reason, ban.issued_at)
                .await
            {
                Ok(()) => {
                    let mut unwritten = lock(&self.unwritten);
                    // Unless a longer ban of the same network arrived meanwhile.
                    if unwritten.get(&net).is_some_and(|b| b.until == ban.until) {
                        unwritten.remove(&net);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write a ban to the database; it holds in memory and is retried");
                    return;
                }
            }
        }
    }

    /// Replaces the ban list with the table's running bans plus the bans
    /// issued here that are not written yet (so none is lost in between).
    async fn reload(&self) -> Result<(), StoreError> {
        let now = unix_now();
        let stored = self.db.bans().active(now, MAX_BANS as u64).await?;
        if stored.len() >= MAX_BANS {
            tracing::warn!(
                max = MAX_BANS,
                "the bans table has more running bans than are held in memory; the longest are kept"
            );
        }
        let mut fresh = BanList::default();
        for ban in stored {
            fresh.insert(ban.net, ban.banned_until);
        }
        for (net, ban) in lock(&self.unwritten).iter() {
            if ban.until > now {
                fresh.insert(*net, ban.until);
            }
        }
        let count = fresh.len();
        *write(&self.bans) = fresh;
        self.metrics.jail_active_bans.set(count as i64);
        Ok(())
    }

    #[cfg(test)]
    fn ban_in_memory(&self, net: IpNet, until: i64) {
        write(&self.bans).insert(net, until);
    }
}

// A panic while a lock is held cannot leave these maps inconsistent (every
// update is one insert or one swap), so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    async fn test_jail(threshold: u32) -> (tempfile::TempDir, Arc<Jail>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("j.db").display());
        let db = Database::connect(&url, &Default::default()).await.unwrap();
        db.migrate(gamegate_store::MigrationSet::Accounts)
            .await
            .unwrap();
        let mut settings = JailSettings::from_config(&EdgeConfig::default())
            .unwrap()
            .unwrap();
        settings.threshold = threshold;
        let jail = Jail::restore(settings, Lang::En, db, Arc::new(Metrics::new()))
            .await
            .unwrap();
        (dir, jail)
    }

    /// The jail itself (lock, tracker, ban list) with 100,000 forged failing
    /// addresses already counted: a new offender is banned at its
    /// threshold-th failure, and 10,000 further failures take well under
    /// 100 ms of jail time (a generous bound: a debug build does it in a few).
    async fn a_full_jail_still_bans_and_stays_fast(threshold: u32) {
        let (_dir, jail) = test_jail(threshold).await;
        let forged = |i: u32| IpAddr::from((0x0a00_0000 + i).to_be_bytes());
        for i in 0..100_000u32 {
            for _ in 0..(1 + i % 3).min(threshold - 1) {
                jail.record_failure_of_address(forged(i), ErrorCode::InvalidApiKey);
            }
        }
        assert_eq!(
            read(&jail.bans).len(),
            0,
            "no forged address reached the threshold"
        );
        let offender = ip("203.0.113.77");
        for n in 1..=threshold {
            assert!(
                jail.remaining_ban_secs(offender).is_none(),
                "before failure {n}"
            );
            jail.record_failure_of_address(offender, ErrorCode::InvalidApiKey);
            // More forged addresses, two failures each, in between.
            for i in 0..200 {
                let a = forged(200_000 + n * 1_000 + i);
                jail.record_failure_of_address(a, ErrorCode::RateLimited);
                jail.record_failure_of_address(a, ErrorCode::RateLimited);
            }
        }
        assert!(
            jail.remaining_ban_secs(offender).is_some(),
            "banned at failure {threshold}"
        );

        // The fastest of five rounds: a shared, busy test machine may stall
        // any one of them, not all.
        let took = (0..5u32)
            .map(|round| {
                let started = Instant::now();
                for i in 0..10_000u32 {
                    // Half new addresses (an eviction each), half repeat offenders.
                    let key = match i % 2 {
                        0 => forged(1_000_000 + round * 10_000 + i),
                        _ => forged(2_000_000 + i % 64),
                    };
                    jail.record_failure_of_address(key, ErrorCode::InvalidApiKey);
                }
                started.elapsed()
            })
            .min()
            .unwrap();
        assert!(
            took < Duration::from_millis(100),
            "10,000 failures took {took:?}"
        );
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn a_ban_covers_its_network_and_lookups_probe_each_length_once() {
        let mut bans = BanList::default();
        bans.insert(net("2001:db8:1:2::/64"), 100);
        bans.insert(net("198.51.100.7/32"), 200);
        bans.insert(net("203.0.113.0/24"), 300);
        bans.insert(net("2001:db8:1:2::/64"), 50);
        assert_eq!(
            bans.until(ip("2001:db8:1:2::1")),
            Some(100),
            "only extended"
        );
        assert_eq!(bans.until(ip("2001:db8:1:2:ffff::9")), Some(100));
        assert_eq!(bans.until(ip("2001:db8:1:3::1")), None);
        assert_eq!(bans.until(ip("198.51.100.7")), Some(200));
        assert_eq!(bans.until(ip("198.51.100.8")), None);
        assert_eq!(bans.until(ip("203.0.113.250")), Some(300));
        bans.insert(net("198.51.100.0/24"), 400);
        assert_eq!(bans.until(ip("198.51.100.7")), Some(400), "the longest");
        assert_eq!((bans.v4_lens.len(), bans.v6_lens.len()), (2, 1));
        assert_eq!(
            bans.longest(2),
            vec![(net("198.51.100.0/24"), 400), (net("203.0.113.0/24"), 300)]
        );
        bans.retain_running(250);
        assert_eq!(bans.len(), 2);
        assert_eq!(bans.until(ip("2001:db8:1:2::1")), None);
    }

    #[tokio::test]
    async fn with_100_000_forged_addresses_a_new_offender_is_banned_at_20_failures_quickly() {
        a_full_jail_still_bans_and_stays_fast(20).await;
    }

    #[tokio::test]
    async fn with_100_000_forged_addresses_a_threshold_of_50_holds_too() {
        a_full_jail_still_bans_and_stays_fast(50).await;
    }

    /// The cost of the check on every request, with no bans and with many.
    /// `cargo test -p gamegate --lib jail::tests::the_check_is_cheap -- --ignored --nocapture`
    /// (numbers from a debug build are an upper bound).
    #[tokio::test]
    #[ignore = "a measurement, not a check"]
    async fn the_check_is_cheap() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("j.db").display());
        let db = Database::connect(&url, &Default::default()).await.unwrap();
        db.migrate(gamegate_store::MigrationSet::Accounts)
            .await
            .unwrap();
        let settings = JailSettings::from_config(&EdgeConfig::default())
            .unwrap()
            .unwrap();
        let jail = Jail::restore(settings, Lang::En, db, Arc::new(Metrics::new()))
            .await
            .unwrap();
        let probe = ip("203.0.113.200");
        let rounds = 2_000_000u32;
        for bans in [0u32, 10_000] {
            for i in 0..bans {
                jail.ban_in_memory(IpNet::from(IpAddr::from(i.to_be_bytes())), i64::MAX);
            }
            let started = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(jail.remaining_ban_secs(std::hint::black_box(probe)));
            }
            let ns = started.elapsed().as_nanos() as f64 / f64::from(rounds);
            println!("jail check, {bans} bans, address not banned: {ns:.1} ns");
        }
        jail.ban_in_memory(IpNet::from(probe), i64::MAX);
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(jail.remaining_ban_secs(std::hint::black_box(probe)));
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(rounds);
        println!("jail check, address banned (reads the clock): {ns:.1} ns");
    }
}
