//! The demo registration page of `gamegate all` (`http.demo_site`): served
//! without the key, forwarding through the real edge, JSON errors for bad
//! input, and never on the split services. The browser drives it in
//! tests/browser.rs; these check the HTTP side, on SQLite (nothing of it
//! depends on the backend). And the demo's battle history: seeded by
//! `gamegate all` into its embedded database only, never into a server one.

use std::time::{Duration, Instant};

use gamegate::startup::Mode;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};

use crate::support::{
    Backend, TEST_API_KEY, TestApp, assert_error, fresh_database, player, spawn_app,
    spawn_app_with, start_mode, test_config,
};

crate::backend_tests!(sqlite => Sqlite:
    the_page_and_its_files_never_contain_the_key,
    the_demo_forwards_to_register_with_the_key,
    the_demo_forwards_the_pages_idempotency_key,
    bad_input_on_the_demo_endpoint_gets_json_errors,
    the_demo_passes_the_rate_limit_and_its_retry_after_on,
    the_page_is_off_when_configured_off,
    split_services_never_serve_the_page,
    the_demo_history_is_seeded_by_gamegate_all_only,
);

crate::on_server_backends!(the_demo_history_is_never_seeded_into_a_server_database);

async fn post_demo(app: &TestApp, body: Value) -> (StatusCode, Value, Option<String>) {
    let response = app
        .http
        .post(app.url("/demo/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), retry_after)
}

async fn the_page_and_its_files_never_contain_the_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>"),
        "no inline script: the CSP forbids it"
    );
    // The form hints are the server's rules.
    for hint in [
        r#"minlength="3""#,
        r#"maxlength="16""#,
        r#"pattern="[A-Za-z0-9_]+""#,
        r#"minlength="6""#,
        r#"maxlength="20""#,
        r#"min="1""#,
    ] {
        assert!(html.contains(hint), "the page lacks {hint}");
    }
    let mut served = html;
    for path in ["/demo/app.js", "/demo/style.css"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        served += &r.text().await.unwrap();
    }
    assert!(served.contains("/demo/register"));
    assert!(
        !served.contains(TEST_API_KEY),
        "the API key must never reach the browser"
    );
    assert!(
        !served.contains("/api/register\""),
        "the browser never calls /api/register"
    );
    app.stop().await;
}

async fn the_demo_forwards_to_register_with_the_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body, _) = post_demo(&app, player("Demo_01", 42)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "message": "Регистрация успешна!", "login": "Demo_01"})
    );
    assert!(app.db_logins().await.contains("demo_01"));

    let (status, body, _) = post_demo(&app, player("demo_01", 43)).await;
    assert_error(status, &body, 409, "login_taken");
    assert_eq!(body["message"], "Этот логин уже занят. Выберите другой.");

    // Field errors come back as the service wrote them.
    let (status, body, _) = post_demo(
        &app,
        json!({"login": "ab", "password": "secret12", "gender": 0, "telegram_id": 5}),
    )
    .await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["errors"][0]["field"], "login");
    assert_eq!(body["errors"][0]["code"], "too_short");
    app.stop().await;
}

/// The page's `Idempotency-Key` reaches `/api/register` unchanged: a re-sent
/// attempt gets the first answer, not `login_taken`; a bad key is the
/// service's 400.
async fn the_demo_forwards_the_pages_idempotency_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let send = |key: &'static str| {
        app.http
            .post(app.url("/demo/register"))
            .header("idempotency-key", key)
            .json(&player("Demo_02", 44))
            .send()
    };
    let first = send("\"0123456789abcdef0123456789abcdef\"").await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = send("\"0123456789abcdef0123456789abcdef\"").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let bad = send("\"unterminated").await.unwrap();
    let status = bad.status();
    assert_error(
        status,
        &bad.json().await.unwrap(),
        400,
        "invalid_idempotency_key",
    );
    app.stop().await;
}

async fn bad_input_on_the_demo_endpoint_gets_json_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let send = |content_type: &'static str, body: Vec<u8>| {
        let request = app
            .http
            .post(app.url("/demo/register"))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send("text/plain", b"{}".to_vec()).await;
    assert_error(status, &body, 415, "unsupported_media_type");
    let (status, body) = send("application/json", b"[1, 2]".to_vec()).await;
    assert_error(status, &body, 400, "invalid_json");
    let limit = app.config.http.body_limit_bytes;
    let huge = format!(r#"{{"login":"{}"}}"#, "a".repeat(limit));
    let (status, body) = send("application/json", huge.into_bytes()).await;
    assert_error(status, &body, 413, "payload_too_large");
    let r = app
        .http
        .get(app.url("/demo/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    app.stop().await;
}

/// The forwarder goes through the edge: the register rate limit applies (to
/// the loopback address) and its `Retry-After` reaches the browser.
async fn the_demo_passes_the_rate_limit_and_its_retry_after_on(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.edge.register_per_minute = 1;
        c.edge.register_burst = 1;
    })
    .await
    else {
        return;
    };
    let (status, body, _) = post_demo(&app, player("Limit_1", 7)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, retry_after) = post_demo(&app, player("Limit_2", 7)).await;
    assert_error(status, &body, 429, "rate_limited");
    let secs: u64 = retry_after.expect("Retry-After passed on").parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(app.db_logins().await.len(), 1);
    app.stop().await;
}

async fn the_page_is_off_when_configured_off(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.http.demo_site = false).await else {
        return;
    };
    for (path, post) in [
        ("/", false),
        ("/demo/app.js", false),
        ("/demo/register", true),
    ] {
        let request = match post {
            true => app.http.post(app.url(path)).json(&player("Off_1", 9)),
            false => app.http.get(app.url(path)),
        };
        let r = request.send().await.unwrap();
        let status = r.status();
        assert_error(status, &r.json().await.unwrap(), 404, "not_found");
    }
    assert!(app.db_logins().await.is_empty());
    app.stop().await;
}

async fn split_services_never_serve_the_page(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, &dir).await else {
        return;
    };
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.http.demo_site = true;
    config.services.register_addr = "127.0.0.1:0".parse().unwrap();
    config.services.status_addr = "127.0.0.1:0".parse().unwrap();
    let http = reqwest::Client::new();
    for mode in [Mode::Register, Mode::Status] {
        let app = start_mode(config.clone(), mode).await;
        let addr = app.service();
        for path in ["/", "/demo/app.js"] {
            let r = http
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{mode:?} serves {path}");
        }
        app.stop().await;
    }
}

/// Once the anomaly cache has made its first pass — it runs right after
/// the demo history's seeding, or after the decision not to seed — what
/// `base`'s `history.json` says is stored.
async fn history_after_the_first_pass(http: &reqwest::Client, base: &str) -> Value {
    let started = Instant::now();
    while http
        .get(format!("{base}/ml/anomalies"))
        .send()
        .await
        .unwrap()
        .status()
        != StatusCode::OK
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no anomaly pass within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = http
        .get(format!("{base}/admin/dashboard/history.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), StatusCode::OK);
    history.json().await.unwrap()
}

/// `serve stats` on an empty SQLite analytics database, with
/// `analytics.seed_demo_history` on: the synthetic history belongs to the
/// demo of `gamegate all`, not to a statistics service.
async fn the_demo_history_is_seeded_by_gamegate_all_only(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, &dir).await else {
        return;
    };
    let mut config = test_config();
    config.database.url = url;
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.analytics.seed_demo_history = true;
    config.services.stats_addr = "127.0.0.1:0".parse().unwrap();
    let app = start_mode(config, Mode::Stats).await;
    let base = format!("http://{}", app.service());
    let history = history_after_the_first_pass(&reqwest::Client::new(), &base).await;
    assert_eq!(history, json!({"battles": 0, "synthetic_battles": 0}));
    app.stop().await;
}

/// `gamegate all` whose analytics database is a MariaDB/PostgreSQL one (a
/// real one, however empty), with `analytics.seed_demo_history` on: nothing
/// synthetic is written into it.
async fn the_demo_history_is_never_seeded_into_a_server_database(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.analytics.url = c.database.url.clone();
        c.analytics.seed_demo_history = true;
    })
    .await
    else {
        return;
    };
    let history = history_after_the_first_pass(&app.http, &app.admin_url("")).await;
    assert_eq!(history, json!({"battles": 0, "synthetic_battles": 0}));
    app.stop().await;
}
