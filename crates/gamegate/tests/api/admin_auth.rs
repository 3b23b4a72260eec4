//! Operator authentication (`admin.tokens`): with tokens configured, the
//! operator routes of the admin listener of `gamegate all` and of `serve
//! stats` (`serve status` for `/metrics`) refuse a request without a valid
//! token — 401 `unauthorized` with a Basic challenge, so a browser asks —
//! and accept one as `Authorization: Bearer` or as the password of HTTP
//! Basic; health, the public statistics and battle ingestion stay as they
//! were. Without tokens everything is open as before.

use base64::Engine as _;
use gamegate::config::Config;
use gamegate::http::admin_auth::CHALLENGE;
use gamegate::startup::Mode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::support::{
    Backend, Started, assert_error, fresh_database, spawn_app, spawn_app_with, start_mode,
    test_config,
};

const OPERATOR: &str = "operator-token-0123456789abcdef";
/// A second configured token: either one opens the routes.
const DEPUTY: &str = "deputy-operator-token-fedcba9876";
const INGEST: &str = "ingest-token-for-admin-auth-0001";

/// The operator routes, each answering 200 once let in (the dashboard's own
/// data included).
const GUARDED: [&str; 10] = [
    "/admin/dashboard",
    "/admin/dashboard/dashboard.js",
    "/admin/dashboard/dashboard.css",
    "/admin/dashboard/vendor/chart.js-4.6.1/chart.umd.min.js",
    "/admin/dashboard/history.json",
    "/stats/ratings/histogram",
    "/stats/registrations",
    "/stats/top-telegram",
    "/ml/anomalies",
    "/metrics",
];

/// Never guarded, on the same listener.
const OPEN: [&str; 4] = [
    "/internal/health",
    "/stats/leaderboard",
    "/stats/summary",
    "/ml/predict?team_a=alice&team_b=bob_2",
];

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn get(http: &reqwest::Client, url: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = http.get(url);
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.send().await.unwrap()
}

/// [`get`], asked again (for up to 10 s) while it answers 503:
/// `/ml/anomalies` does until the anomaly cache's first pass, which a loaded
/// machine may not have finished when the test gets there.
async fn get_settled(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut response = get(http, url, authorization).await;
    while response.status() == 503 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        response = get(http, url, authorization).await;
    }
    response
}

/// A refusal: 401, the Basic challenge, the contract's JSON body.
async fn assert_refused(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap()),
        Some(CHALLENGE),
        "{what}"
    );
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{what}"
    );
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, 401, "unauthorized");
}

/// Every guarded route of the listener at `base` refuses every wrong
/// credential and accepts both tokens, as Bearer and as Basic.
async fn check_guarded(http: &reqwest::Client, base: &str, paths: &[&str]) {
    let wrong = [
        None,
        Some("Bearer wrong-token-0123456789abcdef".to_owned()),
        Some(format!("Bearer {}", &OPERATOR[..OPERATOR.len() - 1])),
        Some(format!("Bearer {OPERATOR}x")),
        Some(format!("Token {OPERATOR}")),
        Some(OPERATOR.to_owned()),
        Some(basic("operator", "wrong-password")),
        // The token as the user name is not the password.
        Some(basic(OPERATOR, "")),
        Some(format!("Basic {OPERATOR}")),
        Some(format!("Bearer {INGEST}")),
    ];
    for path in paths {
        let url = format!("{base}{path}");
        for value in &wrong {
            let response = get(http, &url, value.as_deref()).await;
            assert_refused(response, &format!("{path} with {value:?}")).await;
        }
        for value in [
            format!("Bearer {OPERATOR}"),
            format!("bearer {DEPUTY}"),
            basic("operator", OPERATOR),
            basic("anyone-at-all", DEPUTY),
            basic("", OPERATOR),
        ] {
            let response = get_settled(http, &url, Some(&value)).await;
            assert_eq!(response.status(), 200, "{path} with {value}");
            assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        }
    }
}

async fn check_open(http: &reqwest::Client, base: &str, paths: &[&str]) {
    for path in paths {
        let response = get_settled(http, &format!("{base}{path}"), None).await;
        assert_eq!(response.status(), 200, "{path} stays open");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}

fn with_tokens(c: &mut Config) {
    c.admin.tokens = vec![OPERATOR.into(), DEPUTY.into()];
    c.analytics.ingest_tokens = vec![INGEST.into()];
}

fn battles() -> Value {
    let now = gamegate_store::unix_now();
    let player = |login: &str, team: u8, won: bool| {
        json!({"login": login, "team": team, "won": won, "kills": 3, "deaths": 1,
               "damage_dealt": 500, "damage_taken": 200, "level": 10})
    };
    json!([{"id": 7001, "mode": "pvp", "started_at": now - 600, "duration_secs": 300,
            "participants": [player("alice", 1, true), player("bob_2", 2, false)]}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_of_all_wants_a_token_for_operator_routes_only() {
    let Some(app) = spawn_app_with(Backend::Sqlite, with_tokens).await else {
        return;
    };
    let admin = format!("http://{}", app.admin_addr);
    let public = format!("http://{}", app.addr);
    check_guarded(&app.http, &admin, &GUARDED).await;
    check_open(&app.http, &admin, &OPEN).await;
    check_open(&app.http, &public, &OPEN[1..]).await;
    check_open(&app.http, &public, &["/health", "/api/server/status"]).await;

    // Ingestion keeps its own token: no operator token needed, and an
    // operator token is not an ingestion token.
    let post = |token: &str| {
        app.http
            .post(format!("{admin}/stats/battles"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .json(&battles())
            .send()
    };
    let refused = post(OPERATOR).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get(WWW_AUTHENTICATE).is_none());
    let stored: Value = post(INGEST).await.unwrap().json().await.unwrap();
    assert_eq!(stored["results"][0]["status"], "inserted", "{stored}");

    // The operator data behind the token is the real data.
    let response = get(
        &app.http,
        &format!("{admin}/admin/dashboard/history.json"),
        Some(&format!("Bearer {OPERATOR}")),
    )
    .await;
    let history: Value = response.json().await.unwrap();
    assert_eq!(history["battles"], 1, "{history}");
    let metrics = get(
        &app.http,
        &format!("{admin}/metrics"),
        Some(&basic("prometheus", DEPUTY)),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(metrics.contains("gamegate_database_up"), "{metrics}");

    // A token opens nothing on the public listener: the operator routes are not there.
    for path in ["/admin/dashboard", "/stats/registrations", "/metrics"] {
        let response = get(
            &app.http,
            &format!("{public}{path}"),
            Some(&format!("Bearer {OPERATOR}")),
        )
        .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_error(status, &body, 404, "not_found");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_page_is_refused_without_credentials_and_shown_with_them() {
    let Some(app) = spawn_app_with(Backend::Sqlite, with_tokens).await else {
        return;
    };
    // What a browser does: the page, the challenge, then the same request
    // with the user's Basic credentials, then the page's own files and data.
    let page = app.admin_url("/admin/dashboard");
    let first = app.http.get(&page).send().await.unwrap();
    assert_refused(first, "the page without credentials").await;
    let shown = app
        .http
        .get(&page)
        .basic_auth("admin", Some(OPERATOR))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert!(
        shown.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = shown.text().await.unwrap();
    assert!(html.contains("dashboard.js"), "{html}");
    let histogram: Value = app
        .http
        .get(app.admin_url("/stats/ratings/histogram"))
        .basic_auth("admin", Some(OPERATOR))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(histogram["rating"], "conservative", "{histogram}");
    // A wrong password gets the challenge again, never the page.
    let wrong = app
        .http
        .get(&page)
        .basic_auth("admin", Some(DEPUTY.to_uppercase()))
        .send()
        .await
        .unwrap();
    assert_refused(wrong, "a wrong password").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_the_operator_routes_stay_open() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    assert!(app.config.admin.tokens.is_empty());
    let admin = format!("http://{}", app.admin_addr);
    check_open(&app.http, &admin, &GUARDED).await;
    check_open(&app.http, &admin, &OPEN).await;
    // A stray Authorization header changes nothing.
    let response = get(
        &app.http,
        &format!("{admin}/admin/dashboard"),
        Some("Bearer anything"),
    )
    .await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

/// One split service started in-process, with its directory.
struct Service {
    app: Started,
    _dir: tempfile::TempDir,
}

/// Starts one split service in-process on a random port.
async fn start(mode: Mode, tokens: bool) -> Option<Service> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Backend::Sqlite, &dir).await?;
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.services.stats_addr = "127.0.0.1:0".parse().unwrap();
    config.services.status_addr = "127.0.0.1:0".parse().unwrap();
    if tokens {
        with_tokens(&mut config);
    }
    Some(Service {
        app: start_mode(config, mode).await,
        _dir: dir,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stats_wants_a_token_for_operator_routes_only() {
    let http = reqwest::Client::new();
    let Some(service) = start(Mode::Stats, true).await else {
        return;
    };
    // The banner says a token is needed, never which.
    assert!(
        service
            .app
            .banner
            .contains("one of 2 token(s) of admin.tokens"),
        "{}",
        service.app.banner
    );
    assert!(!service.app.banner.contains(OPERATOR) && !service.app.banner.contains(DEPUTY));
    let base = format!("http://{}", service.app.service());
    check_guarded(&http, &base, &GUARDED).await;
    check_open(&http, &base, &OPEN).await;
    let stored: Value = http
        .post(format!("{base}/stats/battles"))
        .header(AUTHORIZATION, format!("Bearer {INGEST}"))
        .json(&battles())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["results"][0]["status"], "inserted", "{stored}");
    service.app.stop().await;

    // The same service without tokens: open, and the banner says nothing.
    let Some(service) = start(Mode::Stats, false).await else {
        return;
    };
    assert!(
        !service.app.banner.contains("admin.tokens"),
        "{}",
        service.app.banner
    );
    check_open(
        &http,
        &format!("http://{}", service.app.service()),
        &GUARDED,
    )
    .await;
    service.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_status_wants_the_token_for_metrics_but_not_for_health_or_status() {
    let http = reqwest::Client::new();
    let Some(service) = start(Mode::Status, true).await else {
        return;
    };
    let base = format!("http://{}", service.app.service());
    check_guarded(&http, &base, &["/metrics"]).await;
    check_open(
        &http,
        &base,
        &["/internal/health", "/server/status", "/api/server/status"],
    )
    .await;
    service.app.stop().await;
}
