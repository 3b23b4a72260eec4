//! The admin dashboard's HTTP side: the page and its files only on the admin
//! listener (and on `serve stats`), with the strict CSP; and
//! `GET /stats/ratings/histogram` against the leaderboard's ratings, on every
//! backend (its SQL is the part that differs by backend). The browser draws
//! the charts in tests/browser.rs.

use gamegate::http::dashboard::{CHART_JS_PATH, CONTENT_SECURITY_POLICY};
use gamegate::startup::Mode;
use gamegate_analytics::synth::{self, SynthConfig};
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, CONTENT_TYPE};
use serde_json::Value;

use crate::support::{
    Backend, TestApp, assert_error, fresh_database, spawn_app, spawn_app_with, start_mode,
    test_config,
};

crate::backend_tests!(routes => Sqlite:
    the_dashboard_is_served_only_on_the_admin_listener_with_a_strict_csp,
    serve_stats_serves_the_dashboard,
);

crate::on_every_backend!(
    the_rating_histogram_bins_every_rated_player,
    the_rating_histogram_is_empty_without_battles_and_checks_its_parameters,
);

const TOKEN: &str = "dashboard-ingest-token-0123456789";

const ASSETS: [(&str, &str); 4] = [
    ("/admin/dashboard", "text/html"),
    ("/admin/dashboard/dashboard.js", "text/javascript"),
    ("/admin/dashboard/dashboard.css", "text/css"),
    (CHART_JS_PATH, "text/javascript"),
];

async fn the_dashboard_is_served_only_on_the_admin_listener_with_a_strict_csp(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (path, content_type) in ASSETS {
        let r = app.http.get(app.admin_url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} on the admin listener");
        let served_type = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(
            served_type.starts_with(content_type),
            "{path}: {served_type}"
        );
        assert_eq!(r.headers()[CSP], CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        // The chart library's address carries its version: cached for a
        // year; the page and its own files are revalidated.
        let cache = r.headers()[CACHE_CONTROL].to_str().unwrap().to_owned();
        if path == CHART_JS_PATH {
            assert_eq!(cache, "private, max-age=31536000, immutable", "{path}");
        } else {
            assert_eq!(cache, "no-cache", "{path}");
        }
        let body = r.text().await.unwrap();
        if path == CHART_JS_PATH {
            assert!(
                body.contains("Chart.js v") && body.len() > 100_000,
                "{path}"
            );
        }
        if path == "/admin/dashboard" {
            // Only same-origin files, and no inline script or style for the
            // CSP to block.
            assert!(!body.contains("http://") && !body.contains("https://"));
            assert!(!body.contains("style="), "inline style");
            assert_eq!(
                body.matches("<script").count(),
                body.matches("<script src=\"/admin/dashboard/").count(),
                "every script is a file of the dashboard"
            );
        }

        let (status, body) = app.get_json(app.url(path)).await;
        assert_error(status, &body, 404, "not_found");
    }
    let (status, body) = app.get_json(app.url("/stats/ratings/histogram")).await;
    assert_error(status, &body, 404, "not_found");
    app.stop().await;
}

async fn serve_stats_serves_the_dashboard(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, &dir).await else {
        return;
    };
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.services.stats_addr = "127.0.0.1:0".parse().unwrap();
    let app = start_mode(config, Mode::Stats).await;
    let addr = app.service();
    let http = reqwest::Client::new();
    for (path, _) in ASSETS {
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "serve stats serves {path}");
        assert_eq!(r.headers()[CSP], CONTENT_SECURITY_POLICY);
    }
    app.stop().await;
}

/// The app with its analytics tables on the backend under test and an
/// ingestion token.
async fn spawn_analytics(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| {
        c.analytics.url = c.database.url.clone();
        c.analytics.ingest_tokens = vec![TOKEN.into()];
    })
    .await
}

async fn histogram(app: &TestApp, query: &str) -> (reqwest::StatusCode, Value) {
    app.get_json(app.admin_url(&format!("/stats/ratings/histogram{query}")))
        .await
}

async fn the_rating_histogram_bins_every_rated_player(backend: Backend) {
    let Some(app) = spawn_analytics(backend).await else {
        return;
    };
    let (battles, _) = synth::generate(&SynthConfig {
        players: 40,
        battles: 400,
        seed: 7,
        ..SynthConfig::default()
    });
    let response = app
        .http
        .post(app.admin_url("/stats/battles"))
        .bearer_auth(TOKEN)
        .json(&battles)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["inserted"], 400, "{body}");

    // The oracle: every rated player's conservative rating from the
    // leaderboard (a different query), binned here by arithmetic.
    let (status, board) = app
        .get_json(app.url("/stats/leaderboard?mode=pvp&limit=100&min_battles=1"))
        .await;
    assert_eq!(status, 200, "{board}");
    let scores: Vec<f64> = board["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rating"]["conservative"].as_f64().unwrap())
        .collect();
    assert!(scores.len() >= 30, "most of the 40 players played PvP");
    let low = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let high = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);

    for bins in [1usize, 7, 20] {
        let (status, h) = histogram(&app, &format!("?bins={bins}")).await;
        assert_eq!(status, 200, "{h}");
        assert_eq!(h["players"], scores.len(), "{h}");
        assert!((h["min"].as_f64().unwrap() - low).abs() < 1e-9, "{h}");
        assert!((h["max"].as_f64().unwrap() - high).abs() < 1e-9, "{h}");
        let width = (high - low) / bins as f64;
        let mut expected = vec![0u64; bins];
        for s in &scores {
            expected[(((s - low) / width) as usize).min(bins - 1)] += 1;
        }
        let got: Vec<u64> = h["bins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["players"].as_u64().unwrap())
            .collect();
        assert_eq!(got, expected, "bins={bins}: {h}");
        let first = &h["bins"][0];
        assert!((first["from"].as_f64().unwrap() - low).abs() < 1e-9);
        let last = &h["bins"][bins - 1];
        assert!((last["to"].as_f64().unwrap() - high).abs() < 1e-6, "{h}");
    }

    // A higher bar leaves out players with fewer PvP battles.
    let (_, few) = histogram(&app, "?min_battles=1000").await;
    assert_eq!(few["players"], 0, "{few}");
    app.stop().await;
}

async fn the_rating_histogram_is_empty_without_battles_and_checks_its_parameters(backend: Backend) {
    let Some(app) = spawn_analytics(backend).await else {
        return;
    };
    let (status, h) = histogram(&app, "").await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["players"], 0);
    assert_eq!(h["bins"], serde_json::json!([]));
    assert_eq!(h["min"], Value::Null);

    for query in [
        "?bins=0",
        "?bins=101",
        "?bins=x",
        "?min_battles=-1",
        "?colour=red",
    ] {
        let (status, body) = histogram(&app, query).await;
        assert_error(status, &body, 422, "validation_error");
    }
    app.stop().await;
}
