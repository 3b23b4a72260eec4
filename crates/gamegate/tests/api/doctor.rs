//! `gamegate doctor` against real things: a running app's databases, its mock
//! game server (with auth), the fake Bot API over HTTP, certificates made by
//! rcgen, backups written by `gamegate backup` (or, on MariaDB/PostgreSQL, by
//! the documented dump recipe). A good configuration passes every check; each
//! broken item fails alone, with its own reason and a fix.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gamegate::Config;
use gamegate::commands::backup::{BackupArgs, Outcome as BackupOutcome};
use gamegate::commands::doctor::{self, CheckId, Outcome, Report};
use time::OffsetDateTime;

use crate::support::tools::free_port;
use crate::support::{Backend, TestApp, binary, fresh_database, spawn_app_with};
use crate::telegram::{BOT_TOKEN, FakeBotApi, Mode, gate_on};
use gamegate::config::{ExposeSecret, SecretString, networks};

pub const DOMAIN: &str = "api.game.test";

pub struct Setup {
    pub app: TestApp,
    pub config: Config,
    pub bot: FakeBotApi,
    pub dir: tempfile::TempDir,
}

/// A PEM certificate for `names` valid from `from` to `until` (days from
/// now), and its key; returns their paths.
pub fn certificate(
    dir: &Path,
    tag: &str,
    names: &[&str],
    from: i64,
    until: i64,
) -> (PathBuf, PathBuf) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from);
    params.not_after = now + time::Duration::days(until);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join(format!("{tag}-fullchain.pem"));
    let key_path = dir.join(format!("{tag}-privkey.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// Runs the dump command `gamegate backup` printed (the test servers have no
/// password, so the masked `''` is the real one) under bash with pipefail.
pub fn run_recipe(command: &str) {
    let out = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", command])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "recipe failed: {command}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Everything a production checklist wants, on `backend`.
pub async fn good_setup(backend: Backend) -> Option<Setup> {
    let bot = FakeBotApi::start(&[]).await;
    let token = gamegate::shared::keys::api_key();
    let app = spawn_app_with(backend, |c| {
        gate_on(c, &bot);
        c.game_server.auth_token = token.clone().into();
    })
    .await?;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path(), "good", &[DOMAIN], -1, 90);
    let mut config = app.config.clone();
    config.game_server.addr = app.mock.local_addr().to_string();
    // The app under test runs the embedded mock; the configuration doctor
    // judges is the production one that talks to it as the game server.
    config.game_server.embedded_mock = false;
    config.http.demo_site = false;
    config.analytics.seed_demo_history = false;
    config.nginx.server_name = DOMAIN.into();
    config.nginx.tls_certificate = cert.display().to_string();
    config.nginx.tls_certificate_key = key.display().to_string();
    config.edge.api_keys = vec![gamegate::shared::keys::api_key().into()];
    config.edge.cors_allowed_origins = vec!["https://game.test".into()];
    config.edge.trusted_proxies = networks(&["10.8.0.1", "172.30.0.0/24"]).unwrap();
    config.log.access_log = "stdout".into();
    config.backup.dir = dir.path().join("backups").display().to_string();
    let outcomes = gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: None,
            analytics_out: None,
        },
    )
    .await
    .expect("backup runs");
    for (_, outcome) in outcomes {
        if let BackupOutcome::Recipe(command) = outcome {
            assert_ne!(backend, Backend::Sqlite, "SQLite is copied, not explained");
            run_recipe(&command);
        }
    }
    Some(Setup {
        app,
        config,
        bot,
        dir,
    })
}

/// `id` failed, with `needle` in its reason and a fix; nothing else failed.
#[track_caller]
pub fn assert_fails_alone(report: &Report, id: CheckId, needle: &str) {
    let check = report.get(id);
    assert_eq!(check.outcome, Outcome::Fail, "{}", report.to_text());
    assert!(
        check.reason.contains(needle),
        "{:?}: {:?} lacks {needle:?}",
        id,
        check.reason
    );
    assert!(check.fix.as_deref().is_some_and(|f| !f.is_empty()));
    assert_eq!(report.failed(), vec![id], "{}", report.to_text());
}

async fn good_config_passes_every_check(backend: Backend) {
    let Some(s) = good_setup(backend).await else {
        return;
    };
    let report = doctor::run(&s.config, &[]).await;
    for check in &report.checks {
        assert_eq!(check.outcome, Outcome::Pass, "{}", report.to_text());
    }
    assert!(report.ok());
    let text = report.to_text();
    assert!(text.contains("✓ certificate"), "{text}");
    assert!(text.contains("17 passed, 0 failed"), "{text}");
    assert!(
        report
            .get(CheckId::Telegram)
            .reason
            .contains("@gamegate_test_bot")
    );
    // Nothing secret in either output.
    let json = report.to_json().to_string();
    for secret in [
        BOT_TOKEN,
        s.config.edge.api_keys[0].expose_secret(),
        s.config.game_server.auth_token.expose_secret(),
    ] {
        assert!(!text.contains(secret) && !json.contains(secret));
    }
    s.app.stop().await;
}

async fn an_unmigrated_or_behind_database_fails(backend: Backend) {
    let Some(s) = good_setup(backend).await else {
        return;
    };
    // A fresh database nobody migrated (for SQLite an empty file: doctor
    // never creates one).
    let mut config = s.config.clone();
    config.database.url = match backend {
        Backend::Sqlite => {
            let path = s.dir.path().join("empty.db");
            std::fs::File::create(&path).unwrap();
            format!("sqlite://{}", path.display())
        }
        _ => fresh_database(backend, &s.dir).await.unwrap(),
    };
    let report = doctor::run(&config, &[]).await;
    assert_fails_alone(&report, CheckId::AccountsDatabase, "not migrated");

    // Migration 2 rolled back by hand: the database is behind this binary.
    sqlx::query(sqlx::AssertSqlSafe(
        "DELETE FROM _gamegate_migrations_accounts WHERE version = 2",
    ))
    .execute(s.app.db.pool())
    .await
    .unwrap();
    let report = doctor::run(&s.config, &[]).await;
    assert_fails_alone(&report, CheckId::AccountsDatabase, "behind: migrations [2]");
    s.app.stop().await;
}

crate::on_every_backend!(
    good_config_passes_every_check,
    an_unmigrated_or_behind_database_fails
);

async fn sqlite_setup() -> Setup {
    good_setup(Backend::Sqlite)
        .await
        .expect("SQLite always runs")
}

#[tokio::test]
async fn a_missing_unparseable_mismatched_expired_or_expiring_certificate_fails() {
    let s = sqlite_setup().await;
    let dir = s.dir.path();
    let with_cert = |cert: &Path, key: &Path| {
        let mut c = s.config.clone();
        c.nginx.tls_certificate = cert.display().to_string();
        c.nginx.tls_certificate_key = key.display().to_string();
        c
    };
    let (_, good_key) = certificate(dir, "k", &[DOMAIN], -1, 90);
    let missing = dir.join("nothing.pem");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let (other, other_key) = certificate(dir, "other", &["www.game.test"], -1, 90);
    let (wildcard, wildcard_key) = certificate(dir, "wild", &["*.game.test"], -1, 90);
    let (expired, expired_key) = certificate(dir, "expired", &[DOMAIN], -100, -10);
    let (expiring, expiring_key) = certificate(dir, "expiring", &[DOMAIN], -80, 10);
    for (config, needle) in [
        (with_cert(&missing, &good_key), "does not exist"),
        (with_cert(&garbage, &good_key), "holds no PEM certificate"),
        (
            with_cert(&other, &other_key),
            "the certificate is for www.game.test, not for api.game.test",
        ),
        (with_cert(&expired, &expired_key), "expired on"),
        (with_cert(&expiring, &expiring_key), "in 9 days"),
        (
            with_cert(Path::new(&s.config.nginx.tls_certificate), &garbage),
            "no PEM private key",
        ),
    ] {
        let report = doctor::run(&config, &[]).await;
        assert_fails_alone(&report, CheckId::Certificate, needle);
    }
    // A wildcard for the parent domain is fine.
    let report = doctor::run(&with_cert(&wildcard, &wildcard_key), &[]).await;
    assert!(report.ok(), "{}", report.to_text());
    // gamegate's own TLS is checked instead of nginx's when it is on.
    let mut own = s.config.clone();
    own.http.tls_cert_file = expired.display().to_string();
    own.http.tls_key_file = expired_key.display().to_string();
    let report = doctor::run(&own, &[]).await;
    assert_fails_alone(&report, CheckId::Certificate, "expired on");
    // Skipped on a host without the public certificate.
    let report = doctor::run(&with_cert(&missing, &good_key), &[CheckId::Certificate]).await;
    assert_eq!(
        report.get(CheckId::Certificate).outcome,
        Outcome::NotApplicable
    );
    assert!(report.ok());
    s.app.stop().await;
}

#[tokio::test]
async fn missing_or_weak_api_keys_fail_without_showing_them() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.edge.api_keys = vec![];
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::ApiKeys,
        "edge.api_keys is empty",
    );
    // Long enough for the config's own check (16), not for doctor.
    for weak in [
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "passwordpassword",
        "abcabcabcabcabcabcabcabcabcabcabcabc",
    ] {
        let mut c = s.config.clone();
        c.edge.api_keys = vec![gamegate::shared::keys::api_key().into(), weak.into()];
        let report = doctor::run(&c, &[]).await;
        assert_fails_alone(&report, CheckId::ApiKeys, "weak API key (key 2 of 2");
        assert!(!report.to_text().contains(weak));
        assert!(!report.to_json().to_string().contains(weak));
    }
    // No keys here because the edge in front checks them: not this host's item.
    let mut c = s.config.clone();
    c.edge.api_keys = vec![];
    c.edge.keys_checked_upstream = true;
    let report = doctor::run(&c, &[]).await;
    assert_eq!(report.get(CheckId::ApiKeys).outcome, Outcome::NotApplicable);
    assert!(report.ok());
    s.app.stop().await;
}

#[tokio::test]
async fn cors_star_fails() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.edge.cors_allowed_origins = vec!["https://game.test".into(), "*".into()];
    assert_fails_alone(&doctor::run(&c, &[]).await, CheckId::Cors, "contains \"*\"");
    s.app.stop().await;
}

/// `gamegate all`'s defaults are for one machine: doctor names each of
/// them with its own ✗ and fix, and `--skip` takes the names it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_defaults_each_fail_with_a_fix() {
    let s = sqlite_setup().await;
    let dev = Config::default();
    let mut c = s.config.clone();
    c.game_server.embedded_mock = dev.game_server.embedded_mock;
    c.http.demo_site = dev.http.demo_site;
    c.analytics.seed_demo_history = dev.analytics.seed_demo_history;
    c.edge.cors_allowed_origins = dev.edge.cors_allowed_origins.clone();
    let report = doctor::run(&c, &[]).await;
    let text = report.to_text();
    for (id, needle) in [
        (CheckId::EmbeddedMock, "game_server.embedded_mock is on"),
        (CheckId::DemoSite, "http.demo_site is on"),
        (CheckId::DemoHistory, "analytics.seed_demo_history is on"),
        (CheckId::Cors, "contains \"*\""),
    ] {
        let check = report.get(id);
        assert_eq!(check.outcome, Outcome::Fail, "{id:?}\n{text}");
        assert!(check.reason.contains(needle), "{id:?}: {}", check.reason);
        assert!(check.fix.as_deref().is_some_and(|f| !f.is_empty()));
    }
    assert_eq!(report.failed().len(), 4, "{text}");

    // The default token, and a short one, each fail the token check; the
    // token itself is never printed.
    for (token, needle) in [
        (
            gamegate::config::DEV_GAME_SERVER_TOKEN,
            "development default",
        ),
        ("s3cret-but-short", "16 characters"),
    ] {
        let mut c = s.config.clone();
        c.game_server.auth_token = token.into();
        // The mock still knows the test's token, so the link check is
        // skipped here: this is about the configured value.
        let report = doctor::run(&c, &[CheckId::GameServer]).await;
        assert_fails_alone(&report, CheckId::GameServerToken, needle);
        assert!(!report.to_text().contains(token));
        assert!(!report.to_json().to_string().contains(token));
    }

    // Listeners reachable from other hosts: the admin one without
    // authentication, and plain HTTP on a public address with nothing in
    // front.
    let mut c = s.config.clone();
    c.http.admin_addr = "0.0.0.0:9000".parse().unwrap();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::AdminListener,
        "http.admin_addr 0.0.0.0:9000 is reachable from other hosts",
    );
    // `serve stats` on a public address serves the dashboard too.
    c.services.stats_addr = "10.8.0.2:8084".parse().unwrap();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::AdminListener,
        "http.admin_addr 0.0.0.0:9000 and services.stats_addr 10.8.0.2:8084 are reachable",
    );
    c.http.admin_addr = "127.0.0.1:9000".parse().unwrap();
    let report = doctor::run(&c, &[]).await;
    assert_fails_alone(
        &report,
        CheckId::AdminListener,
        "services.stats_addr 10.8.0.2:8084 is reachable from other hosts",
    );
    assert!(
        report
            .get(CheckId::AdminListener)
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("admin.tokens")),
        "{}",
        report.to_text()
    );
    // Operator tokens put either right; the tokens themselves are never printed.
    let token = "operator-token-for-the-doctor-0001";
    for admin in ["0.0.0.0:9000", "[::]:9000", "127.0.0.1:9000"] {
        c.http.admin_addr = admin.parse().unwrap();
        c.admin.tokens = vec![token.into()];
        let report = doctor::run(&c, &[]).await;
        assert!(report.ok(), "{}", report.to_text());
        let check = report.get(CheckId::AdminListener);
        assert!(
            check.reason.contains("1 operator token(s)"),
            "{}",
            check.reason
        );
        assert!(!report.to_text().contains(token));
        assert!(!report.to_json().to_string().contains(token));
        c.admin.tokens.clear();
        assert_eq!(
            doctor::run(&c, &[])
                .await
                .get(CheckId::AdminListener)
                .outcome,
            Outcome::Fail,
            "{admin} without tokens"
        );
    }
    let mut c = s.config.clone();
    c.http.public_addr = "[::]:8000".parse().unwrap();
    c.edge.trusted_proxies = vec![];
    let report = doctor::run(&c, &[CheckId::TrustedProxies]).await;
    assert_fails_alone(&report, CheckId::Tls, "over plain HTTP");
    // … which the proxy in front, or gamegate's own TLS, puts right.
    c.edge.trusted_proxies = networks(&["10.8.0.1"]).unwrap();
    assert!(doctor::run(&c, &[]).await.ok());

    // `--skip` with the names the report prints (snake_case), through the binary.
    let out = gamegate(
        &c,
        s.dir.path(),
        &[
            "doctor",
            "--skip",
            "accounts_database",
            "--skip",
            "game_server_token",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("15 passed, 0 failed, 2 not applicable"),
        "{stdout}"
    );
    s.app.stop().await;
}

#[tokio::test]
async fn rate_limits_off_fail() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.edge.status_per_minute = 0;
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::RateLimits,
        "edge.status_per_minute = 0",
    );
    s.app.stop().await;
}

#[tokio::test]
async fn a_proxy_without_trusted_proxies_or_trusting_everyone_fails() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.edge.trusted_proxies = vec![];
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::TrustedProxies,
        "edge.trusted_proxies is empty",
    );
    c.edge.trusted_proxies = networks(&["0.0.0.0/0"]).unwrap();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::TrustedProxies,
        "any client can forge its address",
    );
    // gamegate terminating TLS itself: no proxy, nothing to trust.
    let mut c = s.config.clone();
    c.edge.trusted_proxies = vec![];
    c.http.tls_cert_file = s.config.nginx.tls_certificate.clone();
    c.http.tls_key_file = s.config.nginx.tls_certificate_key.clone();
    let report = doctor::run(&c, &[]).await;
    assert_eq!(
        report.get(CheckId::TrustedProxies).outcome,
        Outcome::NotApplicable
    );
    assert!(report.ok(), "{}", report.to_text());
    s.app.stop().await;
}

#[tokio::test]
async fn an_unreachable_database_fails_within_the_bound() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.analytics.url = format!("sqlite://{}", s.dir.path().join("no-such.db").display());
    let report = doctor::run(&c, &[]).await;
    assert_fails_alone(
        &report,
        CheckId::AnalyticsDatabase,
        "cannot connect to sqlite://",
    );
    assert!(
        !s.dir.path().join("no-such.db").exists(),
        "doctor must not create it"
    );

    // A server that is not there, with a password that must not be shown.
    let port = free_port();
    let mut c = s.config.clone();
    c.database.url = format!("mysql://game:hunter2secret@127.0.0.1:{port}/game");
    let started = std::time::Instant::now();
    let report = doctor::run(&c, &[]).await;
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_fails_alone(
        &report,
        CheckId::AccountsDatabase,
        "cannot connect to mysql://game:***@",
    );
    assert!(!report.to_text().contains("hunter2secret"));
    s.app.stop().await;
}

#[tokio::test]
async fn a_game_server_down_or_refusing_auth_fails() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    // A strong token, but not the one the game server knows.
    let wrong = gamegate::shared::keys::api_key();
    c.game_server.auth_token = wrong.clone().into();
    let report = doctor::run(&c, &[]).await;
    assert_fails_alone(&report, CheckId::GameServer, "refused the auth");
    assert!(!report.to_text().contains(&wrong));

    let port = free_port();
    let mut c = s.config.clone();
    c.game_server.addr = format!("127.0.0.1:{port}");
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::GameServer,
        "is unreachable",
    );
    s.app.stop().await;
}

#[tokio::test]
async fn a_refused_or_silent_telegram_bot_fails_without_the_token() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.telegram.bot_token = "7000002:AAH-another-bot-token-unknown".into();
    let report = doctor::run(&c, &[]).await;
    assert_fails_alone(
        &report,
        CheckId::Telegram,
        "refused the token: 401 Unauthorized",
    );
    assert!(!report.to_text().contains("AAH-another"));

    s.bot.set_mode(Mode::Hang).await;
    let started = std::time::Instant::now();
    let report = doctor::run(&s.config, &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "call_timeout_ms bounds it"
    );
    assert_fails_alone(&report, CheckId::Telegram, "timed out");
    assert!(!report.to_text().contains(BOT_TOKEN));
    s.bot.set_mode(Mode::Normal).await;

    // No bot configured: the gate is off, nothing to check.
    let mut c = s.config.clone();
    c.telegram.bot_token = SecretString::default();
    c.telegram.chat_id = String::new();
    let report = doctor::run(&c, &[]).await;
    assert_eq!(
        report.get(CheckId::Telegram).outcome,
        Outcome::NotApplicable
    );
    s.app.stop().await;
}

#[tokio::test]
async fn backups_not_configured_missing_or_stale_fail() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.backup.dir = String::new();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::Backup,
        "backup.dir is not set",
    );

    c.backup.dir = s.dir.path().join("nowhere").display().to_string();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::Backup,
        "does not exist",
    );

    let empty = s.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    c.backup.dir = empty.display().to_string();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::Backup,
        "no gamegate-accounts-* backup",
    );

    // The backups of the good setup, made 30 hours old.
    let dir = PathBuf::from(&s.config.backup.dir);
    let old = SystemTime::now() - Duration::from_secs(30 * 3600);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let f = std::fs::File::options()
            .write(true)
            .open(entry.unwrap().path())
            .unwrap();
        f.set_modified(old).unwrap();
    }
    assert_fails_alone(
        &doctor::run(&s.config, &[]).await,
        CheckId::Backup,
        "is 30 h old (backup.max_age_hours = 26)",
    );
    s.app.stop().await;
}

#[tokio::test]
async fn an_access_log_that_is_off_or_has_no_directory_fails() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.log.access_log = "off".into();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::Logging,
        "requests are not recorded",
    );
    c.log.access_log = s
        .dir
        .path()
        .join("no/such/dir/access.log")
        .display()
        .to_string();
    assert_fails_alone(
        &doctor::run(&c, &[]).await,
        CheckId::Logging,
        "does not exist",
    );
    s.app.stop().await;
}

#[tokio::test]
async fn json_output_carries_every_check_with_outcome_reason_and_fix() {
    let s = sqlite_setup().await;
    let mut c = s.config.clone();
    c.edge.cors_allowed_origins = vec!["*".into()];
    let json = doctor::run(&c, &[CheckId::Certificate]).await.to_json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["not_applicable"], 1);
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), CheckId::ALL.len());
    let cors = checks.iter().find(|c| c["id"] == "cors").unwrap();
    assert_eq!(cors["outcome"], "fail");
    assert!(cors["fix"].as_str().unwrap().contains("https://"));
    let cert = checks.iter().find(|c| c["id"] == "certificate").unwrap();
    assert_eq!(cert["outcome"], "not_applicable");
    s.app.stop().await;
}

/// The real binary: what an operator and a timer run.
fn gamegate(config: &Config, dir: &Path, args: &[&str]) -> std::process::Output {
    let path = dir.join("gamegate.toml");
    std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
    binary::with_config(&path, args)
        .output()
        .expect("runs gamegate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_0_when_all_pass_and_1_when_one_fails() {
    let s = sqlite_setup().await;
    let out = gamegate(&s.config, s.dir.path(), &["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("17 passed, 0 failed"), "{stdout}");

    let mut bad = s.config.clone();
    bad.edge.register_per_minute = 0;
    let out = gamegate(&bad, s.dir.path(), &["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["failed"], 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 check(s) failed: rate_limits"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `gamegate backup` through the binary: a copy while the app runs …
    let mut c = s.config.clone();
    c.backup.dir = s.dir.path().join("from-binary").display().to_string();
    let out = gamegate(&c, s.dir.path(), &["backup"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("mode 0600"));
    let dir = Path::new(&c.backup.dir);
    assert_eq!(
        gamegate::commands::backup::backups(dir, "gamegate-accounts-")
            .unwrap()
            .len(),
        1
    );
    // … and a refusal, with the recipe, for a server database.
    c.database.url = "postgres://game:hunter2secret@db.internal/game".into();
    let out = gamegate(&c, s.dir.path(), &["backup"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pg_dump -Fc") && !stdout.contains("hunter2secret"),
        "{stdout}"
    );
    s.app.stop().await;
}

/// The production example of docs/CONFIGURATION.md, read from the file:
/// with its secrets and the hosts of this machine filled in (every
/// `CHANGE_ME` is a secret this test replaces; nothing else is touched but
/// the addresses and paths that name production hosts), `gamegate doctor`
/// passes every check. A documented production setting that doctor would
/// refuse fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_production_config_passes_every_check() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/CONFIGURATION.md"
    ))
    .unwrap();
    let section = docs
        .split("## Example: production")
        .nth(1)
        .expect("the production example");
    let toml_text = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("its TOML block");
    let secrets = toml_text.matches("CHANGE_ME").count();
    let (mut config, unknown) = Config::from_toml_str(toml_text, Vec::new()).expect("it parses");
    assert!(unknown.is_empty());

    // This machine's stand-ins for the production hosts.
    let token = gamegate::shared::keys::api_key();
    let bot = FakeBotApi::start(&[]).await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        gate_on(c, &bot);
        c.game_server.auth_token = token.clone().into();
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let domain = config.nginx.server_name.clone();
    let (cert, key) = certificate(dir.path(), "prod", &[&domain], -1, 90);
    let mut replaced = 0;
    let mut fill = |value: &mut String, with: String| {
        assert!(value.contains("CHANGE_ME"), "{value:?} is no placeholder");
        *value = with;
        replaced += 1;
    };
    fill(&mut config.database.url, app.config.database.url.clone());
    fill(&mut config.analytics.url, app.config.analytics.url.clone());
    let mut fill_secret = |value: &mut SecretString, with: String| {
        let mut text = value.expose_secret().to_owned();
        fill(&mut text, with);
        *value = text.into();
    };
    fill_secret(&mut config.game_server.auth_token, token.clone());
    fill_secret(
        &mut config.edge.api_keys[0],
        gamegate::shared::keys::api_key(),
    );
    fill_secret(&mut config.telegram.bot_token, BOT_TOKEN.into());
    fill_secret(
        &mut config.admin.tokens[0],
        gamegate::shared::keys::api_key(),
    );
    assert_eq!(
        replaced, secrets,
        "every CHANGE_ME is a secret filled in here"
    );
    config.game_server.addr = app.mock.local_addr().to_string();
    config.telegram.api_base = bot.base();
    config.telegram.chat_id = app.config.telegram.chat_id.clone();
    config.nginx.tls_certificate = cert.display().to_string();
    config.nginx.tls_certificate_key = key.display().to_string();
    config.log.access_log = dir.path().join("access.log").display().to_string();
    config.backup.dir = dir.path().join("backups").display().to_string();
    gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: None,
            analytics_out: None,
        },
    )
    .await
    .expect("backup runs");

    let report = doctor::run(&config, &[]).await;
    let text = report.to_text();
    for check in &report.checks {
        assert_eq!(check.outcome, Outcome::Pass, "{text}");
    }
    for secret in [
        token.as_str(),
        config.edge.api_keys[0].expose_secret(),
        config.admin.tokens[0].expose_secret(),
    ] {
        assert!(!text.contains(secret));
    }
    app.stop().await;
}
