//! `game_server.kind = "http"` end to end: gamegate (in-process, SQLite)
//! registering through the Python reference receiver of
//! `examples/gameserver-http/`, started as a real process — which checks
//! every signature with its own implementation (Python's `hmac`) — with a
//! TCP fault proxy between them for the lost answer; and `gamegate doctor`
//! against it.

use std::time::Duration;

use gamegate::commands::doctor::{self, CheckId, Outcome};
use gamegate_gameserver::{
    CallError, FailureKind, GameServer, HttpGameServer, HttpGameServerConfig,
};
use gamegate_soak::proxy::{FaultProxy, Mode};

use crate::support::receiver::{RECEIVER_SECRET, python_receiver, register_at, use_http_receiver};
use crate::support::{Started, assert_error, player, sqlite_in, start, test_config};

/// Longer than the test call timeout (400 ms), shorter than the grace (1 s).
const LATE: Duration = Duration::from_millis(700);
const SETTLE: Duration = Duration::from_secs(15);

fn direct(url: &str, secret: &str) -> HttpGameServer {
    HttpGameServer::new(HttpGameServerConfig {
        url: url.to_owned(),
        signing_secret: secret.into(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(5),
        rules: Default::default(),
        ca_pem: None,
    })
    .unwrap()
}

async fn eventually_settled(app: &Started) {
    let give_up = std::time::Instant::now() + SETTLE;
    while app.db.accounts().count_by_state().await.unwrap().1 != 0 {
        assert!(
            std::time::Instant::now() < give_up,
            "the reconciler settles every reservation within {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn registrations_go_through_the_python_reference_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let Some(receiver) = python_receiver(dir.path()).await else {
        return;
    };
    let proxy = FaultProxy::start(receiver.addr).await.unwrap();
    let mut config = test_config();
    sqlite_in(&mut config, dir.path());
    use_http_receiver(&mut config, &format!("http://{}/", proxy.addr()));
    gamegate::telemetry::init(gamegate::config::LogFormat::Pretty, &config.log.level);
    let app = start(config.clone()).await;
    assert!(app.mock.is_none(), "the v1 mock is not started for http");
    assert!(
        app.banner
            .contains("connector http (register, exists, delete, set_password, online, ping"),
        "{}",
        app.banner
    );
    let http = reqwest::Client::new();

    // A registration: in both stores, with the receiver's account id.
    let (status, body) = register_at(&http, app.public(), &player("Hero_01", 1001)).await;
    assert_eq!(status, 200, "{body}");
    let row = app.db.accounts().find("Hero_01").await.unwrap().unwrap();
    assert_eq!(row.state, "synced");
    assert_eq!(row.game_account_id, receiver.account_id("Hero_01"));
    assert!(row.game_account_id.is_some());

    // The receiver's own login_taken (an account made there directly, in
    // another case): 409, nothing kept.
    let game = direct(&receiver.url, RECEIVER_SECRET);
    game.register("taken_1", "secret12", 0).await.unwrap();
    // The receiver folds logins as gamegate does (NFC of the lowercased NFD):
    // a decomposed, upper-case spelling is the same account.
    game.register("Élan", "secret12", 0).await.unwrap();
    assert!(game.exists("E\u{301}LAN").await.unwrap());
    assert_eq!(
        gamegate_domain::normalise_login("E\u{301}LAN"),
        gamegate_domain::normalise_login("Élan")
    );
    assert!(matches!(
        game.register("ÉLAN", "secret12", 1).await,
        Err(gamegate_gameserver::RegisterError::LoginTaken)
    ));
    game.delete("élan").await.unwrap();
    assert!(!game.exists("Élan").await.unwrap());
    let (status, body) = register_at(&http, app.public(), &player("TAKEN_1", 1002)).await;
    assert_error(status, &body, 409, "login_taken");
    assert!(app.db.accounts().find("TAKEN_1").await.unwrap().is_none());

    // A lost answer: the proxy holds the receiver's reply past the call
    // timeout. 503, the login stays reserved, the receiver created it; once
    // answers flow again the reconciler asks `exists` and confirms it.
    proxy.set_mode(Mode::Slow(LATE));
    let (status, body) = register_at(&http, app.public(), &player("Late_1", 1003)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    assert_eq!(
        app.db
            .accounts()
            .find("Late_1")
            .await
            .unwrap()
            .unwrap()
            .state,
        "pending"
    );
    proxy.set_mode(Mode::Pass);
    eventually_settled(&app).await;
    assert_eq!(
        app.db
            .accounts()
            .find("Late_1")
            .await
            .unwrap()
            .unwrap()
            .state,
        "synced"
    );

    // A receiver that is down: certainly not created, nothing kept.
    proxy.set_mode(Mode::Down);
    let (status, body) = register_at(&http, app.public(), &player("Down_1", 1004)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    proxy.set_mode(Mode::Pass);
    eventually_settled(&app).await;

    // The two stores agree: what gamegate holds is what the receiver holds
    // (taken_1 aside, made on the receiver only by this test).
    let mut in_db = app
        .db
        .accounts()
        .logins()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.to_lowercase())
        .collect::<std::collections::BTreeSet<_>>();
    in_db.insert("taken_1".into());
    assert_eq!(in_db, receiver.logins());

    // The receiver refuses another secret, definitely.
    let e = direct(&receiver.url, "another-secret-0123456789")
        .ping()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Unavailable(f) if f.kind == FailureKind::AuthRefused),
        "{e}"
    );

    // doctor: the signature is accepted; with another secret, refused.
    let skip: Vec<CheckId> = CheckId::ALL
        .into_iter()
        .filter(|c| *c != CheckId::GameServer)
        .collect();
    let report = doctor::run(&config, &skip).await;
    let check = report.get(CheckId::GameServer);
    assert_eq!(check.outcome, Outcome::Pass, "{}", report.to_text());
    assert!(
        check.reason.contains("signature accepted"),
        "{}",
        check.reason
    );
    assert!(
        !check.reason.contains("warning"),
        "loopback: {}",
        check.reason
    );
    let mut wrong = config.clone();
    wrong.game_server.http.signing_secret = "another-secret-0123456789".into();
    let report = doctor::run(&wrong, &skip).await;
    let check = report.get(CheckId::GameServer);
    assert_eq!(check.outcome, Outcome::Fail, "{}", report.to_text());
    assert!(
        check.reason.contains("refused the request signature"),
        "{}",
        check.reason
    );
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .contains("SIGNING_SECRET_FILE")
    );
    assert!(!report.to_text().contains("another-secret"));
    app.stop().await;
}

#[tokio::test]
async fn doctor_checks_the_receivers_host_and_warns_about_clear_text() {
    let mut config = test_config();
    // TEST-NET-1 (RFC 5737): not this machine, and nothing answers there.
    use_http_receiver(&mut config, "http://192.0.2.1:8090/gamegate");
    config.game_server.connect_timeout_ms = 300;
    let strong = gamegate::shared::keys::api_key();
    config.game_server.http.signing_secret = strong.clone().into();
    let skip: Vec<CheckId> = CheckId::ALL
        .into_iter()
        .filter(|c| {
            !matches!(
                c,
                CheckId::GameServer | CheckId::GameServerToken | CheckId::EmbeddedMock
            )
        })
        .collect();
    let report = doctor::run(&config, &skip).await;
    let check = report.get(CheckId::GameServer);
    assert_eq!(check.outcome, Outcome::Fail, "{}", report.to_text());
    assert!(
        check.reason.starts_with("http://192.0.2.1:8090/gamegate"),
        "{}",
        check.reason
    );
    assert!(
        check.reason.contains("warning: http:// to 192.0.2.1"),
        "{}",
        check.reason
    );
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .contains("game_server.http.url")
    );
    // The signing secret is the credential judged; the mock is not used.
    let token = report.get(CheckId::GameServerToken);
    assert_eq!(token.outcome, Outcome::Pass, "{}", report.to_text());
    assert!(
        token
            .reason
            .starts_with(&format!("signing secret: {} characters", strong.len())),
        "{}",
        token.reason
    );
    assert_eq!(
        report.get(CheckId::EmbeddedMock).outcome,
        Outcome::NotApplicable
    );
    config.game_server.http.signing_secret = "0123456789abcdef".into();
    let report = doctor::run(&config, &skip).await;
    let token = report.get(CheckId::GameServerToken);
    assert!(
        token
            .reason
            .contains("weak game_server.http.signing_secret"),
        "{}",
        token.reason
    );
    assert!(!report.to_text().contains(&strong));
}
