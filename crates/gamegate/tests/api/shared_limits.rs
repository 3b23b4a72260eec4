//! Rate limits and bans shared by `gamegate all` replicas through Redis
//! (`edge.rate_limit_store`, docs/EDGE.md#the-redis-store), over real
//! sockets: three replicas, each with its own SQLite database, one Redis
//! (`GAMEGATE_TEST_REDIS_URL`) under a key prefix of the test's own.
//!
//! Clients are named by `X-Forwarded-For` from loopback (a trusted proxy
//! here), so each test has fresh clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gamegate::Config;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::{Backend, TEST_API_KEY, TestApp, player, spawn_app_with};

const REDIS_ENV: &str = "GAMEGATE_TEST_REDIS_URL";

/// The test Redis, or `None` (said) without one; under `CI` its absence
/// fails the test.
fn redis_url() -> Option<String> {
    match std::env::var(REDIS_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{REDIS_ENV} is not set, but CI must run the shared-limits suite (see .ci/run)")
        }
        _ => {
            eprintln!("SKIPPED: {REDIS_ENV} is not set (CI sets it; see .ci/run)");
            None
        }
    }
}

/// A key prefix no other test (or run) uses.
fn unique_prefix(test: &str) -> String {
    format!(
        "gg-test-{test}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// One replica on `store` under `prefix`: status limited to `per_minute`
/// with `burst`; clients named by `X-Forwarded-For` from loopback.
async fn replica(
    store: &str,
    prefix: &str,
    per_minute: u32,
    burst: u32,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let store = store.to_owned();
    let prefix = prefix.to_owned();
    spawn_app_with(Backend::Sqlite, move |c| {
        c.edge.rate_limit_store = store.into();
        c.edge.rate_limit_store_prefix = prefix;
        c.edge.rate_limit_store_timeout_ms = 200;
        c.edge.status_per_minute = per_minute;
        c.edge.status_burst = burst;
        c.edge.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        // Dozens of 429s would ban the client (the ban test turns it back on).
        c.edge.ban_enabled = false;
        tweak(c);
    })
    .await
    .expect("SQLite always runs")
}

/// `GET /api/server/status` as `client`: the status and `Retry-After`.
async fn status_as(app: &TestApp, client: &str) -> (StatusCode, Option<u64>) {
    let response = app
        .http
        .get(app.url("/api/server/status"))
        .header("x-forwarded-for", client)
        .send()
        .await
        .expect("request sent");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (response.status(), retry_after)
}

/// Sends `n` requests of `client` round-robin over `apps`, `pace` apart;
/// returns how many were allowed and the time from the first to the last.
/// Every refusal must be a 429 with `Retry-After` ≥ 1; nothing else.
async fn spread(apps: &[&TestApp], client: &str, n: usize, pace: Duration) -> (usize, Duration) {
    let started = Instant::now();
    let mut allowed = 0;
    for i in 0..n {
        if i > 0 {
            tokio::time::sleep(pace).await;
        }
        match status_as(apps[i % apps.len()], client).await {
            (StatusCode::OK, _) => allowed += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(secs)) if secs >= 1 => {}
            other => panic!("request {i} of {client}: {other:?}"),
        }
    }
    (allowed, started.elapsed())
}

/// A number from one replica's `/metrics` (0 when the series is absent).
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.metrics_text().await;
    text.lines()
        .find_map(|line| {
            let (series, value) = line.split_once(' ')?;
            // An unlabelled family is written `name{} value`.
            (series.trim_end_matches("{}") == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn three_replicas_share_one_budget_per_client() {
    let Some(url) = redis_url() else {
        return;
    };
    let prefix = unique_prefix("share");
    // 60 per minute: one more request per second; burst 10.
    let (per_minute, burst) = (60, 10);
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(replica(&url, &prefix, per_minute, burst, |_| {}).await);
    }
    let all: Vec<&TestApp> = apps.iter().collect();
    // 100 requests over about 3 s: 10 + 3 allowed in all, not 3 × that.
    let (allowed, elapsed) = spread(&all, "203.0.113.10", 100, Duration::from_millis(30)).await;
    let refilled = (elapsed.as_secs_f64() * f64::from(per_minute) / 60.0).floor() as usize;
    let expected = burst as usize + refilled;
    assert!(
        allowed.abs_diff(expected) <= 1,
        "{allowed} allowed in {elapsed:?} across three replicas; expected {expected} ± 1 \
         (burst {burst} + {refilled} refilled), not up to {}",
        3 * expected
    );
    // Each replica saw the store up and never fell back.
    for app in &apps {
        assert_eq!(metric(app, "gamegate_rate_limit_store_up").await, 1.0);
        assert_eq!(
            metric(app, "gamegate_rate_limit_store_fallbacks_total").await,
            0.0
        );
    }
    // The same setting with `memory`: each replica its own budget (the
    // contrast that makes the number above mean something).
    let mut local = Vec::new();
    for _ in 0..3 {
        local.push(replica("memory", &prefix, per_minute, burst, |_| {}).await);
    }
    let all: Vec<&TestApp> = local.iter().collect();
    let (allowed_locally, _) = spread(&all, "203.0.113.11", 60, Duration::ZERO).await;
    assert!(
        allowed_locally >= 3 * burst as usize,
        "memory store: {allowed_locally}"
    );
    for app in apps.into_iter().chain(local) {
        app.stop().await;
    }
}

/// A TCP proxy to Redis the test cuts: down, it stops carrying bytes and
/// holds every connection silent (the worst case: calls time out rather
/// than fail at once); up again, held connections are reset and new ones
/// carried.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    piped: Arc<AtomicUsize>,
    accept_loop: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, state) = watch::channel(true);
        let piped = Arc::new(AtomicUsize::new(0));
        let counted = piped.clone();
        let accept_loop = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(pipe(client, upstream.clone(), state.clone()));
            }
        });
        Self {
            addr,
            up,
            piped,
            accept_loop,
        }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn pipe(mut client: TcpStream, upstream: String, mut state: watch::Receiver<bool>) {
    if !*state.borrow() {
        // Silent until up, then reset.
        let _ = state.wait_for(|up| *up).await;
        let _ = client.set_zero_linger();
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        _ = state.wait_for(|up| !*up) => true,
    };
    if cut {
        let _ = state.wait_for(|up| *up).await;
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

fn through(url: &str, proxy: SocketAddr) -> (String, String) {
    let mut parsed = url::Url::parse(url).unwrap();
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(6379)
    );
    parsed.set_host(Some(&proxy.ip().to_string())).unwrap();
    parsed.set_port(Some(proxy.port())).unwrap();
    (parsed.to_string(), upstream)
}

#[tokio::test]
async fn a_cut_redis_link_falls_back_to_local_limits_and_shared_limits_resume() {
    let Some(url) = redis_url() else {
        return;
    };
    let upstream = through(&url, "127.0.0.1:1".parse().unwrap()).1;
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through(&url, proxy.addr);
    let prefix = unique_prefix("cut");
    // 6 per minute (one per 10 s): nothing refills during a phase; burst 5.
    let burst = 5;
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(replica(&proxied, &prefix, 6, burst, |_| {}).await);
    }
    let all: Vec<&TestApp> = apps.iter().collect();

    // Shared: 5 in all.
    let (allowed, _) = spread(&all, "203.0.113.20", 15, Duration::ZERO).await;
    assert_eq!(allowed, burst as usize, "shared before the cut");
    assert!(proxy.piped.load(Ordering::SeqCst) >= 3, "through the proxy");

    proxy.cut();
    // Served under each replica's local limit: 5 answers, then 429 — not a
    // 500, not unlimited — and quickly (one call waits the 200 ms timeout;
    // the rest are answered locally).
    let started = Instant::now();
    let (allowed, _) = spread(
        &apps[..1].iter().collect::<Vec<_>>(),
        "203.0.113.21",
        12,
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        allowed, burst as usize,
        "the local burst while Redis is cut"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?} for 12 requests with Redis cut",
        started.elapsed()
    );
    let fallbacks = metric(&apps[0], "gamegate_rate_limit_store_fallbacks_total").await;
    assert!(fallbacks >= 12.0, "fallbacks counted: {fallbacks}");
    assert_eq!(metric(&apps[0], "gamegate_rate_limit_store_up").await, 0.0);

    proxy.restore();
    // Each replica finds Redis again at its next try (≤ 300 ms apart).
    for (i, app) in apps.iter().enumerate() {
        let started = Instant::now();
        loop {
            let _ = status_as(app, &format!("198.51.100.{}", 100 + i)).await;
            if metric(app, "gamegate_rate_limit_store_up").await == 1.0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "replica {i} did not find Redis again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Shared again: a fresh client gets 5 in all.
    let (allowed, _) = spread(&all, "203.0.113.22", 15, Duration::ZERO).await;
    assert_eq!(allowed, burst as usize, "shared after the link is back");
    drop(proxy);
    for app in apps {
        app.stop().await;
    }
}

#[tokio::test]
async fn a_ban_on_one_replica_is_enforced_by_the_others_within_a_second() {
    let Some(url) = redis_url() else {
        return;
    };
    let prefix = unique_prefix("ban");
    let jail = |c: &mut Config| {
        c.edge.ban_enabled = true;
        c.edge.ban_ignore.clear();
        c.edge.ban_threshold = 3;
        c.edge.ban_window_secs = 60;
        c.edge.ban_secs = 600;
        // The database sync is not what carries it here: each replica has
        // its own database, re-read every 10 minutes.
        c.edge.ban_sync_interval_ms = 600_000;
    };
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(replica(&url, &prefix, 1_000, 1_000, jail).await);
    }
    // Every replica subscribed before the ban.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("{prefix}:bans");
    let started = Instant::now();
    loop {
        let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async::<Vec<(String, i64)>>(&mut conn)
            .await
            .unwrap()
            .remove(0);
        if subscribers == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{subscribers} subscribed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Three wrong keys on replica 0 ban 203.0.113.30 there.
    let offender = "203.0.113.30";
    for _ in 0..3 {
        let response = apps[0]
            .http
            .post(apps[0].url("/api/register"))
            .header("x-forwarded-for", offender)
            .header("x-api-key", "wrong-key-0123456789abcdef")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let (status, _) = status_as(&apps[0], offender).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "banned where it failed");
    let banned_at = Instant::now();
    // The others refuse it within 1 s.
    for (i, app) in apps.iter().enumerate().skip(1) {
        loop {
            let (status, retry_after) = status_as(app, offender).await;
            if status == StatusCode::FORBIDDEN {
                assert!(retry_after.is_some_and(|s| s > 500), "{retry_after:?}");
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                banned_at.elapsed() < Duration::from_secs(1),
                "replica {i} still serves the banned client after {:?}",
                banned_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let propagated = banned_at.elapsed();
    // Another client is still served everywhere.
    for app in &apps {
        assert_eq!(status_as(app, "203.0.113.31").await.0, StatusCode::OK);
    }
    // Lifting it (`gamegate ban remove` on replica 0's database) is published
    // too: every replica serves the client again within 1 s.
    let said = gamegate::commands::ban::run(
        &apps[0].config,
        gamegate::commands::ban::BanCommand::Remove {
            ip: offender.into(),
        },
    )
    .await
    .unwrap();
    assert!(said.contains("published"), "{said}");
    let lifted_at = Instant::now();
    for (i, app) in apps.iter().enumerate() {
        loop {
            let (status, _) = status_as(app, offender).await;
            if status == StatusCode::OK {
                break;
            }
            assert!(
                lifted_at.elapsed() < Duration::from_secs(1),
                "replica {i} still refuses after the ban was lifted"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!("ban propagated to two replicas in {propagated:?}");
    for app in apps {
        app.stop().await;
    }
}

/// Registers 12 players through the site's key, round-robin over `apps`,
/// each named by its own `X-Player-IP`; the status codes.
async fn register_through_the_site(apps: &[TestApp], tag: &str) -> Vec<u16> {
    let mut codes = Vec::new();
    for i in 0..12usize {
        let app = &apps[i % apps.len()];
        let response = app
            .http
            .post(app.url("/api/register"))
            .header("x-api-key", TEST_API_KEY)
            .header("x-player-ip", format!("192.0.2.{}", i + 1))
            .json(&player(&format!("{tag}_{i:02}"), 7_100 + i as i64))
            .send()
            .await
            .expect("request sent");
        codes.push(response.status().as_u16());
    }
    codes
}

#[tokio::test]
async fn a_site_key_has_one_budget_across_replicas() {
    let Some(url) = redis_url() else {
        return;
    };
    // One per minute after a burst of 4: nothing refills during the test.
    let site_budget = |c: &mut Config| {
        c.edge.site_key_per_minute = 1;
        c.edge.site_key_burst = 4;
    };
    let prefix = unique_prefix("site");
    let mut shared = Vec::new();
    for _ in 0..3 {
        shared.push(replica(&url, &prefix, 600, 100, site_budget).await);
    }
    let codes = register_through_the_site(&shared, "Site").await;
    assert!(codes.iter().all(|&c| c == 200 || c == 429), "{codes:?}");
    assert_eq!(
        codes.iter().filter(|&&c| c == 200).count(),
        4,
        "one budget of 4 for the key across three replicas: {codes:?}"
    );
    for app in shared {
        app.stop().await;
    }
    // Each process its own budget with the memory store: three times that.
    let mut local = Vec::new();
    for _ in 0..3 {
        local.push(replica("memory", "unused", 600, 100, site_budget).await);
    }
    let codes = register_through_the_site(&local, "Mem").await;
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 12, "{codes:?}");
    for app in local {
        app.stop().await;
    }
}
