//! The split topology: several `gamegate serve register` processes and a
//! `serve status` process on one database, as the seed runs them behind a
//! load balancer. Real processes of the real binary.

use std::process::Stdio;
use std::time::Duration;

use futures_util::future::join_all;
use gamegate_gameserver::MockGameServer;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::binary::{self, BANNER_WITHIN, Process};
use crate::support::{Backend, TEST_API_KEY, assert_error, fresh_database, player, test_config};

crate::on_every_backend!(
    three_register_processes_keep_every_invariant,
    a_rolling_restart_under_load_answers_200_or_a_clean_503_and_loses_nothing
);

const TOKEN: &str = "split-test-token";

/// Starts `gamegate serve <service>` on a random port; returns the process
/// and the address it printed in its banner.
async fn serve(
    service: &str,
    db_url: &str,
    game_addr: &str,
    analytics_url: &str,
) -> (Process, String) {
    let c = test_config();
    let mut cmd = binary::command();
    cmd.args(["serve", service])
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
        .env(
            "GAMEGATE_RECONCILER__INTERVAL_MS",
            c.reconciler.interval_ms.to_string(),
        )
        .env(
            "GAMEGATE_RECONCILER__GRACE_MS",
            c.reconciler.grace_ms.to_string(),
        )
        .env(
            "GAMEGATE_GAME_SERVER__CALL_TIMEOUT_MS",
            c.game_server.call_timeout_ms.to_string(),
        )
        .env("GAMEGATE_LOG__LEVEL", "warn")
        .env("GAMEGATE_EDGE__API_KEYS", TEST_API_KEY)
        .stderr(Stdio::inherit());
    let mut process = Process::spawn(&mut cmd);
    let addr = process.banner(BANNER_WITHIN).await.addr(service);
    (process, addr.to_string())
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

/// How long a register process may take to drain and exit on SIGTERM.
const STOP_WITHIN: Duration = Duration::from_secs(30);

/// Stops a process as systemd and docker do (SIGTERM), and waits for it.
async fn terminate(process: &mut Process) {
    let status = process
        .terminate(STOP_WITHIN)
        .await
        .expect("a register process drains and exits after SIGTERM");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
}

/// Three `serve register` replicas restarted one at a time (SIGTERM, wait,
/// start the new one, wait for its health) while 8 clients register
/// without pause, through a balancer that moves on to the next replica only
/// when a connection is refused — as nginx's and Traefik's upstreams do for
/// a POST. Every answer is a 200 or a clean JSON 503; once the reconciler
/// has run, the database and the game server hold exactly the same
/// accounts, each 200 among them.
async fn a_rolling_restart_under_load_answers_200_or_a_clean_503_and_loses_nothing(
    backend: Backend,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(serve("register", &db_url, &game, &analytics).await);
    }
    let upstreams = Arc::new(std::sync::Mutex::new(
        replicas.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
    ));

    // One connection per request: a balancer does not reuse a client's
    // keep-alive connection across replicas.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let (http, upstreams, stop, next) =
                (http.clone(), upstreams.clone(), stop.clone(), next.clone());
            tokio::spawn(async move {
                let mut answers: Vec<(String, u16, Value)> = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let login = format!("Roll{client}_{i}");
                    i += 1;
                    let body = player(&login, 500_000 + (client * 10_000 + i) as i64);
                    let mut tried = 0;
                    let answer = loop {
                        let list = upstreams.lock().unwrap().clone();
                        let addr = &list[next.fetch_add(1, Ordering::Relaxed) % list.len()];
                        let sent = http
                            .post(format!("http://{addr}/api/register"))
                            .header("x-api-key", TEST_API_KEY)
                            .json(&body)
                            .send()
                            .await;
                        match sent {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                break (status, r.json::<Value>().await.unwrap_or(Value::Null));
                            }
                            // Refused: this replica is down; the balancer tries the next.
                            Err(e) if e.is_connect() && tried < 10 => {
                                tried += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            Err(e) => panic!("{login}: no HTTP answer: {e}"),
                        }
                    };
                    answers.push((login, answer.0, answer.1));
                }
                answers
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    for slot in 0..3 {
        let (mut old, _) = replicas.remove(0);
        let (new, addr) = serve("register", &db_url, &game, &analytics).await;
        // Wait until the new replica is healthy before stopping the old one.
        for _ in 0..100 {
            let health = http
                .get(format!("http://{addr}/internal/health"))
                .send()
                .await;
            if health.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        upstreams.lock().unwrap()[slot] = addr;
        terminate(&mut old).await;
        replicas.push((new, String::new()));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    assert!(
        answers.len() > 30,
        "load ran through the restarts: {}",
        answers.len()
    );
    let mut ok = Vec::new();
    for (login, status, body) in &answers {
        match status {
            200 => ok.push(login.clone()),
            503 => assert!(
                body["ok"] == false && body["detail"].is_string() && body["message"].is_string(),
                "{login}: a 503 without the JSON error body: {body}"
            ),
            other => panic!("{login}: {other} {body}"),
        }
    }

    // The reconciler (of the new replicas) settles what is pending; then
    // both stores hold the same accounts, and every 200 among them.
    let db = gamegate_store::Database::connect(&db_url, &Default::default())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while db.accounts().count_by_state().await.unwrap().1 > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "pending registrations left"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut in_db = db.accounts().logins().await.unwrap();
    let mut on_game = mock.logins();
    in_db.sort();
    on_game.sort();
    assert_eq!(in_db, on_game, "an account in only one store");
    for login in &ok {
        assert!(in_db.contains(login), "{login} got 200 but is not stored");
    }
    for (mut child, _) in replicas {
        terminate(&mut child).await;
    }
    stop_mock.cancel();
}
