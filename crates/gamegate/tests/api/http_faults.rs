//! The fault suite of issue 16 for the HTTP connector: over 1,000
//! registrations through gamegate (`game_server.kind = "http"`, SQLite) to
//! the mock receiver while its listener is closed now and then (connections
//! refused, open ones cut) and every Nth request is dropped after reading,
//! executed then dropped, answered `internal`, answered 502 after acting, or
//! delayed past the call timeout. Once the faults stop and the reconciler
//! has run, the soak's own verifier (`gamegate_soak::verify`) judges the
//! answers against both stores: no account in one store only, no duplicate,
//! no 200 without an account, no 4xx to a valid request, nothing pending —
//! and every 200's account id is the receiver's.
//!
//! The every-Nth faults go through the mock receiver (it must act, or not,
//! before closing a connection, which a TCP proxy cannot know); the
//! connector's retry then meets the receiver's idempotency key.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gamegate_gameserver::{HttpBehaviour, HttpMockServer};
use gamegate_soak::faults::FaultKind;
use gamegate_soak::load::{Answer, Kind};
use gamegate_soak::verify::{FaultWindow, Observed, verify};
use tokio_util::sync::CancellationToken;

use crate::support::receiver::{RECEIVER_SECRET, use_http_receiver};
use crate::support::{TEST_API_KEY, player, sqlite_in, start, test_config};

const REGISTRATIONS: u64 = 1_100;
const CONCURRENCY: usize = 24;
/// Longer than the test call timeout (400 ms), shorter than the grace (1 s):
/// the connector gives up, the receiver still creates the account.
const LATE: Duration = Duration::from_millis(700);
/// The receiver refuses connections for `REFUSE_FOR` every `REFUSE_EVERY`.
const REFUSE_EVERY: Duration = Duration::from_millis(600);
const REFUSE_FOR: Duration = Duration::from_millis(150);
const SETTLE: Duration = Duration::from_secs(20);

async fn send(http: &reqwest::Client, url: &str, n: u64, started: Instant) -> Answer {
    let login = format!("Http_{n}");
    let sent_at = started.elapsed();
    let response = http
        .post(url)
        .header("x-api-key", TEST_API_KEY)
        .json(&player(&login, 5_000_000 + n as i64))
        .send()
        .await;
    let (status, detail, transport_error) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (
                Some(status),
                body["detail"].as_str().map(str::to_owned),
                None,
            )
        }
        Err(e) => (None, None, Some(e.to_string())),
    };
    Answer {
        kind: Kind::Register,
        sent_at,
        latency: started.elapsed() - sent_at,
        login: Some(login),
        status,
        detail,
        transport_error,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_registrations_under_receiver_faults_leave_both_stores_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let mock = HttpMockServer::start(
        "127.0.0.1:0".parse().unwrap(),
        RECEIVER_SECRET.into(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let mut config = test_config();
    sqlite_in(&mut config, dir.path());
    use_http_receiver(&mut config, &mock.url());
    config.game_server.pool_size = 16;
    gamegate::telemetry::init(gamegate::config::LogFormat::Pretty, &config.log.level);
    let app = start(config).await;

    mock.set_every(vec![
        (7, HttpBehaviour::DropAfterRead),
        (11, HttpBehaviour::InternalError),
        (13, HttpBehaviour::DropAfterExecute),
        (17, HttpBehaviour::Delay(LATE)),
        (23, HttpBehaviour::BadGateway),
    ]);
    let stop_refusing = CancellationToken::new();
    let refusing = tokio::spawn({
        let (mock, stop) = (mock.clone(), stop_refusing.clone());
        async move {
            let mut refusals = 0u32;
            // The first window early, so even a fast run has one.
            let mut wait = REFUSE_FOR;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return refusals,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = REFUSE_EVERY;
                mock.set_behaviour(HttpBehaviour::Refuse).await;
                tokio::time::sleep(REFUSE_FOR).await;
                mock.set_behaviour(HttpBehaviour::Normal).await;
                refusals += 1;
            }
        }
    });

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("http://{}/api/register", app.public());
    let started = Instant::now();
    let answers: Vec<Answer> = futures_util::stream::iter(0..REGISTRATIONS)
        .map(|n| send(&http, &url, n, started))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let load_ended = started.elapsed();
    stop_refusing.cancel();
    let refusals = refusing.await.unwrap();
    mock.set_every(Vec::new());
    mock.set_behaviour(HttpBehaviour::Normal).await;

    let settle_by = Instant::now() + SETTLE;
    let pending = loop {
        let pending = app.db.accounts().count_by_state().await.unwrap().1;
        if pending == 0 || Instant::now() > settle_by {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let db_logins = app.db.accounts().logins().await.unwrap();
    let journal = mock.journal();
    let verdict = verify(&Observed {
        answers: &answers,
        db_logins: &db_logins,
        db_pending: pending,
        game_journal: &journal,
        // The faults ran throughout: a 503 game_server_unavailable is allowed
        // anywhere; whether it was honest is what the stores say.
        faults: &[FaultWindow {
            kind: FaultKind::GameServerSlow,
            started: Duration::ZERO,
            ended: load_ended,
        }],
        fault_slack: Duration::from_secs(1),
    });
    eprintln!(
        "HTTP fault suite: {} registrations in {load_ended:?}, {} receiver requests, {refusals} \
         refusal windows; {:?}; registered {}, settled without a 200 {}, absent after a \
         failure {}",
        answers.len(),
        mock.requests(),
        verdict.answer_classes,
        verdict.registered,
        verdict.settled_without_200,
        verdict.absent_after_failure
    );
    assert!(
        verdict.violations.is_empty(),
        "violations: {:#?}",
        verdict.violations
    );
    assert_eq!(answers.len() as u64, REGISTRATIONS);

    // 0 false successes: each 200 is the receiver's account, by its id.
    for answer in answers.iter().filter(|a| a.status == Some(200)) {
        let login = answer.login.as_deref().unwrap();
        let row = app.db.accounts().find(login).await.unwrap().unwrap();
        assert_eq!(
            row.game_account_id.map(|id| id as u64),
            mock.account_id(login),
            "{login}"
        );
    }
    // The faults happened, and lost answers were settled both ways.
    assert!(refusals >= 1, "{refusals} refusal windows");
    assert!(verdict.registered > 0, "{verdict:?}");
    assert!(
        verdict.settled_without_200 > 0,
        "late or 502 answers: {verdict:?}"
    );
    assert!(
        verdict.absent_after_failure > 0,
        "internal or refused: {verdict:?}"
    );
    app.stop().await;
    shutdown.cancel();
}
