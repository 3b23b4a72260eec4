//! Every public route limited (docs/EDGE.md#limits-of-every-public-route),
//! over real sockets: the public statistics, `/ml/predict` and unknown paths
//! answer 429 past their per-IP budgets on `gamegate all` and on
//! `serve stats`; a statistics query past `analytics.query_timeout_ms` is a
//! JSON 503; and an access log that must shed load keeps every line fail2ban
//! reads.

use std::time::Duration;

use gamegate::Config;
use gamegate::startup::Mode;
use gamegate_store::{Database, MigrationSet};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    Backend, TEST_API_KEY, assert_error, fresh_database, player, spawn_app_with, start_mode,
    test_config,
};
use gamegate::config::networks;

const WRONG_KEY: &str = "wrong-key-0123456789abcdef";

/// Small budgets that do not refill during a test (one per minute).
fn small_limits(c: &mut Config) {
    c.edge.stats_per_minute = 1;
    c.edge.stats_burst = 3;
    c.edge.predict_per_minute = 1;
    c.edge.predict_burst = 2;
    c.edge.not_found_per_minute = 1;
    c.edge.not_found_burst = 4;
}

async fn get(
    http: &reqwest::Client,
    url: String,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = http.get(url);
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.expect("request sent")
}

async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// A 429 in the limiter's shape: JSON `rate_limited`, `Retry-After` and the
/// `RateLimit-*` headers naming the burst.
async fn assert_limited(response: reqwest::Response, burst: u32, what: &str) {
    let headers = response.headers().clone();
    let (status, body) = status_and_json(response).await;
    assert_error(status, &body, 429, "rate_limited");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "{what}: one per minute, next slot within 60 s, got {retry_after}"
    );
    assert_eq!(
        headers["ratelimit-limit"],
        burst.to_string().as_str(),
        "{what}"
    );
    assert_eq!(headers["ratelimit-remaining"], "0", "{what}");
    assert_eq!(
        headers["ratelimit-reset"].to_str().unwrap(),
        retry_after.to_string(),
        "{what}"
    );
}

/// The statistics routes (one budget), `/ml/predict` and unknown paths of
/// one listener at `base`, for the client `forwarded_for` names (or the
/// test's own address): each answers until its burst is spent, then 429.
async fn every_public_route_is_limited(http: &reqwest::Client, base: &str, client: Option<&str>) {
    let url = |path: &str| format!("{base}{path}");
    // One budget of 3 for every public statistics route.
    assert_eq!(
        get(http, url("/stats/summary?days=366"), client)
            .await
            .status(),
        200
    );
    assert_eq!(
        get(http, url("/stats/leaderboard"), client).await.status(),
        200
    );
    let (status, body) =
        status_and_json(get(http, url("/stats/players/Nobody_1"), client).await).await;
    assert_error(status, &body, 404, "not_found");
    for path in [
        "/stats/summary?days=366",
        "/stats/leaderboard?limit=100",
        "/stats/players/Nobody_1",
    ] {
        assert_limited(get(http, url(path), client).await, 3, path).await;
    }

    // /ml/predict: its own budget of 2.
    let predict = "/ml/predict?team_a=alice_1&team_b=bob_2";
    for _ in 0..2 {
        assert_eq!(get(http, url(predict), client).await.status(), 200);
    }
    assert_limited(get(http, url(predict), client).await, 2, predict).await;

    // Unknown paths: a budget of 4, shared by every unknown path.
    for i in 0..4 {
        let (status, body) =
            status_and_json(get(http, url(&format!("/no/such/{i}")), client).await).await;
        assert_error(status, &body, 404, "not_found");
    }
    for path in ["/no/such/5", "/api/unknown", "/stats"] {
        assert_limited(get(http, url(path), client).await, 4, path).await;
    }
}

#[tokio::test]
async fn gamegate_all_limits_statistics_predictions_and_unknown_paths_per_client() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_limits(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1/32"]).unwrap();
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.addr);
    let a = Some("198.51.100.1");
    every_public_route_is_limited(&app.http, &base, a).await;

    // The spent budgets are the statistics', not the client's: its other
    // routes answer.
    assert_eq!(get(&app.http, app.url("/health"), a).await.status(), 200);
    assert_eq!(
        get(&app.http, app.url("/api/server/status"), a)
            .await
            .status(),
        200
    );
    let response = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", TEST_API_KEY)
        .header("x-forwarded-for", "198.51.100.1")
        .json(&player("Limit_01", 11))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Another client (another forwarded address) has budgets of its own;
    // so does an IPv6 one.
    every_public_route_is_limited(&app.http, &base, Some("198.51.100.2")).await;
    every_public_route_is_limited(&app.http, &base, Some("2001:db8::5")).await;

    // The admin listener (private; the dashboard reads the statistics from
    // it) is not limited.
    for _ in 0..6 {
        assert_eq!(
            get(&app.http, app.admin_url("/stats/summary"), None)
                .await
                .status(),
            200
        );
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"route="unmatched",method="GET",status="429""#),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn serve_stats_limits_its_public_statistics_and_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database.url = fresh_database(Backend::Sqlite, &dir).await.unwrap();
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.services.stats_addr = "127.0.0.1:0".parse().unwrap();
    small_limits(&mut config);
    let app = start_mode(config, Mode::Stats).await;
    let base = format!("http://{}", app.service());
    let http = reqwest::Client::new();

    // No trusted proxy: the socket peer is the client, whatever it claims.
    every_public_route_is_limited(&http, &base, None).await;
    assert_limited(
        get(&http, format!("{base}/stats/summary"), Some("198.51.100.9")).await,
        3,
        "a spoofed X-Forwarded-For from an untrusted peer",
    )
    .await;
    // Health, metrics and the token-protected ingestion are not limited.
    for path in ["/internal/health", "/metrics", "/internal/health"] {
        assert_eq!(
            get(&http, format!("{base}{path}"), None).await.status(),
            200,
            "{path}"
        );
    }
    let response = http
        .post(format!("{base}/stats/battles"))
        .header("authorization", "Bearer nope")
        .json(&serde_json::json!([]))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_error(status, &body, 403, "invalid_api_key");
    app.stop().await;
}

/// An analytics database with `battles` synthetic battles, for queries that
/// have something to scan.
async fn seeded_analytics(dir: &tempfile::TempDir, battles: usize) -> String {
    let url = format!("sqlite://{}", dir.path().join("seeded.db").display());
    let db = Database::connect(&url, &Default::default()).await.unwrap();
    db.migrate(MigrationSet::Analytics).await.unwrap();
    assert!(
        gamegate::app::battle_import::seed_if_empty(&db, 300, battles)
            .await
            .unwrap()
    );
    db.close().await;
    url
}

#[tokio::test]
async fn a_statistics_query_past_its_timeout_is_a_json_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let analytics = seeded_analytics(&dir, 4_000).await;

    // With the default timeout the year-long summary answers.
    let app = spawn_app_with(Backend::Sqlite, |c| c.analytics.url = analytics.clone())
        .await
        .unwrap();
    let (status, body) = app.get_json(app.url("/stats/summary?days=366")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["battles"], 4_000);
    app.stop().await;

    // With 1 ms, its four scans over 4,000 battles cannot finish: a clear
    // JSON 503, not a hung request nor an empty answer.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.analytics.url = analytics.clone();
        c.analytics.query_timeout_ms = 1;
    })
    .await
    .unwrap();
    for url in [
        app.url("/stats/summary?days=366"),
        app.admin_url("/stats/summary?days=366"),
    ] {
        let response = app.http.get(url).send().await.unwrap();
        assert_eq!(response.headers()["retry-after"], "5");
        let (status, body) = status_and_json(response).await;
        assert_error(status, &body, 503, "request_timeout");
    }
    // Registration does not share that bound.
    let (status, body) = app.register(player("Timely_1", 12)).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn one_client_flooding_the_summary_gets_429s_while_players_register() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.stats_per_minute = 60;
        c.edge.stats_burst = 5;
        c.edge.trusted_proxies = networks(&["127.0.0.1/32"]).unwrap();
        // The flood is the point here, not the ban that would end it.
        c.edge.ban_enabled = false;
    })
    .await
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let flood_started = std::time::Instant::now();
    let floods: Vec<_> = (0..4)
        .map(|_| {
            let (http, url, stop) = (
                app.http.clone(),
                app.url("/stats/summary?days=366"),
                stop.clone(),
            );
            tokio::spawn(async move {
                let (mut ok, mut limited) = (0u32, 0u32);
                while !stop.is_cancelled() {
                    match get(&http, url.clone(), Some("203.0.113.66"))
                        .await
                        .status()
                        .as_u16()
                    {
                        200 => ok += 1,
                        429 => limited += 1,
                        other => panic!("the flood got {other}"),
                    }
                }
                (ok, limited)
            })
        })
        .collect();
    for i in 0..20 {
        let started = std::time::Instant::now();
        let response = app
            .http
            .post(app.url("/api/register"))
            .header("x-api-key", TEST_API_KEY)
            .header("x-forwarded-for", format!("198.51.100.{}", 10 + i))
            .json(&player(&format!("Flood_{i:02}"), 100 + i))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "registration {i} took {:?} during the flood",
            started.elapsed()
        );
    }
    stop.cancel();
    let (mut ok, mut limited) = (0, 0);
    for flood in floods {
        let (o, l) = flood.await.unwrap();
        ok += o;
        limited += l;
    }
    // 60 a minute: one more each second after the burst.
    let refilled = flood_started.elapsed().as_secs() as u32 + 1;
    assert!(
        ok <= 5 + refilled,
        "the burst of 5 and the {refilled} refilled meanwhile: {ok}"
    );
    assert!(
        limited > ok,
        "the flood was answered with 429s: {limited} vs {ok}"
    );
    assert_eq!(app.db_logins().await.len(), 20);
    app.stop().await;
}

#[tokio::test]
async fn a_404_flood_sheds_noise_but_keeps_every_bad_key_line_in_the_access_log() {
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("access.log");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.log.access_log = log_path.display().to_string();
        // 4 KiB per 100 ms: a flood from this test overruns it.
        c.log.access_log_buffer_bytes = 4096;
        // Only the log is under test: neither limits nor bans end the flood.
        c.edge.ban_enabled = false;
    })
    .await
    .unwrap();

    let stop = tokio_util::sync::CancellationToken::new();
    let floods: Vec<_> = (0..6)
        .map(|f| {
            let (http, base, stop) = (app.http.clone(), app.url(""), stop.clone());
            tokio::spawn(async move {
                let mut sent = 0u32;
                while !stop.is_cancelled() {
                    let response = get(&http, format!("{base}/flood/{f}/{sent}"), None).await;
                    assert_eq!(response.status(), 404);
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    // Bad-key requests among the flood, each with its own User-Agent.
    let bad_keys = 120;
    for i in 0..bad_keys {
        let response = app
            .http
            .post(app.url("/api/register"))
            .header("x-api-key", WRONG_KEY)
            .header("user-agent", format!("bad-key-{i}"))
            .json(&player("Bad_Key_1", 13))
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_error(status, &body, 403, "invalid_api_key");
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    stop.cancel();
    let mut flooded = 0;
    for flood in floods {
        flooded += flood.await.unwrap();
    }
    // Every line is in the buffer before its answer is sent; the writer
    // takes it within 100 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every bad-key line is written (the writer flushes every 100 ms).
    let mut missing = Vec::new();
    for _ in 0..50 {
        let log = std::fs::read_to_string(&log_path).unwrap();
        missing = (0..bad_keys)
            .filter(|i| {
                !log.lines().any(|l| {
                    l.contains("\"POST /api/register HTTP/1.1\" 403 ")
                        && l.contains(&format!("\"bad-key-{i}\""))
                })
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(missing.is_empty(), "bad-key lines missing: {missing:?}");

    // The flood did overrun the buffer: 404 lines were shed, and counted.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let written_404 = log.lines().filter(|l| l.contains("\" 404 ")).count();
    assert!(written_404 > 0, "some 404 lines are written");
    let metrics = app.metrics_text().await;
    let dropped = |class: &str| -> u64 {
        let prefix = format!("gamegate_access_log_dropped_lines_total{{class=\"{class}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    assert!(
        dropped("routine") > 0,
        "{flooded} 404s through a 4 KiB buffer shed some: {metrics}"
    );
    assert_eq!(
        written_404 as u64 + dropped("routine"),
        u64::from(flooded),
        "every 404 is either written or counted as dropped"
    );
    assert_eq!(dropped("api_refusal"), 0);
    app.stop().await;
}

/// A wrong-key registration from the client a trusted proxy names.
async fn bad_key_as(app: &crate::support::TestApp, client: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", WRONG_KEY)
        .header("x-forwarded-for", client)
        .json(&player("Forged_1", 14))
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn a_jail_full_of_forged_addresses_still_bans_a_new_offender_through_a_trusted_proxy() {
    // The highest threshold has the smallest tracker (1,024 clients), so a
    // test can overfill it over HTTP.
    let threshold = 1_000;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.trusted_proxies = networks(&["127.0.0.1/32"]).unwrap();
        c.edge.ban_threshold = threshold;
        c.edge.ban_window_secs = 600;
        c.edge.ban_sync_interval_ms = 100;
    })
    .await
    .unwrap();
    let app = std::sync::Arc::new(app);
    // 1,500 forged addresses with two failures each, from 8 connections.
    let forgers: Vec<_> = (0..8u32)
        .map(|f| {
            let app = app.clone();
            tokio::spawn(async move {
                for i in (f..1_500).step_by(8) {
                    let client = format!("10.{}.{}.{}", 100 + i / 65_536, (i / 256) % 256, i % 256);
                    for _ in 0..2 {
                        let (status, body) = bad_key_as(&app, &client).await;
                        assert_error(status, &body, 403, "invalid_api_key");
                    }
                }
            })
        })
        .collect();
    for forger in forgers {
        forger.await.unwrap();
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("gamegate_jail_bans_issued_total 0"),
        "no forged address was banned: {metrics}"
    );

    // A new offender, with more forged failures between its own: refused for
    // its key up to its threshold-th failure, banned from the next request.
    let offender = "203.0.113.88";
    for n in 1..=threshold {
        let (status, body) = bad_key_as(&app, offender).await;
        assert_error(status, &body, 403, "invalid_api_key");
        if n % 100 == 0 {
            for i in 0..20u32 {
                let client = format!("10.200.{}.{}", n / 100, i);
                bad_key_as(&app, &client).await;
                bad_key_as(&app, &client).await;
            }
        }
    }
    let (status, body) = bad_key_as(&app, offender).await;
    assert_error(status, &body, 403, "banned");
    // The drops that made room are counted (by the jail's background task).
    app.eventually("evictions counted", Duration::from_secs(5), || async {
        let metrics = app.metrics_text().await;
        metrics.lines().any(|l| {
            l.strip_prefix("gamegate_jail_tracker_evicted_total ")
                .is_some_and(|n| n.trim().parse::<u64>().unwrap() >= 1_500 - 1_024)
        })
    })
    .await;
    let app = std::sync::Arc::into_inner(app).expect("every forger is done");
    app.stop().await;
}
