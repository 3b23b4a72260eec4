//! Registrations under faults with the AzerothCore/TrinityCore connectors:
//! auth-database connections cut mid-transaction and answers held past the
//! timeout (a TCP fault proxy in front of MariaDB), and SOAP timeouts,
//! dropped connections, garbled answers and faults (the fake worldserver).
//! Once the reconciler has run: no account in only one store, no duplicate,
//! no 200 for an account the game does not hold.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gamegate_soak::proxy::{FaultProxy, Mode};
use gamegate_wowcore::{Core, FakeConfig, FakeMode, FakeWorldserver};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Started, start};
use crate::wowcore::{AuthDbScratch, gamegate_logins, register, wow_config};
use gamegate::config::ConnectorKind;

/// What one run's answers were.
#[derive(Debug, Default)]
struct Tally {
    ok: BTreeSet<String>,
    unavailable: usize,
    other: Vec<String>,
}

/// Sends `count` registrations of distinct logins (`prefix` + n),
/// `concurrency` at a time.
async fn load(app: &Started, prefix: &str, count: usize, concurrency: usize) -> Tally {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let answers: Vec<_> = futures_util::stream::iter(0..count)
        .map(|i| {
            let (http, app) = (&http, app);
            let login = format!("{prefix}{i}");
            async move {
                let body = json!({"login": login, "password": "secret12", "gender": 0, "telegram_id": 1_000 + i});
                (login, register(http, app, body).await)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut tally = Tally::default();
    for (login, (status, body)) in answers {
        match (status, body["detail"].as_str()) {
            (StatusCode::OK, _) => {
                tally.ok.insert(login.to_ascii_lowercase());
            }
            (StatusCode::SERVICE_UNAVAILABLE, Some("game_server_unavailable")) => {
                tally.unavailable += 1
            }
            _ => tally.other.push(format!("{login}: {status} {body}")),
        }
    }
    tally
}

/// Waits (bounded) until the reconciler has settled every pending row.
async fn settled(app: &Started, limit: Duration) {
    let started = Instant::now();
    loop {
        let (_, pending) = app.db.accounts().count_by_state().await.unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{pending} rows still pending after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Both stores hold the same accounts, each once, and every 200 is in both.
async fn assert_agree(app: &Started, auth: &AuthDbScratch, tally: &Tally) {
    let game: Vec<String> = auth
        .usernames()
        .await
        .into_iter()
        .map(|u| u.to_ascii_lowercase())
        .collect();
    let game_set: BTreeSet<String> = game.iter().cloned().collect();
    assert_eq!(
        game.len(),
        game_set.len(),
        "a duplicate in the auth database"
    );
    let ours = gamegate_logins(app).await;
    let only_game: Vec<_> = game_set.difference(&ours).collect();
    let only_ours: Vec<_> = ours.difference(&game_set).collect();
    assert!(
        only_game.is_empty() && only_ours.is_empty(),
        "accounts in only one store: game {only_game:?}, gamegate {only_ours:?}"
    );
    let false_successes: Vec<_> = tally.ok.difference(&game_set).collect();
    assert!(
        false_successes.is_empty(),
        "200 without an account: {false_successes:?}"
    );
    assert!(
        tally.other.is_empty(),
        "unexpected answers: {:?}",
        tally.other
    );
}

async fn auth_database_cut_mid_transaction(core: Core) {
    let Some(auth) = AuthDbScratch::create(core).await else {
        return;
    };
    let upstream = url::Url::parse(&auth.url).unwrap();
    let upstream_addr = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(3306)
    );
    let proxy = FaultProxy::start(upstream_addr.parse().unwrap())
        .await
        .unwrap();
    let mut through = upstream.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.addr().port())).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let kind = match core {
        Core::AzerothCore => ConnectorKind::AzerothcoreDb,
        Core::TrinityCore => ConnectorKind::TrinitycoreDb,
    };
    let mut config = wow_config(dir.path(), kind);
    config.game_server.auth_db.url = through.to_string().into();
    config.game_server.auth_db.pool_size = 8;
    let app = start(config).await;

    // The faults: short outages that cut every open connection (whatever it
    // was doing: BEGIN, INSERT or COMMIT in flight), and spells where every
    // answer arrives after the call's deadline.
    let stop = Arc::new(AtomicBool::new(false));
    let faults = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(120 + u64::from(round % 5) * 40)).await;
                proxy.set_mode(if round % 3 == 2 {
                    Mode::Slow(Duration::from_millis(500))
                } else {
                    Mode::Down
                });
                tokio::time::sleep(Duration::from_millis(40 + u64::from(round % 4) * 20)).await;
                proxy.set_mode(Mode::Pass);
                round += 1;
            }
            proxy
        })
    };
    let tally = load(&app, "cut", 1_000, 16).await;
    stop.store(true, Ordering::Relaxed);
    let proxy = faults.await.unwrap();
    proxy.set_mode(Mode::Pass);
    settled(&app, Duration::from_secs(30)).await;
    assert_agree(&app, &auth, &tally).await;
    assert!(
        tally.unavailable > 0 && tally.ok.len() > 100,
        "the faults must bite and the service must still register: {} ok, {} unavailable",
        tally.ok.len(),
        tally.unavailable
    );
    let metrics = reqwest::get(format!("http://{}/metrics", app.admin()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("outcome=\"game_server_ambiguous\""),
        "some answers were lost after the INSERT was sent"
    );
    app.stop().await;
}

async fn soap_timeouts_drops_and_faults(core: Core) {
    let Some(auth) = AuthDbScratch::create(core).await else {
        return;
    };
    let fake = FakeWorldserver::start(FakeConfig {
        core,
        user: "gamegate".into(),
        password: "soap-pw-1".into(),
        low_level_user: None,
        auth_db: Some(auth.auth_db(&auth.url)),
    })
    .await
    .unwrap();
    let mut script = vec![FakeMode::Normal; 12];
    script[2] = FakeMode::SlowReply(Duration::from_millis(700));
    script[4] = FakeMode::DropAfterRun;
    script[6] = FakeMode::DropBeforeRun;
    script[8] = FakeMode::Fault;
    script[10] = FakeMode::Garbage;
    fake.set_script(script);

    let dir = tempfile::tempdir().unwrap();
    let kind = match core {
        Core::AzerothCore => ConnectorKind::AzerothcoreSoap,
        Core::TrinityCore => ConnectorKind::TrinitycoreSoap,
    };
    let mut config = wow_config(dir.path(), kind);
    config.game_server.auth_db.url = auth.url.clone().into();
    config.game_server.soap.url = fake.url();
    config.game_server.soap.user = "GameGate".into();
    config.game_server.soap.password = "soap-pw-1".to_owned().into();
    config.game_server.soap.call_timeout_ms = 600;
    // Longer than the fake can hold a command it ran (a 700 ms reply).
    config.reconciler.grace_ms = 3_000;
    let app = start(config).await;
    // The worldserver serves one call at a time: a site sends a few at once.
    let tally = load(&app, "soap", 300, 4).await;
    settled(&app, Duration::from_secs(30)).await;
    assert_agree(&app, &auth, &tally).await;
    // Five of twelve calls fail, and callers waiting behind a held answer.
    assert!(
        tally.unavailable >= 60 && tally.ok.len() >= 60,
        "{} ok, {} unavailable",
        tally.ok.len(),
        tally.unavailable
    );
    app.stop().await;
}

crate::wowcore::on_both_cores!(
    auth_database_cut_mid_transaction,
    soap_timeouts_drops_and_faults,
);
