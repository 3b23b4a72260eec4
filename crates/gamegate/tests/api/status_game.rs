//! The status answer and readiness follow the game server: `game_server`
//! and `online` from its polls, `server_status` 0 while it is down when
//! `status.derive_from_game_server` is on, `/internal/health/ready` 503
//! while a process that registers cannot reach it — each change seen within
//! two refresh intervals, and undone when the game server returns.

use std::time::Duration;

use gamegate::Config;
use gamegate::startup::Mode;
use gamegate_gameserver::{Behaviour, MockGameServer};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{Backend, spawn_app_with, sqlite_in, start_mode, test_config};

/// `status.refresh_interval_ms` of these tests: long enough that a change
/// seen within two of them was not seen by luck of a fast loop.
const REFRESH_MS: u64 = 250;

/// How long a change may take to show: two refresh intervals (the polls
/// that see it), one call timeout (a poll already waiting on a game server
/// that stopped answering), and scheduling slack on a busy test machine.
fn within(c: &Config) -> Duration {
    Duration::from_millis(2 * c.status.refresh_interval_ms + c.game_server.call_timeout_ms + 500)
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).send().await.expect("an answer");
    (r.status().as_u16(), r.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn stopping_the_game_server_shows_in_status_and_readiness_and_its_return_clears_it() {
    let owned = spawn_app_with(Backend::Sqlite, |c| {
        c.status.refresh_interval_ms = REFRESH_MS;
        c.status.derive_from_game_server = true;
    })
    .await
    .unwrap();
    let app = &owned;
    let within = within(&app.config);
    let status = || async { app.get_json(app.url("/api/server/status")).await.1 };
    let ready = || async { app.get_json(app.admin_url("/internal/health/ready")).await };
    let metric = |up: u8| async move {
        let line = format!("gamegate_game_server_up{{}} {up}");
        app.metrics_text().await.lines().any(|l| l == line)
    };

    app.mock.set_online(Some(42));
    app.eventually("`online` is the mock's count", within, || async {
        status().await["online"] == json!(42)
    })
    .await;
    let body = status().await;
    assert_eq!(body["game_server"], "up", "{body}");
    assert_eq!(body["server_status"], json!(1.0), "{body}");
    let (code, body) = ready().await;
    assert_eq!(
        (code.as_u16(), body),
        (
            200,
            json!({"status": "ready", "service": "all", "down": []})
        )
    );
    assert!(metric(1).await, "{}", app.metrics_text().await);

    // Stopped: no listener, every connection closed.
    app.mock.set_behaviour(Behaviour::Refuse).await;
    app.eventually(
        "game_server down and server_status 0 within two refresh intervals",
        within,
        || async {
            let body = status().await;
            body["game_server"] == "down" && body["server_status"] == json!(0.0)
        },
    )
    .await;
    let body = status().await;
    assert_eq!(body["online"], Value::Null, "a down server counts no one");
    assert_eq!(
        (&body["client_status"], &body["rates"]["exp"]),
        (&json!(256.0), &json!(1.0)),
        "the other constants stand: {body}"
    );
    let (code, body) = ready().await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(
        body,
        json!({"status": "not_ready", "service": "all", "down": ["game_server"]})
    );
    let (code, body) = app.get_json(app.admin_url("/internal/health/live")).await;
    assert_eq!((code.as_u16(), &body["status"]), (200, &json!("live")));
    assert!(metric(0).await, "{}", app.metrics_text().await);

    // Back: the next polls see it.
    app.mock.set_behaviour(Behaviour::Normal).await;
    app.eventually("up again within two refresh intervals", within, || async {
        let body = status().await;
        body["game_server"] == "up"
            && body["server_status"] == json!(1.0)
            && body["online"] == json!(42)
    })
    .await;
    assert_eq!(ready().await.0, 200);
    assert!(metric(1).await, "{}", app.metrics_text().await);
    owned.stop().await;
}

/// A configuration for the split services on one SQLite file beside an
/// external mock game server.
fn split_config(dir: &std::path::Path, game: std::net::SocketAddr) -> Config {
    let mut c = test_config();
    sqlite_in(&mut c, dir);
    c.game_server.addr = game.to_string();
    c.game_server.embedded_mock = false;
    c.services.register_addr = "127.0.0.1:0".parse().unwrap();
    c.services.status_addr = "127.0.0.1:0".parse().unwrap();
    c.status.refresh_interval_ms = REFRESH_MS;
    c
}

#[tokio::test]
async fn the_split_services_poll_an_external_game_server() {
    let dir = tempfile::tempdir().unwrap();
    let stop_mock = CancellationToken::new();
    let config = test_config();
    let mock = MockGameServer::start(
        "127.0.0.1:0".parse().unwrap(),
        config.game_server.auth_token.expose_secret().to_owned(),
        stop_mock.clone(),
    )
    .await
    .unwrap();
    mock.set_online(Some(7));
    let config = split_config(dir.path(), mock.local_addr());
    let within = within(&config);
    let status = start_mode(config.clone(), Mode::Status).await;
    let register = start_mode(config, Mode::Register).await;
    let http = reqwest::Client::new();
    let status_url = format!("http://{}/server/status", status.service());
    let ready = |started: &crate::support::Started| {
        format!("http://{}/internal/health/ready", started.service())
    };
    let (status_ready, register_ready) = (ready(&status), ready(&register));

    let (code, body) = get(&http, &status_url).await;
    assert_eq!(code, 200);
    assert_eq!(
        (
            &body["game_server"],
            &body["online"],
            &body["server_status"]
        ),
        (&json!("up"), &json!(7), &json!(1.0)),
        "the first answer already knows: the process polled before serving: {body}"
    );
    assert_eq!(get(&http, &register_ready).await.0, 200);

    mock.set_behaviour(Behaviour::Refuse).await;
    let deadline = std::time::Instant::now() + within;
    loop {
        let (_, body) = get(&http, &status_url).await;
        let (code, ready_body) = get(&http, &register_ready).await;
        if body["game_server"] == "down" && code == 503 {
            // Derivation off (the default): the constant stands.
            assert_eq!(body["server_status"], json!(1.0), "{body}");
            assert_eq!(ready_body["down"], json!(["game_server"]));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not down within {within:?}: status {body}, readiness {code} {ready_body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The status service serves from memory: it stays in the rotation and
    // shows the game server down.
    let (code, body) = get(&http, &status_ready).await;
    assert_eq!(
        (code, body),
        (
            200,
            json!({"status": "ready", "service": "status", "down": []})
        )
    );

    mock.set_behaviour(Behaviour::Normal).await;
    let deadline = std::time::Instant::now() + within;
    while get(&http, &status_url).await.1["game_server"] != "up"
        || get(&http, &register_ready).await.0 != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not back within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    status.stop().await;
    register.stop().await;
    stop_mock.cancel();
    mock.stopped().await;
}
