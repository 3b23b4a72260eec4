//! AzerothCore and TrinityCore through the whole application: `POST
//! /api/register` with `game_server.kind = "azerothcore-db"` (and the other
//! three kinds) against the cores' `account` table on the CI MariaDB, or a
//! fake worldserver for SOAP. gamegate's own database is SQLite: the
//! connector is what is under test.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use gamegate::Config;
use gamegate::config::ConnectorKind;
use gamegate_wowcore::{AuthDb, Core, FakeConfig, FakeWorldserver, schema};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

use crate::support::Backend;
use crate::support::{
    Started, TEST_API_KEY, assert_error, quick_timeouts, server_url, sqlite_in, start, test_config,
};

/// A fresh `gg_test_…` database with the core's `account` table.
pub struct AuthDbScratch {
    pub url: String,
    pub pool: MySqlPool,
}

impl AuthDbScratch {
    /// `None` (with the suite's notice) when no MariaDB is configured here;
    /// fails under `CI`.
    pub async fn create(core: Core) -> Option<Self> {
        let server = server_url(Backend::Mysql)?;
        let name = format!("gg_test_wow_{:012x}", rand::random::<u64>() >> 16);
        let admin = MySqlPoolOptions::new()
            .max_connections(1)
            .connect(&server)
            .await
            .expect("the test MariaDB answers");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql(schema::account_ddl(core))
            .execute(&pool)
            .await
            .unwrap();
        Some(Self { url, pool })
    }

    /// Every username in `account`, as stored.
    pub async fn usernames(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT username FROM account ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    /// A connector-side handle on the same database.
    pub fn auth_db(&self, url: &str) -> AuthDb {
        AuthDb::connect_lazy(&gamegate_wowcore::AuthDbSettings {
            url: url.to_owned().into(),
            pool_size: 4,
            acquire_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(3),
            expansion: 2,
        })
        .unwrap()
    }
}

/// The suite's configuration on SQLite in `dir` with the connector `kind`.
pub fn wow_config(dir: &std::path::Path, kind: ConnectorKind) -> Config {
    let mut c = test_config();
    sqlite_in(&mut c, dir);
    quick_timeouts(&mut c);
    c.game_server.kind = kind;
    c.game_server.embedded_mock = false;
    c.game_server.auth_db.call_timeout_ms = 400;
    c.game_server.auth_db.acquire_timeout_ms = 300;
    c.game_server.soap.call_timeout_ms = 400;
    c.game_server.soap.connect_timeout_ms = 300;
    c
}

/// `POST /api/register` with the suite's API key.
pub async fn register(http: &reqwest::Client, app: &Started, body: Value) -> (StatusCode, Value) {
    let response = http
        .post(format!("http://{}/api/register", app.public()))
        .header("x-api-key", TEST_API_KEY)
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// Lower-cased logins of gamegate's accounts.
pub async fn gamegate_logins(app: &Started) -> BTreeSet<String> {
    let logins = app.db.accounts().logins().await.unwrap();
    logins.into_iter().map(|l| l.to_ascii_lowercase()).collect()
}

/// tests/srp6_reference.py of the wowcore crate: an SRP6 handshake as the
/// client does it, against the stored salt and verifier.
fn handshake(user: &str, password: &str, salt: &[u8], verifier: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wowcore/tests/srp6_reference.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let case = json!([{"op": "handshake", "user": user, "password": password, "salt": hex(salt), "verifier": hex(verifier)}]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let answers: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    answers[0].clone()
}

fn db_kind(core: Core) -> ConnectorKind {
    match core {
        Core::AzerothCore => ConnectorKind::AzerothcoreDb,
        Core::TrinityCore => ConnectorKind::TrinitycoreDb,
    }
}

fn soap_kind(core: Core) -> ConnectorKind {
    match core {
        Core::AzerothCore => ConnectorKind::AzerothcoreSoap,
        Core::TrinityCore => ConnectorKind::TrinitycoreSoap,
    }
}

async fn registration_creates_a_row_a_client_can_log_in_with(core: Core) {
    let Some(auth) = AuthDbScratch::create(core).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = wow_config(dir.path(), db_kind(core));
    config.game_server.auth_db.url = auth.url.clone().into();
    let app = start(config).await;
    assert!(app.banner.contains(db_kind(core).name()), "{}", app.banner);
    assert!(app.banner.contains("case: ascii"), "{}", app.banner);
    let http = reqwest::Client::new();
    let (status, body) = register(
        &http,
        &app,
        json!({"login": "Thrall", "password": "For-the-h0rde", "gender": 0, "telegram_id": 7}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (salt, verifier): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT salt, verifier FROM account WHERE username = 'THRALL'")
            .fetch_one(&auth.pool)
            .await
            .unwrap();
    assert_eq!(handshake("thrall", "for-the-h0rde", &salt, &verifier), "ok");
    assert_eq!(
        handshake("THRALL", "For-the-h0rdf", &salt, &verifier),
        "refused"
    );
    let row = app.db.accounts().find("Thrall").await.unwrap().unwrap();
    let (id,): (u32,) = sqlx::query_as("SELECT id FROM account WHERE username = 'THRALL'")
        .fetch_one(&auth.pool)
        .await
        .unwrap();
    assert_eq!(
        row.game_account_id,
        Some(i64::from(id)),
        "the core's account id"
    );
    app.stop().await;
}

async fn a_login_only_in_the_auth_database_is_409_and_nothing_in_gamegate(core: Core) {
    let Some(auth) = AuthDbScratch::create(core).await else {
        return;
    };
    // An account created in the game (by `account create` or another site).
    sqlx::query("INSERT INTO account (username, salt, verifier) VALUES ('ARTHAS', ?, ?)")
        .bind(vec![9u8; 32])
        .bind(vec![8u8; 32])
        .execute(&auth.pool)
        .await
        .unwrap();
    for kind in [db_kind(core), soap_kind(core)] {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeWorldserver::start(FakeConfig {
            core,
            user: "gamegate".into(),
            password: "soap-pw-1".into(),
            low_level_user: None,
            auth_db: Some(auth.auth_db(&auth.url)),
        })
        .await
        .unwrap();
        let mut config = wow_config(dir.path(), kind);
        config.game_server.auth_db.url = auth.url.clone().into();
        config.game_server.soap.url = fake.url();
        config.game_server.soap.user = "gamegate".into();
        config.game_server.soap.password = "soap-pw-1".to_owned().into();
        let app = start(config).await;
        let http = reqwest::Client::new();
        let (status, body) = register(
            &http,
            &app,
            json!({"login": "arthas", "password": "secret12", "gender": 1, "telegram_id": 8}),
        )
        .await;
        assert_error(status, &body, 409, "login_taken");
        assert!(
            gamegate_logins(&app).await.is_empty(),
            "{kind:?}: nothing in gamegate"
        );
        assert_eq!(
            auth.usernames().await,
            ["ARTHAS"],
            "{kind:?}: the game's row untouched"
        );
        app.stop().await;
    }
}

async fn a_password_the_client_cannot_send_is_422_for_both_connectors(core: Core) {
    let dir = tempfile::tempdir().unwrap();
    for kind in [db_kind(core), soap_kind(core)] {
        let mut config = wow_config(dir.path(), kind);
        // Validation answers before any connection: nothing needs to listen.
        config.game_server.auth_db.url = "mysql://gamegate:pw@127.0.0.1:1/acore_auth"
            .to_owned()
            .into();
        config.game_server.soap.url = "http://127.0.0.1:1/".into();
        config.game_server.soap.user = "gamegate".into();
        config.game_server.soap.password = "soap-pw-1".to_owned().into();
        let app = start(config).await;
        let http = reqwest::Client::new();
        let seventeen = "a".repeat(17);
        let cases = [
            ("Jaina", seventeen.as_str(), "password", "too_long"),
            ("Sylvanas", "pass word1", "password", "charset"),
            ("Anduin", "пароль-12", "password", "charset"),
        ];
        for (i, (login, password, field, code)) in cases.into_iter().enumerate() {
            let (status, body) = register(
                &http,
                &app,
                json!({"login": login, "password": password, "gender": 0, "telegram_id": 20 + i}),
            )
            .await;
            assert_error(status, &body, 422, "validation_error");
            assert_eq!(
                body["errors"][0]["field"], field,
                "{kind:?} {login}: {body}"
            );
            assert_eq!(body["errors"][0]["code"], code, "{kind:?} {login}: {body}");
        }
        if kind == soap_kind(core) {
            // Quotes cannot travel in `account create USER PASS`.
            let (status, body) = register(
                &http,
                &app,
                json!({"login": "Varian", "password": "it's-mine1", "gender": 0, "telegram_id": 30}),
            )
            .await;
            assert_error(status, &body, 422, "validation_error");
            assert_eq!(body["errors"][0]["code"], "charset", "{body}");
        }
        assert!(gamegate_logins(&app).await.is_empty());
        app.stop().await;
    }
}

async fn fifty_parallel_registrations_of_one_login_make_one_row(core: Core) {
    let Some(auth) = AuthDbScratch::create(core).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = wow_config(dir.path(), db_kind(core));
    config.game_server.auth_db.url = auth.url.clone().into();
    config.game_server.auth_db.call_timeout_ms = 3_000;
    config.reconciler.grace_ms = 5_000;
    let app = start(config).await;
    let http = reqwest::Client::new();
    let answers = futures_util::future::join_all((0..50).map(|i| {
        let login: String = "illidan"
            .chars()
            .enumerate()
            .map(|(j, c)| if (i >> (j % 6)) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect();
        let (http, app) = (&http, &app);
        async move {
            register(
                http,
                app,
                json!({"login": login, "password": "secret12", "gender": 0, "telegram_id": 100 + i}),
            )
            .await
        }
    }))
    .await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let taken = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["detail"] == "login_taken")
        .count();
    assert_eq!((ok, taken), (1, 49), "{answers:?}");
    assert_eq!(auth.usernames().await, ["ILLIDAN"], "exactly one row");
    assert_eq!(gamegate_logins(&app).await.len(), 1);
    app.stop().await;
}

/// `gamegate gameserver check --json` (the conformance kit, the real binary)
/// against the auth-database connector and against the SOAP connector with
/// the fake worldserver: every applicable check passes.
async fn the_conformance_kit_passes(core: Core) {
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
    for kind in [db_kind(core), soap_kind(core)] {
        let mut cmd = crate::support::binary::command();
        cmd.args(["gameserver", "check", "--json"])
            .env("GAMEGATE_GAME_SERVER__KIND", kind.name())
            .env("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false")
            .env("GAMEGATE_GAME_SERVER__AUTH_DB__URL", &auth.url)
            .env("GAMEGATE_GAME_SERVER__SOAP__URL", fake.url())
            .env("GAMEGATE_GAME_SERVER__SOAP__USER", "gamegate")
            .env("GAMEGATE_GAME_SERVER__SOAP__PASSWORD", "soap-pw-1")
            .env("GAMEGATE_LOG__LEVEL", "warn");
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("the kit bounds its own run")
            .expect("the kit runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{kind:?}: --json prints JSON ({e}): {text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let failed: Vec<&Value> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == "fail")
            .collect();
        assert!(
            output.status.success() && failed.is_empty(),
            "{kind:?}: {failed:#?}"
        );
        let passed = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == "pass")
            .count();
        assert!(passed >= 8, "{kind:?}: the operation checks ran: {report}");
    }
    assert!(
        auth.usernames().await.is_empty(),
        "the kit cleans up after itself"
    );
}

macro_rules! on_both_cores {
    ($($name:ident),* $(,)?) => {
        mod azerothcore {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(gamegate_wowcore::Core::AzerothCore).await } )*
        }
        mod trinitycore {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(gamegate_wowcore::Core::TrinityCore).await } )*
        }
    };
}
pub(crate) use on_both_cores;

on_both_cores!(
    registration_creates_a_row_a_client_can_log_in_with,
    a_login_only_in_the_auth_database_is_409_and_nothing_in_gamegate,
    a_password_the_client_cannot_send_is_422_for_both_connectors,
    fifty_parallel_registrations_of_one_login_make_one_row,
    the_conformance_kit_passes,
);
