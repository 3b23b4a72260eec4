//! The contract's error answers for malformed requests (API.md §2). These
//! never reach the database, so SQLite is enough.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::support::{Backend, assert_error, spawn_app, spawn_app_with};

async fn post(
    app: &crate::support::TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (reqwest::StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", crate::support::TEST_API_KEY)
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
    let valid = crate::support::player("Hero", 1).to_string();
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
    let app = spawn_app_with(Backend::Sqlite, |c| c.language = gamegate_domain::Lang::En)
        .await
        .unwrap();
    let (status, body) = app.register(json!({"login": "ab"})).await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["message"], "Please check the highlighted fields.");
    assert_eq!(
        body["errors"][0]["message"],
        "Login must be 3 to 16 characters long."
    );
    let (status, body) = app.register(crate::support::player("Hero", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Registration successful!");
    app.stop().await;
}

/// The `(field, code)` pairs of a 422.
fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {body}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A register body with `gender` and `telegram_id` as these exact JSON texts.
fn numbers_body(login: &str, gender: &str, telegram_id: &str) -> String {
    format!(
        r#"{{"login":"{login}","password":"secret12","gender":{gender},"telegram_id":{telegram_id}}}"#
    )
}

#[tokio::test]
async fn numbers_are_judged_by_their_exact_text() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let json = Some("application/json");
    // Integers however written (JSON Schema): the value is the exact decimal.
    for (i, (gender, telegram_id, stored)) in [
        ("1", "1", 1),
        ("1.0", "1.0", 1),
        ("1e0", "1e2", 100),
        ("100E-2", "100E-2", 1),
        ("0", "7000000001.000", 7_000_000_001),
        ("-0", "7.000000001E9", 7_000_000_001),
        ("0.0", "9223372036854775807", i64::MAX),
    ]
    .into_iter()
    .enumerate()
    {
        let login = format!("num_ok_{i}");
        let (status, body) = post(&app, json, numbers_body(&login, gender, telegram_id)).await;
        assert_eq!(status, 200, "{gender} / {telegram_id}: {body}");
        let row = app.db.accounts().find(&login).await.unwrap().unwrap();
        assert_eq!(row.telegram_id, stored, "{telegram_id}");
    }
    // Not integers, however close: `type`, and nothing is created.
    for (gender, telegram_id, field) in [
        ("1", "7000000001.0000001", "telegram_id"),
        ("1.0000000000000001", "5", "gender"),
        ("1", "1.5", "telegram_id"),
        ("0.5", "5", "gender"),
        ("1", "1e-400", "telegram_id"),
        ("1", "123456789.00000000000000000001", "telegram_id"),
    ] {
        let (status, body) = post(&app, json, numbers_body("num_bad", gender, telegram_id)).await;
        assert_error(status, &body, 422, "validation_error");
        assert_eq!(
            field_codes(&body),
            [(field.to_owned(), "type".to_owned())],
            "{gender} / {telegram_id}"
        );
    }
    // Integral but outside the field's range: `out_of_range`, however written.
    for (gender, telegram_id, field) in [
        ("1", "9223372036854775808", "telegram_id"),
        ("1", "9.223372036854775808e18", "telegram_id"),
        ("1", "18446744073709551616", "telegram_id"),
        ("1", "1E400", "telegram_id"),
        ("1", "-1E400", "telegram_id"),
        ("1", "0", "telegram_id"),
        ("1", "-0", "telegram_id"),
        ("1", "0.0", "telegram_id"),
        ("1", "-1", "telegram_id"),
        ("1", "-5e3", "telegram_id"),
        ("2", "5", "gender"),
        ("2.0", "5", "gender"),
        ("-1", "5", "gender"),
        ("1E400", "5", "gender"),
    ] {
        let (status, body) = post(&app, json, numbers_body("num_bad", gender, telegram_id)).await;
        assert_error(status, &body, 422, "validation_error");
        assert_eq!(
            field_codes(&body),
            [(field.to_owned(), "out_of_range".to_owned())],
            "{gender} / {telegram_id}"
        );
    }
    assert!(app.db.accounts().find("num_bad").await.unwrap().is_none());
    assert_eq!(app.mock.register_calls(), 7, "only the integers registered");
    app.stop().await;
}

#[tokio::test]
async fn repeated_keys_are_refused_at_every_level() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let json = Some("application/json");
    for (body, field) in [
        (
            r#"{"login":"Hero","login":"Villain","password":"secret12","gender":0,"telegram_id":5}"#,
            "login",
        ),
        (
            r#"{"login":"Hero","password":"secret12","gender":0,"telegram_id":5,"telegram_id":6}"#,
            "telegram_id",
        ),
        (
            r#"{"login":"Hero","password":"secret12","password":"secret12","gender":0,"telegram_id":5}"#,
            "password",
        ),
        (
            r#"{"login":"Hero","password":"secret12","gender":0,"telegram_id":5,"telegram_auth":{"id":5,"hash":"a","hash":"b"}}"#,
            "telegram_auth",
        ),
        (
            r#"{"login":"Hero","password":"secret12","gender":0,"telegram_id":5,"telegram_auth":{"user":{"id":5,"\u0069d":6}}}"#,
            "telegram_auth",
        ),
    ] {
        let (status, answer) = post(&app, json, body).await;
        assert_error(status, &answer, 422, "validation_error");
        assert_eq!(
            field_codes(&answer),
            [(field.to_owned(), "duplicate".to_owned())],
            "{body}"
        );
    }
    assert_eq!(app.mock.register_calls(), 0);
    assert!(app.db.accounts().find("hero").await.unwrap().is_none());
    app.stop().await;
}

/// Thousands of nested arrays inside `telegram_auth`, in a body under the
/// body limit: refused as the wrong type (deeper than any JSON value is
/// built), never a crashed process — the repeated-key search once recursed
/// once per level and overflowed the stack at about 4,000.
#[tokio::test]
async fn deep_nesting_inside_telegram_auth_is_refused_and_the_process_lives() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for depth in [200, 4_000, 7_000] {
        let body = format!(
            r#"{{"login":"Deep","password":"secret12","gender":0,"telegram_id":5,"telegram_auth":{{"a":{}{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (status, answer) = post(&app, Some("application/json"), body).await;
        assert_error(status, &answer, 422, "validation_error");
        assert_eq!(
            field_codes(&answer),
            [("telegram_auth".to_owned(), "type".to_owned())],
            "depth {depth}"
        );
    }
    let (status, _) = post(
        &app,
        Some("application/json"),
        r#"{"login":"Deep","password":"secret12","gender":0,"telegram_id":5}"#,
    )
    .await;
    assert_eq!(status, 200, "the process still answers");
    app.stop().await;
}

/// 2,000 unknown keys in a body just under the 16 KiB limit: about 15.7 KB.
fn unknown_keys_body() -> String {
    let mut body =
        String::from(r#"{"login":"Hero","password":"secret12","gender":0,"telegram_id":5"#);
    for i in 0..2000 {
        body.push_str(&format!(",\"{i:x}\":0"));
    }
    body.push('}');
    body
}

#[tokio::test]
async fn thousands_of_unknown_keys_get_a_short_answer_here_and_through_the_demo() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let body = unknown_keys_body();
    assert!(
        (15_000..16_384).contains(&body.len()),
        "{} bytes",
        body.len()
    );
    for path in ["/api/register", "/demo/register"] {
        let response = app
            .http
            .post(app.url(path))
            .header("x-api-key", crate::support::TEST_API_KEY)
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_error(status, &answer, 422, "validation_error");
        let errors = field_codes(&answer);
        assert_eq!(errors.len(), 20, "{path}: {answer}");
        assert!(errors.iter().all(|(_, code)| code == "unknown_field"));
        assert_eq!(answer["errors_omitted"], 1980, "{path}");
        assert!(bytes.len() < 4096, "{path}: {} bytes", bytes.len());
    }
    // Fewer than 20 failing fields: every one listed, no count.
    let (status, answer) = app.register(json!({"login": "ab", "x": 1})).await;
    assert_error(status, &answer, 422, "validation_error");
    assert_eq!(field_codes(&answer).len(), 5);
    assert!(answer.get("errors_omitted").is_none(), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn the_demo_forwards_numbers_and_repeated_keys_unchanged() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for (body, field, code) in [
        (
            numbers_body("demo_num", "1", "7000000001.0000001"),
            "telegram_id",
            "type",
        ),
        (numbers_body("demo_num", "1.0000000000000001", "5"), "gender", "type"),
        (numbers_body("demo_num", "1", "1E400"), "telegram_id", "out_of_range"),
        (
            r#"{"login":"demo_num","login":"demo_two","password":"secret12","gender":0,"telegram_id":5}"#
                .to_owned(),
            "login",
            "duplicate",
        ),
    ] {
        let response = app
            .http
            .post(app.url("/demo/register"))
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_error(status, &answer, 422, "validation_error");
        assert_eq!(
            field_codes(&answer),
            [(field.to_owned(), code.to_owned())],
            "{body}"
        );
    }
    let response = app
        .http
        .post(app.url("/demo/register"))
        .header(CONTENT_TYPE, "application/json")
        .body(numbers_body("demo_ok", "1.0", "1e2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let row = app.db.accounts().find("demo_ok").await.unwrap().unwrap();
    assert_eq!(row.telegram_id, 100);
    assert_eq!(app.mock.register_calls(), 1);
    app.stop().await;
}
