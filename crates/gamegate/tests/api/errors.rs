//! The contract's error answers for malformed requests (API.md §2). These
//! never reach the database, so SQLite is enough.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_error, spawn_app, spawn_app_with};

async fn post(
    app: &crate::helpers::TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (reqwest::StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", crate::helpers::TEST_API_KEY)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.expect("every error is JSON"))
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for body in ["{", "not json", "[1,2]", "\"text\"", "null", ""] {
        let (status, json) = post(&app, Some("application/json"), body).await;
        assert_error(status, &json, 400, "invalid_json");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let valid = crate::helpers::player("Hero", 1).to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, json) = post(&app, ct, valid.clone()).await;
        assert_error(status, &json, 415, "unsupported_media_type");
    }
    // A charset parameter is fine.
    let (status, _) = post(&app, Some("application/json; charset=utf-8"), valid).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_or_without_content_length() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let big = format!("{{\"login\":\"{}\"}}", "a".repeat(17 * 1024));
    let (status, json) = post(&app, Some("application/json"), big.clone()).await;
    assert_error(status, &json, 413, "payload_too_large");
    // Chunked (no Content-Length): the limit is enforced while reading.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, json) = post(
        &app,
        Some("application/json"),
        reqwest::Body::wrap_stream(stream),
    )
    .await;
    assert_error(status, &json, 413, "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn every_failing_field_is_reported_with_a_code_and_message() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (status, body) = app
        .register(json!({"login": "ab", "password": 5, "gender": 7, "nickname": "x"}))
        .await;
    assert_error(status, &body, 422, "validation_error");
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("login", "too_short"),
            ("password", "type"),
            ("gender", "out_of_range"),
            ("telegram_id", "required"),
            ("nickname", "unknown_field"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    assert_eq!(
        app.mock.register_calls(),
        0,
        "an invalid request never reaches the game server"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_json() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (status, body) = app.get_json(app.url("/api/nothing")).await;
    assert_error(status, &body, 404, "not_found");
    let response = app.http.get(app.url("/api/register")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let status = response.status();
    assert_error(
        status,
        &response.json().await.unwrap(),
        405,
        "method_not_allowed",
    );
    let (status, body) = app.get_json(app.admin_url("/nothing")).await;
    assert_error(status, &body, 404, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn messages_follow_the_configured_language() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.language = "en".into())
        .await
        .unwrap();
    let (status, body) = app.register(json!({"login": "ab"})).await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["message"], "Please check the highlighted fields.");
    assert_eq!(
        body["errors"][0]["message"],
        "Login must be 3 to 16 characters long."
    );
    let (status, body) = app.register(crate::helpers::player("Hero", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Registration successful!");
    app.stop().await;
}
