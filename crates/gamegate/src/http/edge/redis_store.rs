//! The shared rate-limit store (`edge.rate_limit_store = "redis://…"`,
//! docs/EDGE.md#the-redis-store): the GCRA state of every client and route
//! lives in Redis, so replicas behind one load balancer share one budget, as
//! Kong's rate-limiting plugin does with its `redis` policy. Bans of the jail
//! are published on a channel of the same Redis.
//!
//! * **One atomic script per check** ([`GCRA_SCRIPT`]): the theoretical
//!   arrival time (TAT) of a client is read, compared and written in one
//!   `EVALSHA` (the `redis` crate's `Script` loads it when the server does not
//!   know it), with the server's own clock (`TIME`), so replicas' clocks do
//!   not matter. Key `{prefix}:rl:{route}:{client}`, expiring (`PX`) when the
//!   client's budget is full again, so idle clients vanish.
//! * **Failure policy**: every call is cut at `edge.rate_limit_store_timeout_ms`.
//!   A failed or late call marks the store down: the check is answered by
//!   the in-process limiter ([`super::Limiter`]'s own governor), counted in
//!   `gamegate_rate_limit_store_fallbacks_total`, logged once at warn. While
//!   down, at most one request per [`RETRY_DOWN_EVERY`] tries Redis again;
//!   the first that succeeds marks it up (logged once at info) and shared
//!   limits resume.
//! * **Bans** ([`RedisStore::run_ban_bus`]): a ban the jail makes is
//!   published on `{prefix}:bans`; every other replica subscribed there
//!   enforces it at once (the database stays the record, re-read every
//!   `edge.ban_sync_interval_ms`). The subscriber reconnects; malformed
//!   messages are ignored with a warning.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use futures_util::StreamExt;
use ipnet::IpNet;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::jail::{BanEvent, Jail};
use crate::app::metrics::{Metrics, Unlabelled};
use crate::config::RedisSettings;
use gamegate_store::unix_now;

/// While the store is down, one request at most this often tries it again;
/// the others are answered locally without touching the network.
pub const RETRY_DOWN_EVERY: Duration = Duration::from_millis(300);
/// Bans waiting to be published; more are dropped with a warning (the
/// database still carries them to the other replicas).
pub const BAN_OUTBOX: usize = 1_024;
/// A ban message longer than this is ignored.
const MAX_MESSAGE_BYTES: usize = 512;
/// The subscriber waits this long before connecting again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(500);
/// A ban message may not end later than this from now (`edge.ban_secs`'s
/// bound plus a day of clock skew).
const MAX_BAN_AHEAD_SECS: i64 = 367 * 86_400;

/// GCRA in one atomic step, in microseconds of the Redis server's clock.
///
/// `KEYS[1]` the client's key; `ARGV[1]` the emission interval (µs between
/// two requests at the sustained rate, `60 s / per_minute`); `ARGV[2]` the
/// burst. The stored value is the client's theoretical arrival time (TAT).
/// A request at `now` is allowed when `max(TAT, now) + interval - burst ×
/// interval <= now`; it then stores the new TAT, expiring when it is
/// reached (the budget is full again, the key is worth nothing). Returns
/// `{1, 0}` (allowed) or `{0, µs until allowed}` — the semantics of the
/// in-process governor limiter: `burst` requests at once, then one per
/// interval.
pub const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tau
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// A client for the store's URL; the error never quotes it (it may carry a
/// password).
fn client(settings: &RedisSettings) -> anyhow::Result<redis::Client> {
    redis::Client::open(settings.url())
        .map_err(|_| anyhow!("cannot use the Redis URL {}", settings.shown_url()))
}

/// The store's health as the checks see it.
const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// A Redis store shared by the limiters of one [`super::Edge`] (and its
/// jail's ban bus). Cheap per check: one read lock to clone the connection
/// handle, one script call.
pub struct RedisStore {
    settings: RedisSettings,
    client: redis::Client,
    script: redis::Script,
    /// Built on first use (it needs the runtime), dropped on failure so the
    /// next try connects afresh.
    conn: RwLock<Option<ConnectionManager>>,
    health: AtomicU8,
    /// While down: when (ms since `base`) the next try may go.
    retry_at_ms: AtomicU64,
    base: Instant,
    metrics: OnceLock<Arc<Metrics>>,
    /// Tells the ban subscriber to subscribe afresh after an outage.
    recovered: Notify,
    /// This process's name on the ban channel, so it ignores its own bans.
    origin: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a call to the store gave no answer (shown in the outage warning).
type Failure = String;

impl RedisStore {
    /// A store for `settings`; connects on first use.
    pub fn new(settings: RedisSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: client(&settings)?,
            settings,
            script: redis::Script::new(GCRA_SCRIPT),
            conn: RwLock::new(None),
            health: AtomicU8::new(UNKNOWN),
            retry_at_ms: AtomicU64::new(0),
            base: Instant::now(),
            metrics: OnceLock::new(),
            recovered: Notify::new(),
            origin: format!("{:016x}", rand::random::<u64>()),
        })
    }

    /// The settings (URL masked in `Debug`).
    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// Counts fallbacks and health in `metrics` from now on (the first call
    /// wins).
    pub fn attach_metrics(&self, metrics: Arc<Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// Whether the last call succeeded (`false` before the first).
    pub fn is_up(&self) -> bool {
        self.health.load(Ordering::Relaxed) == UP
    }

    /// The shared GCRA check of `client` on `route`: `Some(Ok(()))` allowed,
    /// `Some(Err(seconds))` refused (`Retry-After`, rounded up, ≥ 1), `None`
    /// when the store did not answer — the caller answers with its local
    /// limiter (counted as a fallback).
    pub async fn check(
        &self,
        route: &str,
        client: impl std::fmt::Display,
        interval_us: u64,
        burst: u32,
    ) -> Option<Result<(), u64>> {
        if self.health.load(Ordering::Relaxed) == DOWN {
            let now = self.now_ms();
            let at = self.retry_at_ms.load(Ordering::Relaxed);
            // One request per period tries Redis; the others stay local.
            if now < at
                || self
                    .retry_at_ms
                    .compare_exchange(
                        at,
                        now + RETRY_DOWN_EVERY.as_millis() as u64,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                self.fell_back();
                return None;
            }
        }
        match self.gcra(route, client, interval_us, burst).await {
            Ok(answer) => {
                self.mark_up();
                Some(answer)
            }
            Err(why) => {
                self.mark_down(&why);
                self.fell_back();
                None
            }
        }
    }

    /// The key of `client` (an address or network, or a site key's
    /// fingerprint) on `route`.
    pub fn key(&self, route: &str, client: impl std::fmt::Display) -> String {
        format!("{}:rl:{route}:{client}", self.settings.prefix)
    }

    async fn gcra(
        &self,
        route: &str,
        client: impl std::fmt::Display,
        interval_us: u64,
        burst: u32,
    ) -> Result<Result<(), u64>, Failure> {
        let mut conn = self.connection()?;
        let mut call = self.script.key(self.key(route, client));
        call.arg(interval_us).arg(burst);
        let (allowed, wait_us): (i64, i64) =
            match tokio::time::timeout(self.settings.timeout, call.invoke_async(&mut conn)).await {
                Err(_) => {
                    return Err(format!(
                        "no answer within {} ms",
                        self.settings.timeout.as_millis()
                    ));
                }
                Ok(Err(e)) => return Err(e.to_string()),
                Ok(Ok(answer)) => answer,
            };
        Ok(match allowed {
            1 => Ok(()),
            _ => Err(retry_after_secs(wait_us)),
        })
    }

    /// The connection handle, built on first use.
    fn connection(&self) -> Result<ConnectionManager, Failure> {
        if let Some(conn) = self
            .conn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Ok(conn.clone());
        }
        let mut slot = self.conn.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.settings.timeout))
            .set_response_timeout(Some(self.settings.timeout))
            // Retries are ours (RETRY_DOWN_EVERY), not a loop in the client.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| e.to_string())?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    fn fell_back(&self) {
        if let Some(metrics) = self.metrics.get() {
            metrics.rate_limit_store_fallbacks.inc();
        }
    }

    fn set_up_gauge(&self, up: bool) {
        if let Some(metrics) = self.metrics.get() {
            metrics
                .rate_limit_store_up
                .get_or_create(&Unlabelled)
                .set(i64::from(up));
        }
    }

    fn mark_up(&self) {
        let was = self.health.swap(UP, Ordering::Relaxed);
        if was == UP {
            return;
        }
        self.set_up_gauge(true);
        match was {
            DOWN => {
                tracing::info!(store = %self.settings.shown_url(), "rate-limit store reachable again: limits are shared again");
                self.recovered.notify_waiters();
            }
            _ => {
                tracing::info!(store = %self.settings.shown_url(), "rate-limit store connected: limits are shared")
            }
        }
    }

    fn mark_down(&self, why: &str) {
        self.retry_at_ms.store(
            self.now_ms() + RETRY_DOWN_EVERY.as_millis() as u64,
            Ordering::Relaxed,
        );
        // A fresh connection on the next try.
        *self.conn.write().unwrap_or_else(PoisonError::into_inner) = None;
        if self.health.swap(DOWN, Ordering::Relaxed) == DOWN {
            return;
        }
        self.set_up_gauge(false);
        tracing::warn!(
            store = %self.settings.shown_url(),
            error = %why,
            retry_ms = RETRY_DOWN_EVERY.as_millis() as u64,
            "rate-limit store unreachable: limits are per process until it answers again"
        );
    }

    /// Publishes the bans `outbox` receives (from [`Jail::publish_bans_to`])
    /// and enforces the bans other processes publish, until `shutdown`.
    pub async fn run_ban_bus(
        self: Arc<Self>,
        jail: Arc<Jail>,
        mut outbox: mpsc::Receiver<BanEvent>,
        shutdown: CancellationToken,
    ) {
        let publisher = {
            let store = self.clone();
            let shutdown = shutdown.clone();
            async move {
                loop {
                    let event = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        event = outbox.recv() => match event {
                            Some(event) => event,
                            None => return,
                        },
                    };
                    if let Err(e) = store.publish(&event).await {
                        tracing::warn!(
                            error = %e,
                            "cannot publish a ban to the rate-limit store; other processes read it from the database within edge.ban_sync_interval_ms"
                        );
                    }
                }
            }
        };
        tokio::join!(publisher, self.subscribe(jail, shutdown));
    }

    /// Publishes one ban event on the ban channel (a bounded call).
    pub async fn publish(&self, event: &BanEvent) -> Result<(), Failure> {
        let message = BanMessage::from_event(event, &self.origin);
        let payload = serde_json::to_string(&message).map_err(|e| e.to_string())?;
        let mut conn = self.connection()?;
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(self.settings.ban_channel()).arg(payload);
        let call = publish.query_async::<i64>(&mut conn);
        match tokio::time::timeout(self.settings.timeout.max(Duration::from_millis(500)), call)
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer in time".into()),
        }
    }

    async fn subscribe(&self, jail: Arc<Jail>, shutdown: CancellationToken) {
        let channel = self.settings.ban_channel();
        let patience = self.settings.timeout.max(Duration::from_millis(500));
        let mut failing = false;
        while !shutdown.is_cancelled() {
            let connected = tokio::time::timeout(patience, async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            })
            .await;
            match connected {
                Ok(Ok(pubsub)) => {
                    if failing {
                        tracing::info!(%channel, "subscribed to the ban channel again");
                        failing = false;
                    }
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            // After an outage the link may be a dead one.
                            _ = self.recovered.notified() => break,
                            message = messages.next() => match message {
                                Some(message) => self.receive(&jail, message.get_payload_bytes()).await,
                                None => break,
                            },
                        }
                    }
                }
                Ok(Err(e)) if !failing => {
                    failing = true;
                    tracing::warn!(%channel, error = %e, "cannot subscribe to the ban channel; retrying");
                }
                Err(_) if !failing => {
                    failing = true;
                    tracing::warn!(%channel, "cannot subscribe to the ban channel in time; retrying");
                }
                _ => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
            }
        }
    }

    /// Applies one message of the ban channel; anything malformed is
    /// ignored with a warning.
    async fn receive(&self, jail: &Jail, payload: &[u8]) {
        match BanMessage::parse(payload, unix_now()) {
            Ok(message) if message.origin == self.origin => {}
            Ok(message) => match message.event() {
                BanEvent::Ban { net, until } => jail.apply_remote_ban(net, until),
                BanEvent::Unban { net } => jail.lift_remote_ban(net).await,
            },
            Err(why) => {
                tracing::warn!(
                    why,
                    bytes = payload.len(),
                    "ignored a malformed message on the ban channel"
                )
            }
        }
    }
}

/// `Retry-After` from the script's wait: seconds rounded up, at least 1.
pub fn retry_after_secs(wait_us: i64) -> u64 {
    let wait_us = wait_us.max(0).unsigned_abs();
    wait_us.div_ceil(1_000_000).max(1)
}

/// Publishes one ban event once, outside a running process (`gamegate ban
/// add|remove`), within the store's timeout (at least 500 ms).
pub async fn publish_once(settings: &RedisSettings, event: &BanEvent) -> anyhow::Result<()> {
    let store = RedisStore::new(settings.clone())?;
    store
        .publish(event)
        .await
        .map_err(|e| anyhow!("cannot publish to {}: {e}", settings.shown_url()))
}

/// A message of the ban channel, as JSON:
/// `{"v":1,"origin":"…","op":"ban","net":"203.0.113.7/32","until":1764500000}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BanMessage {
    v: u8,
    origin: String,
    op: Op,
    net: String,
    /// Unix seconds; 0 for `unban`.
    #[serde(default)]
    until: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Ban,
    Unban,
}

impl BanMessage {
    fn from_event(event: &BanEvent, origin: &str) -> Self {
        let (op, net, until) = match *event {
            BanEvent::Ban { net, until } => (Op::Ban, net, until),
            BanEvent::Unban { net } => (Op::Unban, net, 0),
        };
        Self {
            v: 1,
            origin: origin.to_owned(),
            op,
            net: net.to_string(),
            until,
        }
    }

    /// A well-formed message: version 1, a network, and for a ban an end in
    /// the future no further than a ban can last.
    fn parse(payload: &[u8], now: i64) -> Result<Self, &'static str> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err("too long");
        }
        let message: Self = serde_json::from_slice(payload).map_err(|_| "not a ban message")?;
        if message.v != 1 {
            return Err("unknown version");
        }
        let net = message.net.parse::<IpNet>().map_err(|_| "not a network")?;
        // One form per network (host bits clear), and never wider than an
        // operator may ban: one message must not ban the world.
        let canonical = gamegate_store::bans::canonical_network(net);
        if canonical != net {
            return Err("not a canonical network");
        }
        if message.op == Op::Ban && !gamegate_store::bans::is_bannable(&canonical) {
            return Err("network too wide to ban");
        }
        if message.op == Op::Ban
            && (message.until <= now || message.until > now.saturating_add(MAX_BAN_AHEAD_SECS))
        {
            return Err("ban end out of range");
        }
        Ok(message)
    }

    fn event(&self) -> BanEvent {
        // Checked by `parse`.
        let net = self
            .net
            .parse::<IpNet>()
            .map(|n| n.trunc())
            .unwrap_or_default();
        match self.op {
            Op::Ban => BanEvent::Ban {
                net,
                until: self.until,
            },
            Op::Unban => BanEvent::Unban { net },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::config::EdgeConfig;

    fn edge(store: &str) -> EdgeConfig {
        EdgeConfig {
            rate_limit_store: store.into(),
            ..EdgeConfig::default()
        }
    }

    #[test]
    fn retry_after_is_rounded_up_and_at_least_one_second() {
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_000_000), 1);
        assert_eq!(retry_after_secs(1_000_001), 2);
        assert_eq!(retry_after_secs(5_999_999), 6);
        assert_eq!(retry_after_secs(-5), 1);
    }

    #[test]
    fn ban_messages_round_trip_and_malformed_ones_are_refused() {
        let now = 1_800_000_000;
        let net: IpNet = "2001:db8:1:2::/64".parse().unwrap();
        let m = BanMessage::from_event(
            &BanEvent::Ban {
                net,
                until: now + 60,
            },
            "abc",
        );
        let json = serde_json::to_vec(&m).unwrap();
        let back = BanMessage::parse(&json, now).unwrap();
        assert_eq!(back.origin, "abc");
        assert_eq!(
            back.event(),
            BanEvent::Ban {
                net,
                until: now + 60
            }
        );
        let unban =
            serde_json::to_vec(&BanMessage::from_event(&BanEvent::Unban { net }, "x")).unwrap();
        assert_eq!(
            BanMessage::parse(&unban, now).unwrap().event(),
            BanEvent::Unban { net }
        );
        for bad in [
            &b"not json"[..],
            br#"{"v":2,"origin":"a","op":"ban","net":"1.2.3.4/32","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/33","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/32","until":1799999999}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/32","until":9999999999}"#,
            br#"{"v":1,"origin":"a","op":"nuke","net":"1.2.3.4/32","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/32","until":1800000060,"x":1}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"0.0.0.0/0","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"::/0","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"2000::/3","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.0.0.0/7","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/0","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"1.2.3.4/24","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"ban","net":"\u0030.0.0.0/0","until":1800000060}"#,
        ] {
            assert!(
                BanMessage::parse(bad, now).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // As wide as an operator may ban, and a lifting of any network, pass.
        for ok in [
            br#"{"v":1,"origin":"a","op":"ban","net":"10.0.0.0/8","until":1800000060}"#.as_slice(),
            br#"{"v":1,"origin":"a","op":"ban","net":"2001::/16","until":1800000060}"#,
            br#"{"v":1,"origin":"a","op":"unban","net":"0.0.0.0/0"}"#,
        ] {
            assert!(
                BanMessage::parse(ok, now).is_ok(),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
        let long = format!(
            r#"{{"v":1,"origin":"{}","op":"unban","net":"1.2.3.4/32"}}"#,
            "a".repeat(600)
        );
        assert!(BanMessage::parse(long.as_bytes(), now).is_err());
    }

    /// The test Redis (`GAMEGATE_TEST_REDIS_URL`) with a prefix of its own;
    /// `None` (skipped, said) without it, a failure under `CI`.
    fn test_store(name: &str) -> Option<RedisStore> {
        let Ok(url) = std::env::var("GAMEGATE_TEST_REDIS_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "GAMEGATE_TEST_REDIS_URL is not set (CI runs these against a real Redis)"
            );
            eprintln!("SKIPPED {name}: GAMEGATE_TEST_REDIS_URL is not set");
            return None;
        };
        let mut c = edge(&url);
        c.rate_limit_store_prefix = format!(
            "test-unit-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        );
        c.rate_limit_store_timeout_ms = 1_000;
        let store = RedisStore::new(RedisSettings::from_config(&c).unwrap().unwrap()).unwrap();
        store.attach_metrics(Arc::new(Metrics::new()));
        Some(store)
    }

    fn client(n: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, n])
    }

    #[tokio::test]
    async fn the_script_allows_the_burst_then_refuses_with_retry_after() {
        let Some(store) = test_store("burst") else {
            return;
        };
        // 60 per minute: one per second; burst 3.
        for i in 0..3 {
            assert_eq!(
                store.check("status", client(1), 1_000_000, 3).await,
                Some(Ok(())),
                "request {i} of the burst"
            );
        }
        assert_eq!(
            store.check("status", client(1), 1_000_000, 3).await,
            Some(Err(1)),
            "the 4th waits the rest of one interval, rounded up to 1 s"
        );
        assert!(store.is_up());
        assert_eq!(
            store.check("status", client(2), 1_000_000, 3).await,
            Some(Ok(())),
            "another client has its own budget"
        );
        assert_eq!(
            store.check("register", client(1), 1_000_000, 3).await,
            Some(Ok(())),
            "another route has its own budget"
        );
        // The key expires when the budget is full again: 3 requests of one
        // second each, so at most 3 s (+1 ms).
        let mut conn = store.connection().unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(store.key("status", client(1)))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((2_000..=3_001).contains(&ttl), "PTTL {ttl}");
    }

    #[tokio::test]
    async fn the_script_refills_one_request_per_interval() {
        let Some(store) = test_store("refill") else {
            return;
        };
        // 600 per minute: one per 100 ms; burst 2.
        let check = || store.check("stats", client(3), 100_000, 2);
        assert_eq!(check().await, Some(Ok(())));
        assert_eq!(check().await, Some(Ok(())));
        assert_eq!(check().await, Some(Err(1)));
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(check().await, Some(Ok(())), "one more after an interval");
        assert_eq!(check().await, Some(Err(1)), "and only one");
        tokio::time::sleep(Duration::from_millis(320)).await;
        assert_eq!(check().await, Some(Ok(())), "the burst refilled (capped)");
        assert_eq!(check().await, Some(Ok(())));
        assert_eq!(check().await, Some(Err(1)), "but not beyond the burst");
    }

    #[tokio::test]
    async fn retry_after_is_the_wait_until_the_next_request_rounded_up() {
        let Some(store) = test_store("retry") else {
            return;
        };
        // 10 per minute: one per 6 s; burst 1.
        assert_eq!(
            store.check("register", client(4), 6_000_000, 1).await,
            Some(Ok(()))
        );
        assert_eq!(
            store.check("register", client(4), 6_000_000, 1).await,
            Some(Err(6))
        );
        // 7 per minute: 8.571428 s apart; burst 2, used up: wait ≤ 8.57 s → 9.
        let interval = 60_000_000 / 7;
        assert_eq!(
            store.check("predict", client(5), interval, 2).await,
            Some(Ok(()))
        );
        assert_eq!(
            store.check("predict", client(5), interval, 2).await,
            Some(Ok(()))
        );
        assert_eq!(
            store.check("predict", client(5), interval, 2).await,
            Some(Err(9))
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_falls_back_and_is_retried_sparingly() {
        // Nothing listens on port 1.
        let mut c = edge("redis://127.0.0.1:1");
        c.rate_limit_store_timeout_ms = 200;
        let store =
            Arc::new(RedisStore::new(RedisSettings::from_config(&c).unwrap().unwrap()).unwrap());
        let metrics = Arc::new(Metrics::new());
        store.attach_metrics(metrics.clone());
        let limiter = super::super::Limiter::with_store(
            &super::super::limiter::RateStore::Redis(store.clone()),
            "status",
            60,
            2,
        )
        .unwrap();
        let ip = client(6);
        assert!(limiter.check(ip).await.is_ok());
        assert!(!store.is_up());
        // Answered locally, without a new try within RETRY_DOWN_EVERY.
        let started = Instant::now();
        assert!(limiter.check(ip).await.is_ok());
        assert!(
            limiter.check(ip).await.is_err(),
            "the local burst of 2 is used up"
        );
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(metrics.rate_limit_store_fallbacks.get(), 3);
        assert_eq!(
            metrics.rate_limit_store_up.get_or_create(&Unlabelled).get(),
            0
        );
    }
}
