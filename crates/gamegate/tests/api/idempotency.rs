//! `Idempotency-Key` on `POST /api/register` (docs/API.md#idempotency-key):
//! retries with the same key and body get the first answer, also the 200 of
//! a lost answer the reconciler confirmed; parallel requests with one key
//! create one account; malformed keys are 400; keys expire.

use std::time::Duration;

use futures_util::future::join_all;
use gamegate_gameserver::Behaviour;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::register::assert_stores_agree;
use crate::support::{
    Backend, TEST_API_KEY, TestApp, assert_error, player, spawn_app, spawn_app_with,
};

crate::on_every_backend!(
    a_lost_answer_retried_with_its_key_gets_the_200_the_reconciler_confirmed,
    a_lost_answer_the_reconciler_removed_is_a_definite_failure_for_its_key,
    parallel_requests_with_one_key_create_one_account,
    malformed_keys_are_refused_with_400,
    an_expired_key_is_purged_and_counts_as_new,
    two_sites_may_use_the_same_key,
);

const SETTLE: Duration = Duration::from_secs(10);

/// Registers `body` with the test site's key and `keys` as `Idempotency-Key`
/// headers (none, one, or several).
async fn post(app: &TestApp, keys: &[&[u8]], body: &Value) -> (StatusCode, HeaderMap, Value) {
    post_as(app, TEST_API_KEY, keys, body).await
}

async fn post_as(
    app: &TestApp,
    site_key: &str,
    keys: &[&[u8]],
    body: &Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", site_key)
        .json(body);
    for key in keys {
        request = request.header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(key).unwrap(),
        );
    }
    let response = request.send().await.expect("request sent");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.expect("JSON body"))
}

fn assert_registered(status: StatusCode, body: &Value, login: &str) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["login"], login, "{body}");
}

async fn a_lost_answer_retried_with_its_key_gets_the_200_the_reconciler_confirmed(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key: &[u8] = b"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";
    let body = player("Slowkey", 31);
    // Longer than call_timeout (400 ms): the answer is lost, the account
    // kept pending.
    app.mock
        .set_behaviour(Behaviour::Delay(Duration::from_millis(700)))
        .await;
    let (status, _, first) = post(&app, &[key], &body).await;
    assert_error(status, &first, 503, "game_server_unavailable");
    // At once, before the reconciler's grace: still pending, the same 503.
    let (status, _, again) = post(&app, &[key], &body).await;
    assert_error(status, &again, 503, "game_server_unavailable");
    assert_eq!(app.mock.register_calls(), 1, "a retry never runs it again");
    app.mock.set_behaviour(Behaviour::Normal).await;

    app.eventually("the reconciler confirms the account", SETTLE, || async {
        app.db
            .accounts()
            .find("Slowkey")
            .await
            .unwrap()
            .is_some_and(|r| r.state == "synced")
    })
    .await;
    let (status, _, retried) = post(&app, &[key], &body).await;
    assert_registered(status, &retried, "Slowkey");
    // Stored now: the same again, and the game server still saw one call.
    let (status, _, replay) = post(&app, &[key], &body).await;
    assert_eq!((status, &replay), (StatusCode::OK, &retried));
    assert_eq!(app.mock.register_calls(), 1);

    // Without a key, as before: the login is taken.
    let (status, _, plain) = post(&app, &[], &body).await;
    assert_error(status, &plain, 409, "login_taken");
    // The same key for another body.
    let (status, _, reused) = post(&app, &[key], &player("Otherkey", 31)).await;
    assert_error(status, &reused, 422, "idempotency_key_reused");
    let mut changed = body.clone();
    changed["password"] = json!("secret13");
    let (status, _, reused) = post(&app, &[key], &changed).await;
    assert_error(status, &reused, 422, "idempotency_key_reused");
    assert!(app.db.accounts().find("Otherkey").await.unwrap().is_none());
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn a_lost_answer_the_reconciler_removed_is_a_definite_failure_for_its_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key: &[u8] = b"dropped-attempt-1";
    let body = player("Dropkey", 32);
    app.mock.set_behaviour(Behaviour::DropAfterRead).await;
    let (status, _, first) = post(&app, &[key], &body).await;
    assert_error(status, &first, 503, "game_server_unavailable");
    app.mock.set_behaviour(Behaviour::Normal).await;
    app.eventually("the reconciler removes the reservation", SETTLE, || async {
        app.db.accounts().find("Dropkey").await.unwrap().is_none()
    })
    .await;
    for _ in 0..2 {
        let (status, _, retried) = post(&app, &[key], &body).await;
        assert_error(status, &retried, 503, "game_server_unavailable");
    }
    assert!(app.db.accounts().find("Dropkey").await.unwrap().is_none());
    assert!(!app.mock.contains("Dropkey"));
    // A new attempt (a new key) registers.
    let (status, _, fresh) = post(&app, &[b"dropped-attempt-2"], &body).await;
    assert_registered(status, &fresh, "Dropkey");
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn parallel_requests_with_one_key_create_one_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Slow enough that the others arrive while the first runs.
    app.mock
        .set_behaviour(Behaviour::Delay(Duration::from_millis(150)))
        .await;
    let key: &[u8] = b"\"one-key-for-twenty\"";
    let body = player("Twenty", 33);
    let keys = [key];
    let answers = join_all((0..20).map(|_| post(&app, &keys, &body))).await;
    let mut first_answer = None;
    for (status, headers, answer) in &answers {
        if *status == StatusCode::OK {
            assert_registered(*status, answer, "Twenty");
            first_answer.get_or_insert(answer.clone());
        } else {
            assert_error(*status, answer, 409, "request_in_progress");
            assert_eq!(
                headers.get("retry-after").map(|v| v.to_str().unwrap()),
                Some("1")
            );
        }
    }
    let first_answer = first_answer.expect("one request ran and answered 200");
    assert_eq!(app.mock.register_calls(), 1, "the saga ran once");
    assert_eq!(app.db.accounts().count_for_telegram(33).await.unwrap(), 1);
    // Once they are done, a retry gets the first answer.
    let (status, _, retried) = post(&app, &[key], &body).await;
    assert_eq!((status, retried), (StatusCode::OK, first_answer));
    assert_eq!(app.mock.register_calls(), 1);
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn malformed_keys_are_refused_with_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let long = format!("\"{}\"", "k".repeat(256));
    let body = player("Badkey", 34);
    for keys in [
        vec![b"\"unterminated".as_slice()],
        vec![b"\"\"".as_slice()],
        vec![b"two words".as_slice()],
        vec![b"\"k\";param=1".as_slice()],
        vec!["\"ключ\"".as_bytes()],
        vec![long.as_bytes()],
        vec![b"a".as_slice(), b"a".as_slice()],
    ] {
        let (status, _, answer) = post(&app, &keys, &body).await;
        assert_error(status, &answer, 400, "invalid_idempotency_key");
    }
    assert!(app.db.accounts().find("Badkey").await.unwrap().is_none());
    assert_eq!(app.mock.register_calls(), 0);
    // 255 characters are fine.
    let longest = format!("\"{}\"", "k".repeat(255));
    let (status, _, answer) = post(&app, &[longest.as_bytes()], &body).await;
    assert_registered(status, &answer, "Badkey");
    app.stop().await;
}

async fn an_expired_key_is_purged_and_counts_as_new(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.registration.idempotency_window_secs = 2).await
    else {
        return;
    };
    let key: &[u8] = b"short-lived";
    let (status, _, first) = post(&app, &[key], &player("Expire1", 35)).await;
    assert_registered(status, &first, "Expire1");
    // Stored (the window is 2 s; a row goes once it is older than that).
    assert_eq!(app.db.idempotency().count().await.unwrap(), 1);
    app.eventually("the expired key is purged", SETTLE, || async {
        app.db.idempotency().count().await.unwrap() == 0
    })
    .await;
    let (status, _, second) = post(&app, &[key], &player("Expire2", 35)).await;
    assert_registered(status, &second, "Expire2");
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn two_sites_may_use_the_same_key(backend: Backend) {
    const OTHER_SITE: &str = "other-site-key-0123456789abcdef";
    let Some(app) = spawn_app_with(backend, |c| c.edge.api_keys.push(OTHER_SITE.into())).await
    else {
        return;
    };
    let key: &[u8] = b"\"shared\"";
    let (status, _, a) = post(&app, &[key], &player("SiteA", 36)).await;
    assert_registered(status, &a, "SiteA");
    let (status, _, b) = post_as(&app, OTHER_SITE, &[key], &player("SiteB", 37)).await;
    assert_registered(status, &b, "SiteB");
    // Each site still gets its own first answer.
    let (status, _, again) = post_as(&app, OTHER_SITE, &[key], &player("SiteB", 37)).await;
    assert_eq!((status, again), (StatusCode::OK, b));
    let (status, _, reused) = post(&app, &[key], &player("SiteB", 37)).await;
    assert_error(status, &reused, 422, "idempotency_key_reused");
    assert_stores_agree(&app).await;
    app.stop().await;
}
