//! The split topology: several `gamegate serve register` processes and a
//! `serve status` process on one database, as the seed runs them behind a
//! load balancer. Real processes of the real binary.

use std::process::Stdio;
use std::time::Duration;

use futures_util::future::join_all;
use gamegate_gameserver::MockGameServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TEST_API_KEY, assert_error, fresh_database, player, test_config};

crate::on_every_backend!(three_register_processes_keep_every_invariant);

const TOKEN: &str = "split-test-token";

/// Starts `gamegate serve <service>` on a random port; returns the child and
/// the address it printed in its banner.
async fn serve(
    service: &str,
    db_url: &str,
    game_addr: &str,
    analytics_url: &str,
) -> (Child, String) {
    let c = test_config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gamegate"))
        .args(["serve", service])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GAMEGATE_DATABASE__URL", db_url)
        .env("GAMEGATE_ANALYTICS__URL", analytics_url)
        .env(
            format!("GAMEGATE_SERVICES__{}_ADDR", service.to_uppercase()),
            "127.0.0.1:0",
        )
        .env("GAMEGATE_GAME_SERVER__ADDR", game_addr)
        .env("GAMEGATE_GAME_SERVER__AUTH_TOKEN", TOKEN)
        .env(
            "GAMEGATE_PASSWORD_HASH__MEMORY_KIB",
            c.password_hash.memory_kib.to_string(),
        )
        .env(
            "GAMEGATE_PASSWORD_HASH__ITERATIONS",
            c.password_hash.iterations.to_string(),
        )
        .env("GAMEGATE_LOG__LEVEL", "warn")
        .env("GAMEGATE_EDGE__API_KEYS", TEST_API_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the gamegate binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line
                .trim_start()
                .strip_prefix(service)
                .and_then(|rest| rest.split_whitespace().next())
            {
                return url.trim_start_matches("http://").to_owned();
            }
        }
        panic!("gamegate serve {service} exited before printing its address");
    })
    .await
    .expect("the service starts within 30 s");
    // Keep reading so the child never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

async fn post(http: &reqwest::Client, addr: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(format!("http://{addr}/api/register"))
        .header("x-api-key", TEST_API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn three_register_processes_keep_every_invariant(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db_url) = fresh_database(backend, &dir).await else {
        return;
    };
    let analytics = format!("sqlite://{}", dir.path().join("analytics.db").display());
    let stop_mock = CancellationToken::new();
    let mock = MockGameServer::start(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        stop_mock.clone(),
    )
    .await
    .unwrap();
    let game = mock.local_addr().to_string();

    // MySQL and PostgreSQL serialise concurrent migrations with a lock, so the
    // replicas start together as compose starts them; SQLite is a single-host
    // store, there the first one migrates before the others start.
    let mut procs = Vec::new();
    if backend == Backend::Sqlite {
        procs.push(serve("register", &db_url, &game, &analytics).await);
    }
    let rest =
        join_all((procs.len()..3).map(|_| serve("register", &db_url, &game, &analytics))).await;
    procs.extend(rest);
    let (_status_proc, status_addr) = serve("status", &db_url, &game, &analytics).await;
    let addrs: Vec<String> = procs.iter().map(|(_, a)| a.clone()).collect();
    let http = reqwest::Client::new();

    // 150 registrations for one telegram id, spread over the three processes.
    let results =
        join_all((0..150).map(|i| post(&http, &addrs[i % 3], player(&format!("Many_{i}"), 777))))
            .await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 5);
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_error(
            reqwest::StatusCode::from_u16(*status).unwrap(),
            body,
            403,
            "limit_exceeded",
        );
    }

    // 150 registrations of one login in mixed case, for different ids.
    let results = join_all((0..150).map(|i| {
        let login = ["Solo", "solo", "SOLO"][i % 3];
        post(&http, &addrs[i % 3], player(login, 10_000 + i as i64))
    }))
    .await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1);
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_error(
            reqwest::StatusCode::from_u16(*status).unwrap(),
            body,
            409,
            "login_taken",
        );
    }

    // The database and the game server agree: 6 accounts in each.
    let db = gamegate_store::Database::connect(&db_url, &Default::default())
        .await
        .unwrap();
    assert_eq!(db.accounts().count_for_telegram(777).await.unwrap(), 5);
    assert_eq!(db.accounts().count_by_state().await.unwrap(), (6, 0));
    assert_eq!(mock.account_count(), 6);

    // Every service answers health and metrics on its own port; status serves the seed's path.
    for addr in addrs.iter().chain([&status_addr]) {
        let r = http
            .get(format!("http://{addr}/internal/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let health: Value = r.json().await.unwrap();
        assert_eq!(health["status"], "ok", "{health}");
        let metrics = http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("gamegate_http_requests_total"));
    }
    let status: Value = http
        .get(format!("http://{status_addr}/server/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["client_status"], json!(256.0));
    // The status service does not register, and a register service serves no status.
    let r = http
        .post(format!("http://{status_addr}/api/register"))
        .json(&player("x_y_z", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    stop_mock.cancel();
}
