//! Attacks on the conformance kit itself (`gamegate gameserver check`, the
//! real binary, over real sockets): with `[game_server.tls]` it speaks TLS
//! (passes against the TLS mock; a plain listener never sees the token);
//! under short login rules it registers over, changes the password of and
//! deletes no player's account; a delete that answers ok but keeps the account fails the
//! cleanup, naming what is left; a command the server does not announce
//! (`online`, `set_password`) is not applicable; a TLS server met in plain
//! text is named as such.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gamegate_gameserver::tls::server_config;
use gamegate_gameserver::{Fingerprint, MockGameServer, MockHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::conformance::{Flaw, FlawedServer, TOKEN, assert_all_pass, kit, outcomes};

/// The TLS mock with a self-signed certificate for 127.0.0.1, and the
/// `GAMEGATE_*` settings that pin it.
async fn tls_mock() -> (MockHandle, DropGuard, Vec<(&'static str, String)>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let tls = server_config(
        cert.cert.pem().as_bytes(),
        cert.key_pair.serialize_pem().as_bytes(),
        None,
    )
    .unwrap();
    let stop = CancellationToken::new();
    let mock = MockGameServer::start_tls(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        tls,
        stop.clone(),
    )
    .await
    .unwrap();
    let pin = Fingerprint::of(cert.cert.der()).to_string();
    (mock, stop.drop_guard(), tls_env(pin))
}

fn tls_env(pin: String) -> Vec<(&'static str, String)> {
    vec![
        ("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false".to_owned()),
        ("GAMEGATE_GAME_SERVER__TLS__ENABLED", "true".to_owned()),
        ("GAMEGATE_GAME_SERVER__TLS__FINGERPRINT_SHA256", pin),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The check `id` of a JSON report.
fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

#[tokio::test]
async fn with_tls_configured_the_kit_passes_against_the_tls_mock() {
    let (mock, _stop, env) = tls_mock().await;
    let run = kit(&mock.local_addr().to_string(), TOKEN, true, &borrowed(&env)).await;
    let report = assert_all_pass(&run);
    let connect = check(&report, "tcp_connect")["reason"].as_str().unwrap();
    assert!(connect.contains("accepts TLS connections"), "{connect}");
}

/// A plain-text listener that records every byte it receives and answers
/// each connection's first bytes as a v1 server answers garbage.
async fn recorder() -> (String, Arc<Mutex<Vec<u8>>>, DropGuard) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let (shared, token) = (Arc::clone(&seen), stop.clone());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tokio::select! {
                _ = token.cancelled() => return,
                accepted = listener.accept() => accepted.unwrap(),
            };
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut answered = false;
                let read = async {
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        seen.lock().unwrap().extend_from_slice(&buf[..n]);
                        if !answered {
                            answered = true;
                            let reply = b"{\"id\":0,\"ok\":false,\"error\":\"invalid\"}\n";
                            let _ = stream.write_all(reply).await;
                            let _ = stream.shutdown().await;
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
            });
        }
    });
    (addr, seen, stop.drop_guard())
}

#[tokio::test]
async fn with_tls_configured_a_plain_listener_never_receives_the_token() {
    let (addr, seen, _stop) = recorder().await;
    let env = tls_env("ab".repeat(32));
    let run = kit(&addr, TOKEN, false, &borrowed(&env)).await;
    run.assert_fails_with(&["tcp_connect"]);
    assert_eq!(
        run.failed(),
        vec!["tcp_connect".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("tcp_connect");
    assert!(
        line.contains("TLS with") && line.contains("did not answer in TLS"),
        "{line}"
    );
    let register = run.line("register");
    assert!(
        register.contains("tcp_connect failed: TLS with"),
        "{register}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.first(),
        Some(&0x16),
        "the kit sent a TLS ClientHello first"
    );
    let token = TOKEN.as_bytes();
    assert!(
        !seen.windows(token.len()).any(|w| w == token),
        "the token crossed the wire in clear text"
    );
}

#[tokio::test]
async fn with_tls_off_a_tls_server_is_named_and_never_sent_the_token() {
    let (mock, _stop, _env) = tls_mock().await;
    let run = kit(&mock.local_addr().to_string(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["tcp_connect"]);
    assert_eq!(
        run.failed(),
        vec!["tcp_connect".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("tcp_connect");
    assert!(line.contains("it speaks TLS"), "{line}");
    assert!(
        run.stdout()
            .contains("the server speaks TLS: configure [game_server.tls]"),
        "{}",
        run.stdout()
    );
    let skipped = run.line("auth_accepted");
    assert!(
        skipped.starts_with("– ") && skipped.contains("speaks TLS"),
        "{skipped}"
    );
}

/// Every login of three letters a–z (17,576).
fn every_three_letter_login() -> Vec<String> {
    let letters = || b'a'..=b'z';
    letters()
        .flat_map(|a| letters().flat_map(move |b| letters().map(move |c| [a, b, c])))
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect()
}

#[tokio::test]
async fn under_short_login_rules_the_kit_touches_no_players_account() {
    let server = FlawedServer::start(Flaw::Correct).await;
    let players = every_three_letter_login();
    assert_eq!(players.len(), 17_576);
    server.fill(players);
    let mut before = server.logins();
    before.sort();
    let run = kit(
        &server.addr(),
        TOKEN,
        false,
        &[
            ("GAMEGATE_GAME_SERVER__RULES__LOGIN_MAX_CHARS", "3"),
            ("GAMEGATE_GAME_SERVER__RULES__LOGIN_CHARSET", "a-z"),
        ],
    )
    .await;
    let mut after = server.logins();
    after.sort();
    assert_eq!(after.len(), before.len(), "{}", run.describe());
    assert!(after == before, "the kit changed players' accounts");
    assert_eq!(
        server.password_changes(),
        Vec::<String>::new(),
        "the kit changed a player's password"
    );
    assert!(run.output.status.success(), "{}", run.describe());
    for id in [
        "register",
        "exists_unknown",
        "set_password",
        "delete_missing",
        "set_password_missing",
        "account_rules",
    ] {
        let line = run.line(id);
        assert!(
            line.starts_with("– ") && line.contains("exists answered true"),
            "{line}"
        );
    }
    assert!(run.line("ping").starts_with("✓"), "{}", run.stdout());
}

#[tokio::test]
async fn a_delete_that_keeps_the_account_fails_the_cleanup_naming_what_is_left() {
    let server = FlawedServer::start(Flaw::DeleteKeeps).await;
    let run = kit(&server.addr(), TOKEN, true, &[]).await;
    assert!(!run.output.status.success(), "{}", run.describe());
    let (report, by_id) = outcomes(&run);
    assert_eq!(by_id["exists_after_delete"], "fail", "{report:#}");
    assert_eq!(by_id["cleanup"], "fail", "{report:#}");
    let mut left = server.logins();
    left.sort();
    assert!(!left.is_empty());
    let reason = check(&report, "cleanup")["reason"].as_str().unwrap();
    for login in &left {
        assert!(
            reason.contains(login.as_str()),
            "{login} not named: {reason}"
        );
    }
    assert!(reason.contains("still exist"), "{reason}");
    let mut listed: Vec<String> = report["left_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, left, "{report:#}");
}

#[tokio::test]
async fn an_online_the_server_does_not_announce_is_not_applicable() {
    let server = FlawedServer::start(Flaw::NoOnlineAnnounced).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    assert!(run.output.status.success(), "{}", run.describe());
    let line = run.line("online");
    assert!(
        line.starts_with("– ") && line.contains("does not announce"),
        "{line}"
    );
    assert!(run.line("ping").starts_with("✓"), "{}", run.stdout());
}

#[tokio::test]
async fn a_set_password_the_server_does_not_announce_is_not_applicable() {
    let server = FlawedServer::start(Flaw::NoSetPasswordAnnounced).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    assert!(run.output.status.success(), "{}", run.describe());
    for id in ["set_password", "set_password_missing"] {
        let line = run.line(id);
        assert!(
            line.starts_with("– ") && line.contains("does not announce"),
            "{line}"
        );
    }
    assert!(
        run.line("delete_missing").starts_with("✓"),
        "{}",
        run.stdout()
    );
    assert!(server.logins().is_empty(), "{:?}", server.logins());
}

/// The HTTP connector's reference receiver (examples/gameserver-http) as a
/// `python3` process: every connector check passes, the wire checks of
/// protocol v1 are not applicable, and nothing is left in its accounts file.
#[tokio::test]
async fn the_kit_passes_against_the_http_reference_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let Some(receiver) = crate::support::receiver::python_receiver(dir.path()).await else {
        return;
    };
    let run = crate::conformance::kit(
        "127.0.0.1:1",
        "unused-for-http-0123456789",
        true,
        &[
            ("GAMEGATE_GAME_SERVER__KIND", "http"),
            ("GAMEGATE_GAME_SERVER__HTTP__URL", &receiver.url),
            (
                "GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET",
                crate::support::receiver::RECEIVER_SECRET,
            ),
        ],
    )
    .await;
    assert!(run.output.status.success(), "{}", run.describe());
    let (report, by_id) = crate::conformance::outcomes(&run);
    for check in [
        "ping",
        "register",
        "exists_after_create",
        "duplicate",
        "case_folding",
        "exists_unknown",
        "exists_under_load",
        "set_password",
        "exists_after_delete",
        "delete_missing",
        "set_password_missing",
        "account_rules",
        "cleanup",
    ] {
        assert_eq!(by_id[check], "pass", "{check}: {report:#}");
    }
    assert!(
        by_id.values().all(|o| o != "fail"),
        "no ✗ against the reference receiver: {report:#}"
    );
    assert_eq!(report["left_accounts"], serde_json::json!([]));
    assert!(receiver.logins().is_empty(), "the kit deleted what it made");
}
