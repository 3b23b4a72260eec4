//! Operators change the status constants without SQL: `gamegate status
//! set|list` (the real binary, with the server's configuration) and `PUT
//! /admin/constants/{name}` (behind the operator token), on every backend;
//! every process on the database shows a change within its refresh interval.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

use crate::support::{Backend, Started, TestApp, assert_error, binary, spawn_app_with, start};

crate::on_every_backend!(a_change_by_command_or_admin_api_reaches_every_process_on_the_database);

const OPERATOR: &str = "constants-operator-token-0123456";

/// `gamegate --config CONFIG status ARGS` with nothing else of the test's
/// environment, from a directory of its own.
fn status_command(config: &Path, args: &[&str]) -> Output {
    let elsewhere = tempfile::tempdir().unwrap();
    binary::with_config(config, &[&["status"], args].concat())
        .current_dir(elsewhere.path())
        .env("GAMEGATE_LOG__LEVEL", "warn")
        .output()
        .expect("the gamegate binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A second process (a replica) on the same databases, on fresh ports.
async fn replica(app: &TestApp) -> Started {
    let mut config = app.config.clone();
    config.http.public_addr = "127.0.0.1:0".parse().unwrap();
    config.http.admin_addr = "127.0.0.1:0".parse().unwrap();
    start(config).await
}

/// `PUT /admin/constants/{name}` on `app`'s admin listener.
async fn put(app: &TestApp, name: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = app
        .http
        .put(app.admin_url(&format!("/admin/constants/{name}")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    if status == 401 {
        assert!(r.headers().contains_key(WWW_AUTHENTICATE));
    }
    (status, r.json().await.unwrap())
}

async fn a_change_by_command_or_admin_api_reaches_every_process_on_the_database(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.admin.tokens = vec![OPERATOR.into()]).await
    else {
        return;
    };
    let replica = replica(&app).await;
    let http = &app.http;
    let both_show = |check: fn(&Value) -> bool| {
        let urls = [
            app.url("/api/server/status"),
            format!("http://{}/api/server/status", replica.public()),
        ];
        async move {
            for url in urls {
                let body: Value = http.get(url).send().await.unwrap().json().await.unwrap();
                if !check(&body) {
                    return false;
                }
            }
            true
        }
    };
    let config_path = app.dir.path().join("gamegate.toml");
    std::fs::write(&config_path, toml::to_string(&app.config).unwrap()).unwrap();

    // The command, a process of its own on the server's database.
    let out = status_command(&config_path, &["set", "rate_exp", "2.5"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).starts_with("rate_exp = 2.5 (was 1); the status shows it within"),
        "{out:?}"
    );
    app.eventually(
        "both processes show the command's change",
        Duration::from_secs(5),
        || both_show(|b| b["rates"]["exp"] == json!(2.5)),
    )
    .await;
    let out = status_command(&config_path, &["list"]);
    let listed = text(&out.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().eq(["rate_exp", "2.5"])),
        "{listed}"
    );
    let out = status_command(&config_path, &["list", "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        rows.as_array()
            .unwrap()
            .contains(&json!({"name": "server_status", "value": 1.0, "shown": true})),
        "{rows}"
    );
    // Refused before the database is touched, with the rule.
    for (args, says) in [
        (&["set", "server_status", "2"][..], "0 (closed) or 1 (open)"),
        (&["set", "rate_exp", "-1"], "a number from 0 to 1000000"),
        (&["set", "motd", "1"], "not a constant of the status answer"),
    ] {
        let out = status_command(&config_path, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert!(text(&out.stderr).contains(says), "{args:?}: {out:?}");
    }

    // The admin API: the operator token, always.
    let (code, body) = put(&app, "server_status", None, r#"{"value": 0}"#).await;
    assert_error(code.try_into().unwrap(), &body, 401, "unauthorized");
    let wrong = Some("not-the-operator-token-0123456789");
    let (code, body) = put(&app, "server_status", wrong, r#"{"value": 0}"#).await;
    assert_error(code.try_into().unwrap(), &body, 401, "unauthorized");
    let op = Some(OPERATOR);
    let (code, body) = put(&app, "motd", op, r#"{"value": 1}"#).await;
    assert_error(code.try_into().unwrap(), &body, 404, "unknown_constant");
    for (name, body, field_code) in [
        ("server_status", r#"{"value": 2}"#, "out_of_range"),
        ("server_status", r#"{"value": "0"}"#, "type"),
        ("client_status", r#"{"value": 1.5}"#, "type"),
        ("rate_exp", r#"{"value": -0.5}"#, "out_of_range"),
        ("rate_exp", "{}", "required"),
    ] {
        let (code, answer) = put(&app, name, op, body).await;
        assert_error(code.try_into().unwrap(), &answer, 422, "validation_error");
        assert_eq!(
            answer["errors"][0]["field"], "value",
            "{name} {body}: {answer}"
        );
        assert_eq!(
            answer["errors"][0]["code"], field_code,
            "{name} {body}: {answer}"
        );
    }
    let (code, body) = put(&app, "rate_exp", op, r#"{"value": 3, "note": "x"}"#).await;
    assert_error(code.try_into().unwrap(), &body, 422, "validation_error");
    assert_eq!(body["errors"][0]["code"], "unknown_field", "{body}");
    let (code, body) = put(&app, "server_status", op, "[0]").await;
    assert_error(code.try_into().unwrap(), &body, 400, "invalid_json");

    let (code, body) = put(&app, "server_status", op, r#"{"value": 0}"#).await;
    assert_eq!(
        (code, body),
        (
            200,
            json!({"ok": true, "name": "server_status", "value": 0.0})
        )
    );
    let (code, _) = put(&app, "rate_drop", op, r#"{"value": 1.5e0}"#).await;
    assert_eq!(code, 200);
    app.eventually(
        "both processes show the admin API's changes",
        Duration::from_secs(5),
        || {
            both_show(|b| {
                b["server_status"] == json!(0.0)
                    && b["rates"]["drop"] == json!(1.5)
                    && b["rates"]["exp"] == json!(2.5)
            })
        },
    )
    .await;
    replica.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn without_operator_tokens_the_admin_api_changes_nothing() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let (code, body) = put(&app, "server_status", None, r#"{"value": 0}"#).await;
    assert_error(code.try_into().unwrap(), &body, 401, "unauthorized");
    let (code, body) = put(
        &app,
        "server_status",
        Some("any-token-at-all-0123456"),
        "{}",
    )
    .await;
    assert_error(code.try_into().unwrap(), &body, 401, "unauthorized");
    let rows = app.db.constants().all().await.unwrap();
    assert!(
        rows.contains(&("server_status".to_owned(), 1.0)),
        "{rows:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_command_never_creates_a_database() {
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [&["status", "list"][..], &["status", "set", "rate_exp", "2"]] {
        let out = binary::command()
            .args(args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let missing = elsewhere.path().join("gamegate.db");
        assert!(
            text(&out.stderr).contains(&format!("no database at {}", missing.display())),
            "{args:?}: {out:?}"
        );
        let left: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} created {left:?}");
    }
}
