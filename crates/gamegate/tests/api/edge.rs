//! The in-process edge of `gamegate all` (API.md §4): API keys, per-IP rate
//! limits, trusted client IP and CORS, over real sockets.

use gamegate::Config;
use gamegate::startup::{Application, Mode};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    Backend, TEST_API_KEY, assert_error, player, spawn_app_with, start_mode, test_config,
};
use gamegate::config::{ExposeSecret, networks};

const SECOND_KEY: &str = "second-key-for-rotation-0001";

async fn post_register(
    app: &crate::support::TestApp,
    key: Option<&str>,
    forwarded_for: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/api/register")).json(&body);
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("request sent")
}

async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn register_needs_one_of_the_configured_keys_and_status_needs_none() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.api_keys = vec![TEST_API_KEY.into(), SECOND_KEY.into()];
    })
    .await
    .unwrap();

    for key in [
        None,
        Some(""),
        Some("wrong-key-0123456789"),
        Some(&TEST_API_KEY[1..]),
    ] {
        let (status, body) =
            status_and_json(post_register(&app, key, None, player("NoKey_01", 1)).await).await;
        assert_error(status, &body, 403, "invalid_api_key");
    }
    assert!(
        app.db_logins().await.is_empty(),
        "a refused request stores nothing"
    );

    // Both keys are valid at once: a key can be rotated without downtime.
    for (i, key) in [TEST_API_KEY, SECOND_KEY].into_iter().enumerate() {
        let response = post_register(&app, Some(key), None, player(&format!("Key_0{i}"), 1)).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    let (status, _) = app.get_json(app.url("/api/server/status")).await;
    assert_eq!(status, 200, "status needs no key");
    app.stop().await;
}

#[tokio::test]
async fn without_a_configured_key_gamegate_all_generates_one_and_keeps_it() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.edge.api_keys.clear())
        .await
        .unwrap();
    let key_file = app.dir.path().join("gamegate.api-key");
    let key = std::fs::read_to_string(&key_file)
        .expect("the key is kept beside the database")
        .trim()
        .to_owned();
    assert_eq!(key.len(), 43, "32 random bytes, base64");

    let response = post_register(&app, Some(&key), None, player("Gen_Key_01", 7)).await;
    assert_eq!(response.status(), 200);
    let (status, body) = status_and_json(
        post_register(&app, Some(TEST_API_KEY), None, player("Gen_Key_02", 7)).await,
    )
    .await;
    assert_error(status, &body, 403, "invalid_api_key");

    // A second start on the same database reuses the key, and prints it.
    let (config, dir) = app.stop_keeping_data().await;
    let again = Application::build(config).await.expect("restarts");
    let banner = again.banner();
    assert!(
        banner.contains(&key),
        "the banner shows the generated key:\n{banner}"
    );
    assert!(
        banner.contains(&format!("X-API-Key: {key}")),
        "the curl line carries it:\n{banner}"
    );
    drop(again);
    drop(dir);
}

#[tokio::test]
async fn serve_register_refuses_to_start_without_keys_unless_told_an_edge_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = test_config();
    config.database.url = format!("sqlite://{}", dir.path().join("gamegate.db").display());
    config.analytics.url = format!("sqlite://{}", dir.path().join("analytics.db").display());
    config.edge.api_keys.clear();
    config.services.register_addr = "127.0.0.1:0".parse().unwrap();
    let err = match Application::build_mode(config.clone(), Mode::Register).await {
        Ok(_) => panic!("serve register started without any API key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("keys_checked_upstream"), "{err}");
    assert!(
        !dir.path().join("gamegate.api-key").exists(),
        "a split service never invents a key"
    );

    config.edge.keys_checked_upstream = true;
    let game = tokio_util::sync::CancellationToken::new();
    let mock = gamegate_gameserver::MockGameServer::start(
        "127.0.0.1:0".parse().unwrap(),
        config.game_server.auth_token.expose_secret().to_owned(),
        game.clone(),
    )
    .await
    .unwrap();
    config.game_server.embedded_mock = false;
    config.game_server.addr = mock.local_addr().to_string();
    let app = start_mode(config, Mode::Register).await;
    let addr = app.service();
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/register"))
        .json(&player("Upstream_01", 9))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(mock.contains("Upstream_01"));
    app.stop().await;
    game.cancel();
}

#[tokio::test]
async fn over_the_limit_a_client_gets_429_json_with_retry_after() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.register_per_minute = 10;
        c.edge.register_burst = 2;
        c.edge.status_per_minute = 30;
        c.edge.status_burst = 3;
    })
    .await
    .unwrap();

    // Register: the burst passes, then 429 — even for requests that would
    // fail anyway (a wrong key must not be a way around the limit).
    for i in 0..2 {
        let response = post_register(
            &app,
            Some(TEST_API_KEY),
            None,
            player(&format!("Lim_0{i}"), 3),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    for key in [Some(TEST_API_KEY), Some("wrong-key-0123456789")] {
        let response = post_register(&app, key, None, player("Lim_09", 3)).await;
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=6).contains(&retry_after),
            "10/min: next slot within 6 s, got {retry_after}"
        );
        assert_eq!(response.headers()["ratelimit-limit"], "2");
        assert_eq!(response.headers()["ratelimit-remaining"], "0");
        let (status, body) = status_and_json(response).await;
        assert_error(status, &body, 429, "rate_limited");
    }
    assert_eq!(app.db_logins().await.len(), 2);

    // Status has its own budget.
    for _ in 0..3 {
        assert_eq!(app.get_json(app.url("/api/server/status")).await.0, 200);
    }
    let (status, body) = app.get_json(app.url("/api/server/status")).await;
    assert_error(status, &body, 429, "rate_limited");

    // Health and the admin listener are never limited.
    for _ in 0..5 {
        assert_eq!(app.get_json(app.url("/health")).await.0, 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_spoofed_forwarded_header_from_an_untrusted_peer_changes_nothing() {
    // No trusted proxies: the test client (127.0.0.1) is the client, whatever
    // X-Forwarded-For claims.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.status_per_minute = 30;
        c.edge.status_burst = 2;
    })
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = app
            .http
            .get(app.url("/api/server/status"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header("x-real-ip", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.trusted_proxies = networks(&["127.0.0.1/32", "10.0.0.0/8"]).unwrap();
        c.edge.status_per_minute = 30;
        c.edge.status_burst = 2;
    })
    .await
    .unwrap();
    let get = |xff: &'static str| {
        app.http
            .get(app.url("/api/server/status"))
            .header("x-forwarded-for", xff)
            .send()
    };
    // Two clients behind the proxy: each gets the burst of 2.
    for xff in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.1",
        "198.51.100.2",
    ] {
        assert_eq!(get(xff).await.unwrap().status(), 200, "{xff}");
    }
    assert_eq!(get("198.51.100.1").await.unwrap().status(), 429);
    // The client cannot escape by prepending addresses: the right-most
    // untrusted hop (what our proxy saw) is the client.
    assert_eq!(get("6.6.6.6, 198.51.100.1").await.unwrap().status(), 429);
    // A trusted hop between them is walked through; IPv6 clients too.
    assert_eq!(get("198.51.100.1, 10.1.2.3").await.unwrap().status(), 429);
    assert_eq!(get("2001:db8::1").await.unwrap().status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn cors_answers_allowed_origins_and_stays_silent_for_others() {
    let site = "https://game.example";
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.cors_allowed_origins = vec![site.into()];
    })
    .await
    .unwrap();
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/register"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-api-key")
            .send()
    };

    let ok = preflight(site).await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], site);
    let allowed_headers = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed_headers.contains("x-api-key"), "{allowed_headers}");

    let refused = preflight("https://evil.example").await.unwrap();
    let cors_headers: Vec<_> = refused
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(
        cors_headers.is_empty(),
        "refused origin got {cors_headers:?}"
    );

    // A simple GET from the site carries the header; from elsewhere it does not.
    let from_site = app
        .http
        .get(app.url("/api/server/status"))
        .header("origin", site)
        .send()
        .await
        .unwrap();
    assert_eq!(from_site.headers()["access-control-allow-origin"], site);
    let from_elsewhere = app
        .http
        .get(app.url("/api/server/status"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        from_elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_served_openapi_document_lists_only_routes_that_exist() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let (status, doc) = app.get_json(app.url("/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 9, "{:?}", paths.keys());
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            let response = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(path))
                .header("x-api-key", TEST_API_KEY)
                .json(&player("Doc_Check", 77))
                .send()
                .await
                .unwrap();
            // A routed path may answer 404 of its own (`account_not_found`
            // for a `{login}` no account has), never the router's.
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(
                status != 405 && !(status == 404 && body["detail"] == "not_found"),
                "{method} {path} is documented but not routed: {status} {body}"
            );
        }
    }
    app.stop().await;
}
